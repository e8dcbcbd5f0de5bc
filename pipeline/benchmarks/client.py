"""The benchmark's producing client, written the way an integration team would write one:
Apache Avro (fastavro) and the documented CloudEvents headers, nothing of the pipeline's own
code. It reads the published schema from ``avro/``, writes single-object encoded values and
sends records in batches, or paced at an offered rate, without awaiting each one."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from fastavro import parse_schema, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

from pipeline.kafkaclient import client_options  # TLS and SASL only: the encoding is its own

AVRO = Path(__file__).resolve().parents[2] / "avro"
SUBMITTED = "eco.application.submitted.v1"
TOPIC = "eco.application"
Record = tuple[bytes, bytes, list[tuple[str, bytes]]]


@dataclass(frozen=True)
class AvroWriter:
    """One event type's published schema, its CRC-64-AVRO fingerprint and a writer."""

    ce_type: str
    schema: Any
    fingerprint: bytes

    @classmethod
    def of(cls, ce_type: str) -> AvroWriter:
        raw = json.loads((AVRO / f"{ce_type}.avsc").read_text(encoding="utf-8"))
        schema = parse_schema(raw)
        digest = fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO")
        return cls(ce_type, schema, bytes.fromhex(digest))

    def record(self, subject: str, data: Mapping[str, Any]) -> Record:
        """Key, single-object encoded value and CloudEvents binary-mode headers."""
        out = BytesIO()
        out.write(b"\xc3\x01" + self.fingerprint)
        schemaless_writer(out, self.schema, dict(data))
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        headers = {
            "ce_specversion": "1.0", "ce_id": str(uuid.uuid4()), "ce_type": self.ce_type,
            "ce_source": "bench/client", "ce_time": now, "ce_subject": subject,
            "ce_dataschema": "crc64-avro:" + self.fingerprint.hex(),
            "content-type": "application/avro",
            "traceparent": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01",
        }
        return subject.encode(), out.getvalue(), [(k, v.encode()) for k, v in headers.items()]


def submitted_data(document: Mapping[str, Any], application_id: str) -> dict[str, Any]:
    """The ``eco.application.submitted.v1`` datum of a JSON application document."""
    body = {**document, "application_id": application_id}
    return {
        "application_id": application_id,
        "tenant": str(document.get("exporter", {}).get("id") or ""),
        "agreement": str(document["agreement"]),
        "issuing_office": str(document.get("issuing_office") or ""),
        "importing_country": str(document["importer"]["country"]),
        "submitted_via": "KAFKA",
        "document_format": "JSON_V1",
        "document": json.dumps(body, ensure_ascii=False, sort_keys=True),
        "submitted_at": datetime.now(UTC),
    }


async def send_records(bootstrap: str, topic: str, records: Sequence[Record] | None = None,
                       *, rate: float | None = None, make: Any = None, count: int = 0
                       ) -> float:
    """Send ``records`` (or ``count`` records built by ``make(n)`` when sent, so that their
    times are the sending times) as fast as the producer batches them, or paced at ``rate``
    per second; waits for every acknowledgement at the end. Returns the seconds taken."""
    producer = AIOKafkaProducer(**client_options(bootstrap), acks="all",
                                enable_idempotence=True, linger_ms=5,
                                max_batch_size=1 << 20, request_timeout_ms=30000)
    await producer.start()
    try:
        total = len(records) if records is not None else count
        pending = []
        started = time.perf_counter()
        for n in range(total):
            if rate:
                ahead = started + n / rate - time.perf_counter()
                if ahead > 0:
                    await asyncio.sleep(ahead)  # pacing the offered load, not synchronising
            key, value, headers = records[n] if records is not None else make(n)
            pending.append(await producer.send(topic, value, key=key, headers=headers))
        await asyncio.gather(*pending)
        return time.perf_counter() - started
    finally:
        await producer.stop()
