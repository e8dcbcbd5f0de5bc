"""Reading JSON from outside (application files, request bodies, configuration) within bounds:
its size, its nesting depth, no duplicate keys, no NaN or Infinity, and, where the contract
says money and quantities are decimal strings, never a binary float: a JSON number with a
fraction or an exponent is kept as its exact decimal text (``1900.5`` reads as ``"1900.5"``),
or refused (a float would round ``0.1 + 0.2``). Every refusal is an InvalidInput that says
what and where; a document nested so deep that the parser would recurse without end is one of
them, never a RecursionError.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.errors import InvalidInput, Problem

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 32


@dataclass(frozen=True)
class JsonLimits:
    """The bounds of one kind of document."""

    max_bytes: int = MAX_BYTES
    max_depth: int = MAX_DEPTH
    # A number with a fraction or an exponent: "float" (no money in it), "text" (its exact
    # decimal text, a string), or "refuse" (InvalidInput with its path).
    fractions: Literal["float", "text", "refuse"] = "float"


APPLICATION_JSON = JsonLimits(fractions="text")
"""An application document: money, quantities and weights are decimal strings."""
RESPONSE_JSON = JsonLimits(max_bytes=256 * 1024)
"""A customs response or a clarification: small, no money in it."""


class _Fraction(str):
    """A JSON number with a fraction or an exponent, kept as its text until refused."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def read_json_bytes(data: bytes | str, limits: JsonLimits = JsonLimits(), *,
                    source: str = "") -> Any:
    """The JSON value of ``data`` within ``limits``; InvalidInput naming the problem."""
    size = len(data)
    if size > limits.max_bytes:
        raise InvalidInput([Problem("", f"{size} bytes, more than the {limits.max_bytes} "
                                        "a document may have")], source)
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise InvalidInput([Problem("", f"not UTF-8 text (byte {exc.start}): JSON documents "
                                        "are UTF-8")], source) from exc
    try:
        value = json.loads(text, object_pairs_hook=_object, parse_constant=_no_constant,
                           parse_float=_Fraction)
    except json.JSONDecodeError as exc:
        raise InvalidInput([Problem("", f"malformed JSON at line {exc.lineno}, column "
                                        f"{exc.colno}: {exc.msg}")], source) from exc
    except RecursionError:
        raise InvalidInput([Problem("", f"nested deeper than the {limits.max_depth} levels "
                                        "a document may have")], source) from None
    except ValueError as exc:
        raise InvalidInput([Problem("", str(exc))], source) from exc
    return _checked(value, limits, source)


def _checked(value: Any, limits: JsonLimits, source: str) -> Any:
    """Depth and numbers checked without recursion, fractions as ``limits`` says."""
    problems: list[Problem] = []
    root: list[Any] = [value]
    stack: list[tuple[Any, Any, str, int]] = [(root, 0, "", 1)]
    while stack:
        parent, key, path, depth = stack.pop()
        item = parent[key]
        if isinstance(item, _Fraction):
            if limits.fractions == "float":
                parent[key] = float(item)
            elif limits.fractions == "text":
                parent[key] = str(item)
            else:
                problems.append(Problem(path, f"{item} is a JSON number; money, quantities and "
                                              f'weights are decimal strings ("{item}")'))
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > limits.max_depth:
            raise InvalidInput([Problem(path, f"nested deeper than the {limits.max_depth} "
                                              "levels a document may have")], source)
        children = item.items() if isinstance(item, dict) else enumerate(item)
        for child_key, _ in children:
            child_path = (f"{path}[{child_key}]" if isinstance(item, list)
                          else f"{path}.{child_key}" if path else str(child_key))
            stack.append((item, child_key, child_path, depth + 1))
    if problems:
        raise InvalidInput(sorted(problems, key=lambda p: p.path), source)
    return root[0]
