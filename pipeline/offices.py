"""Issuing offices (Form E Rule 2 and 8(c)): who signs, and the registration number that
prefixes each office's reference numbers.

The built-in table covers the development offices used by the demo and the tests; a
deployment names its own offices in a JSON file (``ECO_OFFICES_FILE``): a list of
objects with the fields of :class:`Office`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InvalidInput, Problem


@dataclass(frozen=True)
class Office:
    """An issuing office of the exporting Party and its 9-digit registration number."""

    code: str
    name: str
    address: str
    country: str
    registration: str


BUILT_IN: tuple[Office, ...] = (
    Office("CN-SZX", "Shenzhen Customs District, Origin Office", "1011 Fuqiang Road, Shenzhen",
           "CN", "440300001"),
    Office("CN-NGB", "Ningbo Customs District, Origin Office", "9 Mayuan Road, Ningbo",
           "CN", "330200001"),
    Office("CN-SHA", "Shanghai Customs District, Origin Office", "13 Zhongshan East Road, Shanghai",
           "CN", "310000001"),
    Office("CN-XMN", "Xiamen Customs District, Origin Office", "8 Haian Road, Xiamen",
           "CN", "350200001"),
    Office("CN-TSN", "Tianjin Customs District, Origin Office", "1 Jiefang North Road, Tianjin",
           "CN", "120000001"),
    Office("CN-GZH", "Guangzhou Customs District, Origin Office", "83 Huacheng Avenue, Guangzhou",
           "CN", "440100001"),
)


def load_offices(path: Path | None = None) -> Mapping[str, Office]:
    """The offices by code: the built-in table, or the JSON file at ``path`` when given."""
    if path is None:
        return {office.code: office for office in BUILT_IN}
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise ValueError("expected a JSON list of office objects")
        offices = [Office(**{k: str(v) for k, v in row.items()}) for row in rows]
    except (OSError, ValueError, TypeError) as exc:
        raise InvalidInput([Problem("", f"cannot read issuing offices: {exc}")], str(path)) from exc
    for index, office in enumerate(offices):
        registration = office.registration
        if len(registration) != 9 or not (registration.isascii() and registration.isdigit()):
            raise InvalidInput(
                [Problem(f"[{index}].registration", "must be 9 digits")], str(path)
            )
    return {office.code: office for office in offices}
