"""Response deadlines of certificates awaiting a customs decision: plain data in, plain data
out, so that the exceptions stage and its tests agree on when one is set."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def response_deadline_on_delivery(entry: Mapping[str, Any], *, certificate_number: str,
                                  version: int, country: str, delivered_at: float,
                                  allowed: float) -> dict[str, Any] | None:
    """The awaiting entry after a delivery, or None when it does not change: a delivery of a
    version already awaited (a redelivery) keeps its deadline; the first delivery, and that
    of a superseding version (v2 after v1), set a new deadline ``allowed`` seconds on."""
    known = int(entry.get("version") or 0) if entry else 0
    if entry and version <= known:
        return None
    return {"certificate_number": certificate_number, "version": version, "country": country,
            "deadline": delivered_at + allowed, "alerted": False, "decided": False, "round": 1}
