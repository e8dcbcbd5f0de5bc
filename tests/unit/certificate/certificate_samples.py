"""The two sample applications of the certificate tests, their origin determinations, and how
to build and sign their certificates."""

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

FIXTURES = Path(__file__).parent / "fixtures"
RCEP_SAMPLE = "01-rcep-led-luminaires-vn.json"
ACFTA_SAMPLE = "02-acfta-kettles-th.json"
CHINA = timezone(timedelta(hours=8))
ISSUED_AT = datetime(2026, 5, 9, 10, 30, tzinfo=CHINA)

# What the origin engine determines for the samples (see the samples' README).
DETERMINATIONS: dict[str, list[ItemCriterion]] = {
    RCEP_SAMPLE: [ItemCriterion(1, "CTH", "CTC", fob_shown=False)],
    ACFTA_SAMPLE: [ItemCriterion(1, "RVC", "55%", fob_shown=True, rvc_percent=Decimal("55.00"))],
}
NUMBERS = {RCEP_SAMPLE: "R264403000010001", ACFTA_SAMPLE: "E263302000020001"}


def load_sample(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return document


def build_sample(name: str, pki: DevPki, **overrides: Any) -> bytes:
    """The unsigned certificate of one sample, issued by the office the sample asks for."""
    application = overrides.pop("application", None) or load_sample(name)
    options: dict[str, Any] = {"number": NUMBERS[name], "version": 1, "issued_at": ISSUED_AT}
    options.update(overrides)
    if "issuing_office" not in options:
        options["issuing_office"] = pki.office(application["issuing_office"])
    return build_certificate(application, DETERMINATIONS[name], **options)


def sign_sample(name: str, pki: DevPki, **overrides: Any) -> bytes:
    application = overrides.get("application") or load_sample(name)
    key = pki.signing_key(application["issuing_office"])
    return sign_certificate(build_sample(name, pki, **overrides), key)
