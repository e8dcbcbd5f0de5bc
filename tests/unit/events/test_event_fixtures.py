"""Every payload ever written stays readable: fixtures of each schema version, read today.

The fixtures under tests/fixtures/avro/<ce_type>/ are added by make_fixtures.py when a
schema changes and never rewritten; an incompatible schema change makes this test fail.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pipeline.errors import UndecodableEvent
from pipeline.events import EVENT_TYPES, SchemaRegistry, fingerprint, fingerprint_of, schema_for
from pipeline.events.schemas import parse

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "avro"


def _make_fixtures() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE_FIXTURES = _make_fixtures()


def _current_registry() -> SchemaRegistry:
    registry = SchemaRegistry({ce_type: schema_for(ce_type) for ce_type in EVENT_TYPES})
    for ce_type in EVENT_TYPES:
        for writer in sorted((FIXTURES / ce_type).glob("*.avsc")):
            registry.register_writer(writer.read_text("utf-8"))
    return registry


def _payloads() -> list[tuple[str, Path]]:
    return [
        (ce_type, payload)
        for ce_type in EVENT_TYPES
        for payload in sorted((FIXTURES / ce_type).glob("*.bin"))
    ]


def _expected(payload: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(payload.with_suffix(".json").read_text("utf-8"))
    return loaded


@pytest.mark.parametrize("ce_type", EVENT_TYPES)
def test_every_event_type_has_fixtures_of_its_current_schema(ce_type: str) -> None:
    versions = MAKE_FIXTURES.versions(ce_type)
    assert versions, f"no fixtures for {ce_type}: run make_fixtures.py"
    latest = (FIXTURES / ce_type / f"{versions[-1]}.avsc").read_text("utf-8")
    assert fingerprint(latest) == fingerprint_of(ce_type), (
        f"{ce_type} changed since its fixtures: run tests/fixtures/avro/make_fixtures.py"
    )
    assert list((FIXTURES / ce_type).glob(f"{versions[-1]}-*.bin"))


@pytest.mark.parametrize(("ce_type", "payload"), _payloads(), ids=lambda v: getattr(v, "name", v))
def test_fixture_reads_with_the_current_schema(ce_type: str, payload: Path) -> None:
    decoded_type, data = _current_registry().decode(payload.read_bytes(), ce_type)
    assert decoded_type == ce_type
    form = MAKE_FIXTURES.to_json_form(data)
    expected = _expected(payload)
    assert {name: form.get(name) for name in expected} == expected


def test_the_check_bites_on_a_removed_field_without_default() -> None:
    ce_type = "eco.customs.responded.v1"
    raw = json.loads((FIXTURES / ce_type / "1.avsc").read_text("utf-8"))
    for field in raw["fields"]:
        if field["name"] == "status":
            field["name"] = "outcome"  # a rename without alias and default is a removal
    registry = SchemaRegistry({ce_type: parse(raw)})
    registry.register_writer((FIXTURES / ce_type / "1.avsc").read_text("utf-8"))
    with pytest.raises(UndecodableEvent, match="outcome"):
        registry.decode((FIXTURES / ce_type / "1-not-given.bin").read_bytes(), ce_type)


def test_the_check_bites_on_a_renamed_enum_symbol_without_default() -> None:
    ce_type = "eco.alert.raised.v1"
    raw = json.loads((FIXTURES / ce_type / "1.avsc").read_text("utf-8"))
    kind = next(field for field in raw["fields"] if field["name"] == "kind")["type"]
    kind["symbols"] = ["BOX4_REFUSAL" if s == "BOX4_REJECTION" else s for s in kind["symbols"]]
    del kind["default"]
    registry = SchemaRegistry({ce_type: parse(raw)})
    registry.register_writer((FIXTURES / ce_type / "1.avsc").read_text("utf-8"))
    with pytest.raises(UndecodableEvent):
        registry.decode((FIXTURES / ce_type / "1-box4.bin").read_bytes(), ce_type)


def test_make_fixtures_adds_a_version_only_when_the_schema_changed(tmp_path: Path) -> None:
    ce_type = "eco.transmission.failed.v1"
    assert MAKE_FIXTURES.add_version_if_changed(ce_type, tmp_path) == 1
    assert MAKE_FIXTURES.add_version_if_changed(ce_type, tmp_path) is None
    older = '{"type": "record", "name": "eco.v1.TransmissionFailed", "fields": []}'
    (tmp_path / ce_type / "1.avsc").write_text(older, "utf-8")
    assert MAKE_FIXTURES.add_version_if_changed(ce_type, tmp_path) == 2
    assert (tmp_path / ce_type / "1.avsc").read_text("utf-8") == older
    assert (tmp_path / ce_type / "2-timeouts.bin").read_bytes()[2:10] == fingerprint_of(ce_type)
    assert MAKE_FIXTURES.versions(ce_type, tmp_path) == [1, 2]
