"""A benchmark of the origin engine: determinations per second for a generated application."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from pipeline.application import parse_application
from pipeline.origin.examination import examine
from pipeline.origin.rules import default_rulebook

_GOODS = ("940542", "851671", "610910", "870830", "841451")


def generated_document(items: int = 10) -> dict[str, Any]:
    """An RCEP application from CN to VN with ``items`` items of four materials each."""
    return {
        "application_id": "bench",
        "agreement": "RCEP",
        "exporter": {"name": "Bench Exporter", "address": "1 Road", "country": "CN",
                     "registration_number": "310000999"},
        "importer": {"name": "Bench Importer", "address": "2 Street", "country": "VN"},
        "transport": {"departure_date": "2026-05-18"},
        "invoices": [{"number": "B-1", "date": "2026-05-17"}],
        "declaration": {"place": "Shanghai", "date": "2026-05-17", "signatory": "B. Ench"},
        "items": [
            {
                "item_no": n + 1,
                "hs_code": _GOODS[n % len(_GOODS)],
                "description": "benchmark good",
                "marks": "N/M",
                "packages": {"count": 10, "kind": "CT"},
                "gross_weight_kg": "100",
                "fob": {"amount": "10000.00", "currency": "USD"},
                "processes": ["assembly"],
                "materials": [
                    {"hs_code": "392690", "origin_country": "TW", "value": "1500.00"},
                    {"hs_code": "854449", "origin_country": "unknown", "value": "500.00"},
                    {
                        "hs_code": "732690",
                        "origin_country": "MY",
                        "originating": True,
                        "value": "2000.00",
                        "supplier_declaration": f"SD-{n}",
                    },
                    {"hs_code": _GOODS[n % len(_GOODS)][:4], "value": "400.00"},
                ],
            }
            for n in range(items)
        ],
    }


def bench_determinations(seconds: float) -> float:
    """Examine a generated 10-item application repeatedly for about ``seconds``; returns the
    item determinations per second."""
    app = parse_application(generated_document(10), "bench")
    rules = default_rulebook()
    on_date = date(2026, 5, 20)
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        done += len(examine(app, rules, on_date).items)
        now = time.perf_counter()
        if now >= deadline:
            return done / (now - start)
