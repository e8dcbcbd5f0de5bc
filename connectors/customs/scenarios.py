"""How the sandbox customs behaves, per application: scenarios and the decisions they lead to.

A scenario file is JSON::

    {"default": "given",
     "applications": {"demo-02-kettle-th*": "box4", "ACME-*": "silent", "slow-?": "verification"}}

Keys of ``applications`` are application ids or glob patterns (``*``, ``?``, ``[...]``); an exact
id wins over a pattern, and a longer pattern over a shorter one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal, cast, get_args

from connectors.customs.responses import Box4Reason, ResponseStatus
from pipeline.errors import InvalidInput, Problem

Scenario = Literal["given", "box4", "silent", "verification", "down"]
SCENARIOS: tuple[str, ...] = get_args(Scenario)
Stage = Literal["delivered", "clarified"]


@dataclass(frozen=True)
class Decision:
    """One response the sandbox sends back; ``delayed`` ones wait for the decision delay."""

    status: ResponseStatus
    delayed: bool = True
    box4_reasons: tuple[Box4Reason, ...] = ()
    message: str = ""


DEMO_BOX4_REASONS: tuple[Box4Reason, ...] = (
    Box4Reason(
        "RVC_NOT_SUBSTANTIATED",
        "Regional value content of 55.00 % not substantiated: cost statement for the heating "
        "elements missing",
        1,
    ),
)

_ACK = Decision("ACKNOWLEDGED", delayed=False, message="received, schema and signature valid")
_PLANS: Mapping[tuple[Scenario, Stage], tuple[Decision, ...]] = {
    ("given", "delivered"): (_ACK, Decision("PREFERENCE_GIVEN")),
    ("box4", "delivered"): (
        _ACK,
        Decision("PREFERENCE_NOT_GIVEN", box4_reasons=DEMO_BOX4_REASONS),
    ),
    ("box4", "clarified"): (Decision("PREFERENCE_GIVEN", message="clarification accepted"),),
    ("silent", "delivered"): (_ACK,),
    ("verification", "delivered"): (
        _ACK,
        Decision("VERIFICATION_REQUESTED", message="retroactive check: send production records"),
    ),
    ("verification", "clarified"): (Decision("PREFERENCE_GIVEN", message="verification closed"),),
}


def decisions(scenario: Scenario, stage: Stage) -> tuple[Decision, ...]:
    """What customs answer after a delivery or a clarification, in order (Form E Rule 8: after a
    Box 4 rejection the customs considers the issuing authority's clarification)."""
    return _PLANS.get((scenario, stage), ())


@dataclass(frozen=True)
class ScenarioBook:
    """Which scenario plays for which application."""

    default: Scenario = "given"
    applications: Mapping[str, Scenario] = field(default_factory=dict)

    def scenario_for(self, application_id: str) -> Scenario:
        """The exact id's scenario, else the longest matching pattern's, else the default."""
        exact = self.applications.get(application_id)
        if exact is not None:
            return exact
        matching = [p for p in self.applications if fnmatchcase(application_id, p)]
        if not matching:
            return self.default
        return self.applications[max(matching, key=len)]

    def overridden_by(self, other: ScenarioBook) -> ScenarioBook:
        """This book with ``other``'s default and entries taking precedence."""
        return ScenarioBook(other.default, {**self.applications, **other.applications})


DEMO_SCENARIOS = ScenarioBook(
    "given",
    {
        "demo-01-led-vn*": "given",
        "demo-02-kettle-th*": "box4",
        "demo-03-tshirt-my*": "silent",
        "demo-04-fish-vn*": "given",
    },
)


def parse_scenarios(data: Any, source: str = "scenario file") -> ScenarioBook:
    """A ScenarioBook from the decoded JSON of a scenario file; InvalidInput names each fault."""
    if not isinstance(data, Mapping):
        raise InvalidInput([Problem("", "must be a JSON object")], source)
    problems: list[Problem] = []
    unknown = sorted(set(data) - {"default", "applications"})
    problems.extend(Problem(k, "unknown key (expected default, applications)") for k in unknown)
    default = _scenario(data.get("default", "given"), "default", problems)
    entries = data.get("applications", {})
    applications: dict[str, Scenario] = {}
    if not isinstance(entries, Mapping):
        problems.append(Problem("applications", "must be an object {application id: scenario}"))
    else:
        for pattern, name in entries.items():
            scenario = _scenario(name, f"applications.{pattern}", problems)
            if scenario is not None:
                applications[str(pattern)] = scenario
    if problems or default is None:
        raise InvalidInput(problems, source)
    return ScenarioBook(default, applications)


def load_scenarios(path: Path) -> ScenarioBook:
    """Read a scenario file; InvalidInput (with the file name) if it is unreadable or wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput([Problem("", f"cannot read: {exc.strerror}")], str(path)) from exc
    except ValueError as exc:
        raise InvalidInput([Problem("", f"not JSON: {exc}")], str(path)) from exc
    return parse_scenarios(data, str(path))


def _scenario(value: Any, path: str, problems: list[Problem]) -> Scenario | None:
    if value not in SCENARIOS:
        problems.append(Problem(path, f"{value!r} is not one of {', '.join(SCENARIOS)}"))
        return None
    return cast(Scenario, value)
