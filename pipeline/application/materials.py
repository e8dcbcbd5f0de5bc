"""The materials of an item: HS code, origin, value, weight, supplier declaration and role."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.application.model import Material, MaterialRole
from pipeline.application.reader import FieldReader, child, type_name

UNKNOWN_ORIGIN = "unknown"


def parse_materials(
    reader: FieldReader, entry: Mapping[str, Any], path: str
) -> tuple[Material, ...] | None:
    """The ``materials`` array at ``path``; None when absent."""
    entries = reader.array(entry, "materials", path)
    if entries is None:
        return None
    materials: list[Material] = []
    for index, block in enumerate(entries):
        at = child(path, index)
        if not isinstance(block, Mapping):
            reader.problem(at, f"must be an object, not {type_name(block)}")
            continue
        materials.append(
            Material(
                hs_code=reader.hs_code(block, child(at, "hs_code"), (4, 6), required=False),
                description=reader.text(block, "description", child(at, "description")),
                origin_country=_origin_country(reader, block, child(at, "origin_country")),
                originating=reader.boolean(block, "originating", child(at, "originating")),
                value=reader.decimal(block, "value", child(at, "value")),
                weight_kg=reader.decimal(block, "weight_kg", child(at, "weight_kg")),
                supplier_declaration=reader.text(
                    block, "supplier_declaration", child(at, "supplier_declaration")
                ),
                role=_role(reader, block, child(at, "role")),
            )
        )
    return tuple(materials)


def _role(reader: FieldReader, block: Mapping[str, Any], path: str) -> MaterialRole:
    name = reader.text(block, "role", path)
    if name is None:
        return MaterialRole.MATERIAL
    try:
        return MaterialRole(name.lower())
    except ValueError:
        known = ", ".join(r.value for r in MaterialRole)
        reader.problem(path, f"must be one of {known}, not {name!r}")
        return MaterialRole.MATERIAL


def _origin_country(reader: FieldReader, block: Mapping[str, Any], path: str) -> str | None:
    value = block.get("origin_country")
    if isinstance(value, str) and value.strip().lower() == UNKNOWN_ORIGIN:
        return None
    return reader.country(block, "origin_country", path)
