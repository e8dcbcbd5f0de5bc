"""How many certificates per second one process builds and signs (``make bench``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from pipeline.certificate.devpki import (
    DEV_AUTHORITY,
    DEV_OFFICES,
    DEV_VALID_FROM,
    Algorithm,
    authority_certificate,
    certificate_pem,
    new_private_key,
    office_certificate,
    private_key_pem,
)
from pipeline.certificate.document import build_certificate
from pipeline.certificate.model import ItemCriterion
from pipeline.certificate.numbering import format_reference
from pipeline.certificate.signing import SigningKey, sign_certificate

BENCH_APPLICATION: dict[str, Any] = {
    "application_id": "bench",
    "agreement": "ACFTA",
    "issuing_office": DEV_OFFICES[0].code,
    "exporter": {"name": "Bench Exporter Co., Ltd.", "address": "1 Test Road, Shenzhen",
                 "country": "CN", "id": "91440300MA5BENCH0X",
                 "registration_number": "440300999"},
    "importer": {"name": "Bench Importer JSC", "address": "2 Test Street, Hanoi",
                 "country": "VN"},
    "transport": {"departure_date": "2026-05-08", "vessel": "BENCH V.1",
                  "port_of_loading": "CNSZX", "port_of_discharge": "VNHPH"},
    "invoices": [{"number": "INV-1", "date": "2026-05-06"}],
    "items": [
        {"item_no": 1, "hs_code": "851671", "description": "electric kettles", "marks": "N/M",
         "packages": {"count": 10, "kind": "CT"}, "quantity": {"value": "100", "unit": "PCE"},
         "gross_weight_kg": "150", "fob": {"amount": "1000.00", "currency": "USD"}},
    ],
    "declaration": {"place": "Shenzhen", "date": "2026-05-06", "signatory": "Bench Signatory"},
}


def bench_signing(seconds: float, algorithm: str = "rsa") -> float:
    """Certificates built, validated and signed per second over about ``seconds``.

    ``algorithm`` is ``rsa`` (RSA-2048, rsa-sha256) or ``ecdsa`` (P-256, ecdsa-sha256).
    """
    if algorithm not in ("rsa", "ecdsa"):
        raise ValueError(f"unknown algorithm {algorithm!r}: rsa or ecdsa")
    chosen = cast(Algorithm, algorithm)
    ca_key, office_key = new_private_key(chosen), new_private_key(chosen)
    not_after = datetime.now(UTC) + timedelta(days=1)
    ca = authority_certificate(ca_key, DEV_AUTHORITY, not_before=DEV_VALID_FROM,
                               not_after=not_after)
    office = DEV_OFFICES[0]
    certificate = office_certificate(office, office_key, ca_certificate=ca, ca_key=ca_key,
                                     not_before=DEV_VALID_FROM, not_after=not_after)
    key = SigningKey(private_key_pem(office_key), certificate_pem(certificate))
    determinations = [ItemCriterion(1, "RVC", "55%", True, Decimal("55.00"))]
    issued_at = datetime(2026, 5, 8, 9, 30, tzinfo=UTC)
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        count += 1
        number = format_reference("ACFTA", "380000005", 2026, count % 9999 + 1)
        xml = build_certificate(BENCH_APPLICATION, determinations, number=number, version=1,
                                issued_at=issued_at, issuing_office=office)
        sign_certificate(xml, key)
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - started)
