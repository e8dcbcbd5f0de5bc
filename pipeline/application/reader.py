"""Reading typed fields out of a decoded JSON object while collecting every problem.

A ``FieldReader`` never raises on bad data: it records a ``Problem`` with the
JSON path (``items[0].materials[2].value``) and returns None, so the parser can
report all problems of a document at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pipeline.application.agreement import known_hs_chapter
from pipeline.errors import Problem

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_COUNTRY = re.compile(r"[A-Za-z]{2}")


def child(path: str, key: str | int) -> str:
    """The JSON path of ``key`` (a member name or an array index) under ``path``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class FieldReader:
    """Collects problems while reading typed values from decoded JSON."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        """Record one problem at ``path``."""
        self.problems.append(Problem(path, message))

    def _get(self, parent: Mapping[str, Any], key: str, path: str, required: bool) -> Any:
        value = parent.get(key)
        if value is None and required:
            self.problem(path, "is required")
        return value

    def obj(
        self, parent: Mapping[str, Any], key: str, path: str, required: bool = False
    ) -> Mapping[str, Any] | None:
        """A JSON object member, or None when absent or not an object."""
        value = self._get(parent, key, path, required)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.problem(path, f"must be an object, not {type_name(value)}")
            return None
        return value

    def array(
        self, parent: Mapping[str, Any], key: str, path: str, required: bool = False
    ) -> Sequence[Any] | None:
        """A JSON array member, or None when absent or not an array."""
        value = self._get(parent, key, path, required)
        if value is None:
            return None
        if not isinstance(value, list | tuple):
            self.problem(path, f"must be an array, not {type_name(value)}")
            return None
        return value

    def text(
        self, parent: Mapping[str, Any], key: str, path: str, required: bool = False
    ) -> str | None:
        """A string member; an empty or blank string counts as absent."""
        value = self._get(parent, key, path, required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(path, f"must be a string, not {type_name(value)}")
            return None
        stripped = value.strip()
        if not stripped and required:
            self.problem(path, "is required")
        return stripped or None

    def boolean(self, parent: Mapping[str, Any], key: str, path: str) -> bool | None:
        """A true/false member."""
        value = parent.get(key)
        if value is None or isinstance(value, bool):
            return value
        self.problem(path, f"must be true or false, not {type_name(value)}")
        return None

    def integer(
        self, parent: Mapping[str, Any], key: str, path: str, required: bool = False
    ) -> int | None:
        """A whole number member, zero or more."""
        value = self._get(parent, key, path, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(path, f"must be a whole number, not {type_name(value)}")
            return None
        if value < 0:
            self.problem(path, f"must not be negative (got {value})")
            return None
        return value

    def decimal(
        self, parent: Mapping[str, Any], key: str, path: str, required: bool = False
    ) -> Decimal | None:
        """A non-negative decimal written as a string such as ``"24000.00"`` (or a number)."""
        value = self._get(parent, key, path, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            message = f'must be a decimal string such as "12.50", not {type_name(value)}'
            self.problem(path, message)
            return None
        try:
            # str() of a float gives the shortest text that reads back the same: what was written.
            number = Decimal(value.strip() if isinstance(value, str) else str(value))
        except InvalidOperation:
            self.problem(path, f"is not a number: {value!r}")
            return None
        if not number.is_finite():
            self.problem(path, f"is not a finite number: {value!r}")
            return None
        if number < 0:
            self.problem(path, f"must not be negative (got {value})")
            return None
        return number

    def date(
        self, parent: Mapping[str, Any], key: str, path: str, required: bool = False
    ) -> date | None:
        """A calendar date written ``YYYY-MM-DD``."""
        value = self._get(parent, key, path, required)
        if value is None:
            return None
        if not isinstance(value, str) or not _DATE.fullmatch(value.strip()):
            self.problem(path, f"must be a date written YYYY-MM-DD, not {value!r}")
            return None
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            self.problem(path, f"is not a calendar date: {value!r}")
            return None

    def country(
        self, parent: Mapping[str, Any], key: str, path: str, required: bool = False
    ) -> str | None:
        """An ISO 3166 alpha-2 country code, returned in upper case."""
        value = self.text(parent, key, path, required)
        if value is None:
            return None
        if not _COUNTRY.fullmatch(value):
            self.problem(path, f"must be a two-letter ISO 3166 country code, not {value!r}")
            return None
        return value.upper()

    def hs_code(
        self,
        parent: Mapping[str, Any],
        path: str,
        lengths: tuple[int, ...],
        required: bool,
    ) -> str | None:
        """An ``hs_code`` member of one of ``lengths`` digits in a known HS chapter."""
        code = self.text(parent, "hs_code", path, required)
        if code is None:
            return None
        digits = " or ".join(str(n) for n in lengths)
        if not code.isdigit() or len(code) not in lengths:
            self.problem(path, f"must be {digits} digits, not {code!r}")
            return None
        if not known_hs_chapter(code):
            self.problem(path, f"{code} is not in a known HS chapter (01-97, except 77)")
            return None
        return code


def type_name(value: Any) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
