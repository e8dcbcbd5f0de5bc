"""The status record on ``eco.status``: Avro single-object encoding with the published schema
``avro/records/eco.status.v1.avsc`` (the same framing as every event: marker, fingerprint,
datum), keyed by application id. The values are those of ``CertificateStatus.to_json``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pipeline.errors import UndecodableEvent
from pipeline.events.codec import SchemaRegistry
from pipeline.events.schemas import AVRO_DIR, parse

STATUS_RECORD = "eco.status.v1"
SCHEMA_FILE = AVRO_DIR / "records" / f"{STATUS_RECORD}.avsc"
_REGISTRY = SchemaRegistry({STATUS_RECORD: parse(SCHEMA_FILE.read_text(encoding="utf-8"))})


def encode_status(record: Mapping[str, Any]) -> bytes:
    """The ``eco.status`` value of a status record (``CertificateStatus.to_json``)."""
    datum = {**record,
             "extra": {str(k): str(v) for k, v in dict(record.get("extra") or {}).items()},
             "history": [{**h, "at": datetime.fromisoformat(h["at"])}
                         for h in record.get("history", ())]}
    return _REGISTRY.encode(STATUS_RECORD, datum)


def decode_status(value: bytes) -> dict[str, Any]:
    """A status record from its ``eco.status`` value; a JSON value written by earlier versions
    is read too. UndecodableEvent when it is neither."""
    if value[:1] == b"{":
        try:
            loaded: dict[str, Any] = json.loads(value)
            return loaded
        except ValueError as exc:
            raise UndecodableEvent(f"status record is not JSON: {exc}") from exc
    _, datum = _REGISTRY.decode(value, STATUS_RECORD)
    datum["history"] = [{**h, "at": h["at"].isoformat()} for h in datum["history"]]
    return datum
