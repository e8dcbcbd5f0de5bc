"""The signed certificates a delivery carries, kept out of the retry schedule.

A certificate's signed XML is in ``eco.issuance``; the retry schedule keeps only where (topic,
partition, offset), so it stays small however long a customs is down. The runner keeps the
bodies of recent deliveries in memory, a bounded number (``KEPT``); a delivery whose body is
not there (after a restart, or one that waited long) reads it back from ``eco.issuance`` at
its offset (``agents.records``).
"""

from __future__ import annotations

from collections import OrderedDict

import structlog

from agents.records import RecordReader
from pipeline.errors import BusinessRejection, CustomsTemporaryFailure, DependencyUnavailable
from pipeline.settings import Settings
from pipeline.stages.transmission import PendingDelivery

KEPT = 2000
"""Bodies kept in memory: a few seconds of deliveries at full speed (about 10 MB)."""
LOG = structlog.get_logger("eco.stage").bind(stage="transmission")


class CertificateBodies:
    """Bodies by delivery id: from memory, else read back from their source record."""

    def __init__(self, settings: Settings, kept: int = KEPT) -> None:
        self.settings = settings
        self.kept = kept
        self._bodies: OrderedDict[str, str] = OrderedDict()
        self.reader = RecordReader(settings)

    def keep(self, delivery: PendingDelivery) -> PendingDelivery:
        """Remember ``delivery``'s body; the delivery as the schedule keeps it (no body when
        its source record can give it back)."""
        if not delivery.source or not delivery.body:
            return delivery.without_body()
        self._bodies[delivery.delivery_id] = delivery.body
        self._bodies.move_to_end(delivery.delivery_id)
        while len(self._bodies) > self.kept:
            self._bodies.popitem(last=False)
        return delivery.without_body()

    def forget(self, delivery: PendingDelivery) -> None:
        self._bodies.pop(delivery.delivery_id, None)

    async def body(self, delivery: PendingDelivery) -> str:
        """The body to send: the delivery's own, the one kept, or its source record's."""
        if delivery.body or not delivery.source:
            return delivery.body
        kept = self._bodies.get(delivery.delivery_id)
        if kept is not None:
            return kept
        return await self._read(delivery)

    async def _read(self, delivery: PendingDelivery) -> str:
        try:
            envelope = await self.reader.envelope_at(delivery.source, delivery.application_id)
        except DependencyUnavailable as exc:
            raise CustomsTemporaryFailure(str(exc)) from exc
        body = str(envelope.data.get("document_xml") or "")
        if not body:
            raise BusinessRejection(f"{delivery.source} is not the certificate of "
                                    f"{delivery.application_id}")
        LOG.info("delivery_body_read", application_id=delivery.application_id,
                 source=delivery.source)
        return body

    async def close(self) -> None:
        await self.reader.close()

