"""Signed certificates for the preview tests, built and signed with the project's own code from
the sample applications of the certificate tests, so the fixtures never go stale."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from pipeline.certificate.devpki import DevPki
from pipeline.certificate.document import build_certificate
from pipeline.certificate.model import ItemCriterion
from pipeline.certificate.signing import sign_certificate

SAMPLES = Path(__file__).parents[1] / "certificate" / "fixtures"
APPLICATIONS = {"RCEP": "01-rcep-led-luminaires-vn.json", "ACFTA": "02-acfta-kettles-th.json"}
NUMBERS = {"RCEP": "R264403000010001", "ACFTA": "E263302000020001"}
DETERMINATIONS = {
    "RCEP": [ItemCriterion(1, "CTH", "CTC", fob_shown=False)],
    "ACFTA": [ItemCriterion(1, "RVC", "55%", fob_shown=True, rvc_percent=Decimal("55.00"))],
}
ISSUED_AT = datetime(2026, 5, 9, 10, 30, tzinfo=timezone(timedelta(hours=8)))


def load_application(agreement: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (SAMPLES / APPLICATIONS[agreement]).read_text(encoding="utf-8")
    )
    return document


def build_unsigned(agreement: str, pki: DevPki, *, application: dict[str, Any] | None = None,
                   determinations: list[ItemCriterion] | None = None, **options: Any) -> bytes:
    """The certificate of a sample (or of ``application``), not yet signed."""
    application = application or load_application(agreement)
    settings: dict[str, Any] = {"number": NUMBERS[agreement], "version": 1,
                                "issued_at": ISSUED_AT,
                                "issuing_office": pki.office(application["issuing_office"])}
    settings.update(options)
    return build_certificate(application, determinations or DETERMINATIONS[agreement],
                             **settings)


def build_signed(agreement: str, pki: DevPki, **kwargs: Any) -> bytes:
    application = kwargs.get("application") or load_application(agreement)
    key = pki.signing_key(application["issuing_office"])
    return sign_certificate(build_unsigned(agreement, pki, **kwargs), key)
