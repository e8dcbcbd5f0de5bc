"""Checking an event's data against its Avro schema before it is written, with paths.

fastavro's own checks stop at the first error and name fields by record name; producers
get more from every problem at once, named by a path such as ``items[0].rvc_percent``. The
check is also stricter where the contract needs it: unknown fields are refused, decimals
must be ``Decimal`` (money is never a float) and instants must carry a time zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pipeline.errors import Problem

_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)

Names = Mapping[str, Any]


def conform(datum: Any, schema: Mapping[str, Any]) -> tuple[Any, list[Problem]]:
    """The datum made ready for the writer (defaults filled, decimals at the schema's scale),
    and every problem found; the datum is only usable when the list is empty."""
    names: Names = schema.get("__named_schemas", {})
    problems: list[Problem] = []
    value = _conform(datum, schema, names, "", problems)
    return value, problems


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _describe(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return " or ".join(_describe(branch) for branch in schema)
    if isinstance(schema, Mapping):
        logical = schema.get("logicalType")
        return str(logical or schema.get("name") or schema.get("type"))
    return repr(schema)


def _conform(datum: Any, schema: Any, names: Names, path: str, problems: list[Problem]) -> Any:
    if isinstance(schema, str):
        schema = names.get(schema, schema)
    if isinstance(schema, list):
        return _conform_union(datum, schema, names, path, problems)
    if isinstance(schema, str):
        return _conform_primitive(datum, schema, path, problems)
    kind = schema["type"]
    logical = schema.get("logicalType")
    if logical == "decimal" and kind == "bytes":
        return _conform_decimal(datum, schema, path, problems)
    if logical == "timestamp-millis" and kind == "long":
        return _conform_instant(datum, path, problems)
    if kind == "record":
        return _conform_record(datum, schema, names, path, problems)
    if kind == "enum":
        if not isinstance(datum, str) or datum not in schema["symbols"]:
            symbols = ", ".join(schema["symbols"])
            problems.append(Problem(path, f"{datum!r} is not one of {symbols}"))
        return datum
    if kind == "array":
        return _conform_array(datum, schema, names, path, problems)
    if kind == "map":
        return _conform_map(datum, schema, names, path, problems)
    if kind == "fixed":
        if not isinstance(datum, bytes) or len(datum) != schema["size"]:
            problems.append(Problem(path, f"expected {schema['size']} bytes"))
        return datum
    return _conform_primitive(datum, kind, path, problems)


def _conform_primitive(datum: Any, kind: str, path: str, problems: list[Problem]) -> Any:
    ok = {
        "null": datum is None,
        "boolean": isinstance(datum, bool),
        "int": _integer_within(datum, _INT_RANGE),
        "long": _integer_within(datum, _LONG_RANGE),
        "float": isinstance(datum, float | int) and not isinstance(datum, bool),
        "double": isinstance(datum, float | int) and not isinstance(datum, bool),
        "string": isinstance(datum, str),
        "bytes": isinstance(datum, bytes),
    }.get(kind, False)
    if not ok:
        problems.append(Problem(path, f"expected {kind}, got {_shown(datum)}"))
    return datum


def _integer_within(datum: Any, bounds: tuple[int, int]) -> bool:
    if isinstance(datum, bool) or not isinstance(datum, int):
        return False
    return bounds[0] <= datum <= bounds[1]


def _shown(datum: Any) -> str:
    text = repr(datum)
    return text if len(text) <= 60 else text[:57] + "..."


def _conform_union(
    datum: Any, branches: Sequence[Any], names: Names, path: str, problems: list[Problem]
) -> Any:
    if datum is not None:
        non_null = [branch for branch in branches if branch != "null"]
        if len(non_null) == 1:  # an optional field: report the value's own problem
            return _conform(datum, non_null[0], names, path, problems)
    for branch in branches:
        attempt: list[Problem] = []
        value = _conform(datum, branch, names, path, attempt)
        if not attempt:
            return value
    problems.append(Problem(path, f"expected {_describe(branches)}, got {_shown(datum)}"))
    return datum


def _conform_decimal(
    datum: Any, schema: Mapping[str, Any], path: str, problems: list[Problem]
) -> Any:
    precision: int = schema["precision"]
    scale: int = schema.get("scale", 0)
    if not isinstance(datum, Decimal) or not datum.is_finite():
        problems.append(Problem(path, f"expected a finite Decimal, got {_shown(datum)}"))
        return datum
    if datum != 0 and datum.adjusted() >= precision - scale:
        problems.append(
            Problem(path, f"{datum} has more than {precision - scale} digits before the point")
        )
        return datum
    quantum = Decimal(1).scaleb(-scale)
    exact = datum.quantize(quantum)
    if exact != datum:
        problems.append(Problem(path, f"{datum} has more than {scale} decimal places"))
    return exact


def _conform_instant(datum: Any, path: str, problems: list[Problem]) -> Any:
    if not isinstance(datum, datetime) or datum.utcoffset() is None:
        problems.append(Problem(path, f"expected a timezone-aware datetime, got {_shown(datum)}"))
    return datum


def _conform_record(
    datum: Any, schema: Mapping[str, Any], names: Names, path: str, problems: list[Problem]
) -> Any:
    if not isinstance(datum, Mapping):
        expected = f"expected a {_describe(schema)} record"
        problems.append(Problem(path, f"{expected}, got {_shown(datum)}"))
        return datum
    fields = schema["fields"]
    known = {field["name"] for field in fields}
    problems.extend(
        Problem(_at(path, str(key)), "unknown field") for key in datum if key not in known
    )
    value: dict[str, Any] = {}
    for field in fields:
        name = field["name"]
        if name in datum:
            value[name] = _conform(datum[name], field["type"], names, _at(path, name), problems)
        elif "default" in field:
            value[name] = field["default"]
        else:
            problems.append(Problem(_at(path, name), "missing"))
    return value


def _conform_array(
    datum: Any, schema: Mapping[str, Any], names: Names, path: str, problems: list[Problem]
) -> Any:
    if not isinstance(datum, list | tuple):
        problems.append(Problem(path, f"expected a list, got {_shown(datum)}"))
        return datum
    return [
        _conform(item, schema["items"], names, f"{path}[{index}]", problems)
        for index, item in enumerate(datum)
    ]


def _conform_map(
    datum: Any, schema: Mapping[str, Any], names: Names, path: str, problems: list[Problem]
) -> Any:
    if not isinstance(datum, Mapping) or not all(isinstance(key, str) for key in datum):
        problems.append(Problem(path, f"expected a map with string keys, got {_shown(datum)}"))
        return datum
    return {
        key: _conform(item, schema["values"], names, f"{path}[{key!r}]", problems)
        for key, item in datum.items()
    }
