"""Scenario selection and the decisions each scenario plays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.customs.scenarios import (
    DEMO_SCENARIOS,
    ScenarioBook,
    decisions,
    load_scenarios,
    parse_scenarios,
)
from pipeline.errors import InvalidInput


def test_demo_scenarios_reproduce_the_sample_journeys() -> None:
    assert DEMO_SCENARIOS.scenario_for("demo-01-led-vn") == "given"
    assert DEMO_SCENARIOS.scenario_for("demo-02-kettle-th") == "box4"
    assert DEMO_SCENARIOS.scenario_for("demo-03-tshirt-my") == "silent"
    assert DEMO_SCENARIOS.scenario_for("demo-04-fish-vn") == "given"
    assert DEMO_SCENARIOS.scenario_for("someone-else") == "given"


def test_exact_id_then_longest_pattern_then_default() -> None:
    book = ScenarioBook("silent", {"ACME-*": "box4", "ACME-7*": "down", "ACME-77": "verification"})
    assert book.scenario_for("ACME-77") == "verification"
    assert book.scenario_for("ACME-701") == "down"
    assert book.scenario_for("ACME-1") == "box4"
    assert book.scenario_for("acme-1") == "silent"


def test_a_file_overrides_the_demo_set() -> None:
    book = DEMO_SCENARIOS.overridden_by(
        parse_scenarios({"default": "verification", "applications": {"demo-01-*": "down"}})
    )
    assert book.scenario_for("demo-01-led-vn") == "given"  # exact id beats a pattern
    assert book.scenario_for("demo-01-other") == "down"
    assert book.scenario_for("x") == "verification"


def test_scenario_file_faults_are_named(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.json"
    path.write_text(json.dumps({"default": "maybe", "applications": {"a": "b"}, "x": 1}))
    with pytest.raises(InvalidInput) as caught:
        load_scenarios(path)
    assert [p.path for p in caught.value.problems] == ["x", "default", "applications.a"]
    assert str(path) in str(caught.value)


def test_unreadable_scenario_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        load_scenarios(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InvalidInput):
        load_scenarios(tmp_path / "bad.json")
    with pytest.raises(InvalidInput):
        parse_scenarios({"applications": ["given"]})


def test_a_good_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"applications": {"LATE-*": "silent"}}))
    book = load_scenarios(path)
    assert book == ScenarioBook("given", {"LATE-*": "silent"})


def test_decision_plans() -> None:
    statuses = {
        (scenario, stage): [d.status for d in decisions(scenario, stage)]
        for scenario in ("given", "box4", "silent", "verification", "down")
        for stage in ("delivered", "clarified")
    }
    assert statuses[("given", "delivered")] == ["ACKNOWLEDGED", "PREFERENCE_GIVEN"]
    assert statuses[("box4", "delivered")] == ["ACKNOWLEDGED", "PREFERENCE_NOT_GIVEN"]
    assert statuses[("box4", "clarified")] == ["PREFERENCE_GIVEN"]
    assert statuses[("silent", "delivered")] == ["ACKNOWLEDGED"]
    assert statuses[("verification", "delivered")] == ["ACKNOWLEDGED", "VERIFICATION_REQUESTED"]
    assert statuses[("down", "delivered")] == []
    assert statuses[("given", "clarified")] == []
    box4 = decisions("box4", "delivered")
    assert not box4[0].delayed and box4[1].delayed
    assert box4[1].box4_reasons and box4[1].box4_reasons[0].item_no == 1
