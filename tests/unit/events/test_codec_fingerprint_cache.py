"""The codec works out each current schema's fingerprint once, not on every encode."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.events import codec
from pipeline.events.schemas import fingerprint_of

DUE = "eco.deadline.due.v1"


def test_encode_uses_the_fingerprint_worked_out_when_the_registry_was_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = codec.SchemaRegistry({DUE: codec.DEFAULT_REGISTRY.reader(DUE)})

    def recomputed(*_: object) -> bytes:
        raise AssertionError("fingerprint recomputed on encode")

    monkeypatch.setattr(codec, "fingerprint", recomputed)
    data = codec.DEFAULT_REGISTRY.decode(_sample())[1]
    payload = registry.encode(DUE, data)
    assert payload[2:10] == fingerprint_of(DUE) == registry.fingerprint(DUE)


def _sample() -> bytes:
    fixtures = Path(__file__).resolve().parents[2] / "fixtures" / "avro" / DUE
    return sorted(fixtures.glob("*.bin"))[0].read_bytes()
