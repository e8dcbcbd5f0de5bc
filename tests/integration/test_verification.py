"""The verification stage against a real broker and worker: supplier declarations from their
topic, documents requested and supplied, pre-exportation determinations reused or stale,
and entrepôt routes, each seen through ``eco status`` as the exporter sees it."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline import events, feeds
from pipeline.submission import read_document, submission
from tests.integration.harness import SAMPLES, Stack, days_from_today, eco, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SETTLED_OR_LATER = {"NOT_QUALIFIED", "INCOMPLETE", "DOCUMENTS_REQUESTED", "VERIFIED", "ISSUED",
                    "TRANSMITTED", "ACCEPTED", "REJECTED", "FALLBACK_MANUAL"}


def led_document(uid: str, **changes: Any) -> dict[str, Any]:
    """Sample 01 under a fresh exporter id, with top-level changes."""
    document, _ = read_document(SAMPLES / "01-rcep-led-luminaires-vn.json")
    document = copy.deepcopy(document)
    document["exporter"]["id"] = f"EXP-{uid}"
    document.update(changes)
    return document


def relying_on(document: dict[str, Any], reference: str | None) -> dict[str, Any]:
    """The luminaire qualifies only if its LED module (same heading, 62.5 % of FOB) originates."""
    module: dict[str, Any] = {"hs_code": "940599", "description": "LED module",
                              "origin_country": "MY", "originating": True, "value": "15000.00"}
    if reference:
        module["supplier_declaration"] = reference
    document["items"][0]["materials"] = [
        module,
        {"hs_code": "850440", "description": "LED driver", "origin_country": "unknown",
         "originating": False, "value": "3000.00"},
    ]
    return document


def submit(stack: Stack, document: dict[str, Any]) -> str:
    sub = submission(document, source="test", id_suffix=f"-{uuid.uuid4().hex[:8]}")
    asyncio.run(feeds.publish(stack.bootstrap, [sub.envelope]))
    return sub.application_id


def status_when(stack: Stack, app_id: str, done: Callable[[dict[str, Any]], bool]
                ) -> dict[str, Any]:
    statuses = asyncio.run(feeds.wait_for_statuses(stack.bootstrap, [app_id], done, 90))
    assert app_id in statuses and done(statuses[app_id]), (statuses, stack.log("worker"))
    return statuses[app_id]


def settled(status: dict[str, Any]) -> bool:
    return status.get("state") in SETTLED_OR_LATER


def stored(stack: Stack, table: str, key: str) -> None:
    """Wait until the registers stage wrote ``key`` to its table's changelog."""
    topic = f"{stack.env['ECO_APP_ID']}-{table}-changelog"

    def present() -> bool:
        async def keys() -> set[bytes]:
            return {r.key async for r in feeds.read_topic(stack.bootstrap, topic)}

        return json.dumps(key).encode() in asyncio.run(keys())  # Faust keys are JSON

    wait_for(present, 60, f"{key} in {topic}")


def verification_of(stack: Stack, app_id: str) -> events.Envelope:
    async def collect() -> list[Any]:
        return [r async for r in feeds.read_topic(stack.bootstrap, "eco.verification")]

    found = [events.from_record(r.key, r.value, list(r.headers)) for r in asyncio.run(collect())
             if r.key == app_id.encode()]
    (completed,) = [e for e in found if e.type == "eco.verification.completed.v1"]
    return completed


def test_a_held_declaration_with_another_hs_code_is_a_reason(stack: Stack,
                                                             tmp_path: Path) -> None:
    uid = uuid.uuid4().hex[:8]
    reference = f"SD-IT-{uid}"
    path = tmp_path / "declaration.json"
    path.write_text(json.dumps({
        "reference": reference, "supplier": "Penang Photonics", "hs_code": "853400",
        "origin_country": "MY", "agreement": "RCEP", "valid_from": days_from_today(-140),
        "valid_until": days_from_today(225)}))
    result = eco(stack, "declare", str(path))
    assert result.returncode == 0, result.stderr
    stored(stack, "supplier-declarations", reference)

    app_id = submit(stack, relying_on(led_document(uid), reference))
    status = status_when(stack, app_id, settled)
    assert status["state"] == "NOT_QUALIFIED"
    assert any(f"supplier declaration {reference} covers HS 853400" in r
               for r in status["reasons"]), status["reasons"]


def test_documents_requested_then_supplied_resume_the_application(stack: Stack,
                                                                 tmp_path: Path) -> None:
    document = led_document(uuid.uuid4().hex[:8])
    item = document["items"][0]
    item["rvc_method"] = "build-up"
    item["costs"] = {"direct_labour": "6000.00"}
    item["materials"][2]["hs_code"] = "940599"  # the driver now fails CTH: RVC is needed
    app_id = submit(stack, document)
    status = status_when(stack, app_id, settled)
    assert status["state"] == "DOCUMENTS_REQUESTED"
    assert any(r.startswith("document requested: COST_STATEMENT for item 1")
               for r in status["reasons"]), status["reasons"]

    cost = tmp_path / "cost-statement.pdf"
    cost.write_bytes(b"%PDF-1.7 cost statement of the luminaire")
    result = eco(stack, "documents", app_id, f"COST_STATEMENT={cost}")
    assert result.returncode == 0, result.stderr
    status = status_when(stack, app_id, lambda s: s.get("state") not in
                         {None, "SUBMITTED", "DOCUMENTS_REQUESTED"})
    assert status["state"] in {"VERIFIED", "ISSUED", "TRANSMITTED", "ACCEPTED"}, status
    details = [h["detail"] for h in status["history"]]
    assert "documents supplied: COST_STATEMENT (cost-statement.pdf)" in details
    assert verification_of(stack, app_id).data["items"][0]["criterion"] == "RVC"


def _determine(stack: Stack, tmp_path: Path, uid: str, review_on: str) -> str:
    product = tmp_path / f"product-{uid}.json"
    product.write_text(json.dumps(relying_on(led_document(uid), f"SD-MY-{uid}")))
    result = eco(stack, "determine", str(product), "--review-on", review_on,
                 "--reference", f"PED-{uid}", "--date", days_from_today(-79))
    assert result.returncode == 0, result.stderr
    reference, product_key, *_ = result.stdout.split("\t")
    assert reference == f"PED-{uid}"
    stored(stack, "origin-determinations", product_key)
    return product_key


def test_a_pre_exportation_determination_is_reused_and_flagged_when_stale(
        stack: Stack, tmp_path: Path) -> None:
    fresh, stale = uuid.uuid4().hex[:8], uuid.uuid4().hex[:8]
    due, past = days_from_today(104), days_from_today(-20)
    _determine(stack, tmp_path, fresh, due)
    _determine(stack, tmp_path, stale, past)
    # The same products, now without the supplier declaration: examined afresh they rely
    # on an unbacked claim (INCOMPLETE); the fresh determination is the evidence instead.
    reused = submit(stack, relying_on(led_document(fresh), None))
    afresh = submit(stack, relying_on(led_document(stale), None))

    status = status_when(stack, reused, settled)
    assert status["state"] in {"VERIFIED", "ISSUED", "TRANSMITTED", "ACCEPTED"}, status
    reasons = verification_of(stack, reused).data["items"][0]["reasons"]
    assert reasons[0].startswith(f"origin as determined before exportation: PED-{fresh}")

    status = status_when(stack, afresh, settled)
    assert status["state"] == "INCOMPLETE"
    assert any(f"PED-{stale} for this product was due for review on {past}" in r
               for r in status["reasons"]), status["reasons"]


def test_an_entrepot_route_without_non_manipulation_document_is_flagged(stack: Stack) -> None:
    document = led_document(uuid.uuid4().hex[:8])
    document["transport"]["transit"] = [{"port": "HKHKG", "country": "HK"}]
    app_id = submit(stack, document)
    status = status_when(stack, app_id, settled)
    assert status["state"] == "INCOMPLETE"
    assert any(r.startswith("transport.transit[0].non_manipulation_document: entrepôt trade "
                            "through HK (HKHKG), not a Party to RCEP")
               for r in status["reasons"]), status["reasons"]
