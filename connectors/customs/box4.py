"""Box 4 rejection reasons as data: our code list, each with a suggested fix, and the mapping of
each country's own codes to it (``data/box4_reasons.json``).

Box 4 is the importing customs' "For Official Use" box (Form E Rule 8): a "preferential treatment
not given" marking states its reasons. Countries word and number them differently; the list here
names the usual causes once, so an alert can say what to do. Partner codes are placeholders until
each partner publishes its own (DOMAIN.md section 7).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

CODE_LIST = Path(__file__).with_name("data") / "box4_reasons.json"
OTHER = "OTHER"
ANY_COUNTRY = "*"


@dataclass(frozen=True)
class Box4Code:
    """One reason of our code list and what the issuing side can do about it."""

    code: str
    text: str
    fix: str


@dataclass(frozen=True)
class Box4CodeList:
    """Our reasons, and per country (``*`` for all) its codes mapped to ours."""

    reasons: Mapping[str, Box4Code]
    countries: Mapping[str, Mapping[str, str]]

    def classify(self, country: str, code: str) -> Box4Code:
        """Our reason for ``country``'s Box 4 ``code`` (case-insensitive); OTHER if unknown."""
        key = code.strip().upper()
        if key in self.reasons:
            return self.reasons[key]
        ours = self.countries.get(country.upper(), {}).get(key) or self.countries.get(
            ANY_COUNTRY, {}
        ).get(key)
        return self.reasons[ours or OTHER]

    def suggested_action(self, country: str, codes: Iterable[str]) -> str:
        """The fixes for the given codes, each once, in order; the generic one when none."""
        fixes: list[str] = []
        for code in codes:
            reason = self.classify(country, code)
            line = f"{reason.code}: {reason.fix}"
            if line not in fixes:
                fixes.append(line)
        return " ".join(fixes) or self.reasons[OTHER].fix


def parse_code_list(data: Any) -> Box4CodeList:
    """A code list from its decoded JSON; ValueError names the first fault."""
    if not isinstance(data, Mapping) or not isinstance(data.get("reasons"), Mapping):
        raise ValueError("a Box 4 code list is an object with 'reasons' and 'countries'")
    reasons = {
        str(code).upper(): Box4Code(str(code).upper(), str(entry["text"]), str(entry["fix"]))
        for code, entry in data["reasons"].items()
    }
    if OTHER not in reasons:
        raise ValueError(f"the Box 4 code list needs an {OTHER} reason")
    countries: dict[str, Mapping[str, str]] = {}
    for country, codes in dict(data.get("countries", {})).items():
        mapped = {str(k).upper(): str(v).upper() for k, v in dict(codes).items()}
        unknown = sorted(set(mapped.values()) - set(reasons))
        if unknown:
            raise ValueError(f"countries.{country}: {', '.join(unknown)} not in the reasons")
        countries[str(country).upper()] = MappingProxyType(mapped)
    return Box4CodeList(MappingProxyType(reasons), MappingProxyType(countries))


@cache
def box4_code_list(path: Path = CODE_LIST) -> Box4CodeList:
    """The code list shipped with the connectors (read once)."""
    return parse_code_list(json.loads(path.read_text(encoding="utf-8")))
