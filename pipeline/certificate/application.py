"""Reads the fields of an application document (JSON v1) that a certificate prints, by path.

Each accessor either returns a value in the form the certificate needs or raises
InvalidApplication naming the path (``items[0].fob.amount``) and what is wrong with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pipeline.errors import InvalidApplication, Problem

_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")
_ABSENT = object()


class ApplicationReader:
    """Path access to one application document; it never changes the document."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        if not isinstance(document, Mapping):
            raise InvalidApplication([Problem("", "the application is not a JSON object")])
        self._document = document

    def _get(self, path: str) -> Any:
        node: Any = self._document
        for part in path.split("."):
            match = _STEP.fullmatch(part)
            if match is None:
                raise ValueError(f"bad application path {path!r}")
            if not isinstance(node, Mapping) or node.get(match[1]) is None:
                return _ABSENT
            node = node[match[1]]
            for index in re.findall(r"\[(\d+)\]", match[2]):
                if not isinstance(node, Sequence) or isinstance(node, str):
                    return _ABSENT
                if int(index) >= len(node):
                    return _ABSENT
                node = node[int(index)]
        return node

    def _fail(self, path: str, message: str) -> InvalidApplication:
        return InvalidApplication([Problem(path, message)])

    def has(self, path: str) -> bool:
        """True when the field is present, not null and, for a block or list, not empty."""
        value = self._get(path)
        if value is _ABSENT:
            return False
        return not (isinstance(value, Mapping | list) and len(value) == 0)

    def optional_text(self, path: str) -> str | None:
        value = self._get(path)
        if value is _ABSENT:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self._fail(path, "must be a non-empty string")
        return value

    def text(self, path: str) -> str:
        value = self.optional_text(path)
        if value is None:
            raise self._fail(path, "is required")
        return value

    def integer(self, path: str) -> int:
        value = self._get(path)
        if value is _ABSENT:
            raise self._fail(path, "is required")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self._fail(path, "must be a whole number of 1 or more")
        return value

    def count(self, path: str, *, required: bool = True) -> int:
        """Length of the list at ``path``; a required list must have at least one entry."""
        value = self._get(path)
        if value is _ABSENT and not required:
            return 0
        if not isinstance(value, list) or (required and not value):
            raise self._fail(path, "must be a list with at least one entry")
        return len(value)

    def optional_date(self, path: str) -> str | None:
        text = self.optional_text(path)
        if text is None:
            return None
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise self._fail(path, f"{text!r} is not a date YYYY-MM-DD") from None

    def date(self, path: str) -> str:
        value = self.optional_date(path)
        if value is None:
            raise self._fail(path, "is required")
        return value

    def optional_amount(self, path: str) -> str | None:
        """A non-negative decimal string, written without exponent."""
        value = self._get(path)
        if value is _ABSENT:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self._fail(path, "must be a decimal string such as \"1200.50\"")
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise self._fail(path, f"{value!r} is not a decimal number") from None
        if not amount.is_finite() or amount < 0:
            raise self._fail(path, f"{value!r} must be a finite amount of 0 or more")
        return format(amount, "f")

    def amount(self, path: str) -> str:
        value = self.optional_amount(path)
        if value is None:
            raise self._fail(path, "is required")
        return value

    def country(self, path: str) -> str:
        value = self.text(path)
        if not re.fullmatch(r"[A-Z]{2}", value):
            raise self._fail(path, f"{value!r} is not an ISO 3166 alpha-2 country code")
        return value

    def hs_subheading(self, path: str) -> str:
        """The 6-digit HS subheading printed on the certificate (Form E since 2019, RCEP Box 9)."""
        value = self.text(path).replace(".", "")
        if not re.fullmatch(r"[0-9]{6,10}", value):
            raise self._fail(path, f"{value!r} is not an HS code of 6 to 10 digits")
        return value[:6]
