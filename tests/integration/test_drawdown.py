"""Back-to-back certificates against a real broker: draws on one original are kept in a
Kafka-backed balance, and an overdraw is refused with the figures, ending in the final state
ISSUANCE_REFUSED, while the draws that fit are issued (RCEP Art. 3.19.1(d); Form E movement
certificate)."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from pipeline import feeds
from pipeline.submission import read_document, submission
from tests.integration.harness import SAMPLES, Stack, decoded, eco, read_all, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
ISSUED = "eco.certificate.issued.v1"
REFUSED = "eco.certificate.refused.v1"


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # One stack for the module: each test draws on an original of its own.
    with Stack.started(tmp_path_factory.mktemp("drawdown")) as stack:
        stack.start_worker("worker", "verification", "issuance", "status")
        yield stack


def _movement(original: str, kilograms: str) -> dict[str, Any]:
    """Sample 04 re-exported on the strength of a Vietnamese original of 30000 KGM."""
    document, _ = read_document(SAMPLES / "04-acfta-frozen-fish-vn.json")
    document = copy.deepcopy(document)
    item = document["items"][0]
    item["quantity"] = {"value": kilograms, "unit": "KGM"}
    document["importer"]["country"] = "TH"
    document["back_to_back"] = {
        "original_certificate": original, "original_issue_date": "2026-05-01",
        "original_country": "VN",
        "original_items": [{"item_no": 1, "hs_code": item["hs_code"],
                            "quantity": {"value": "30000", "unit": "KGM"}}],
    }
    return document


def _submit(stack: Stack, document: dict[str, Any]) -> str:
    sub = submission(document, source="b2b", id_suffix=f"-{uuid.uuid4().hex[:8]}")
    asyncio.run(feeds.publish(stack.bootstrap, [sub.envelope]))
    return sub.application_id


def _issued(stack: Stack, app_id: str) -> list[str]:
    return [e.data["certificate_number"] for e in decoded(stack, "eco.issuance", {app_id})
            if e.type == ISSUED]


def _refusals(stack: Stack, app_id: str) -> list[dict[str, Any]]:
    return [dict(e.data) for e in decoded(stack, "eco.issuance", {app_id})
            if e.type == REFUSED]


def _dead_letters(stack: Stack, app_id: str) -> list[dict[str, str]]:
    found = [{k: v.decode() for k, v in r.headers} for r in read_all(stack, "eco.deadletter")]
    return [h for h in found if h.get("ce_subject") == app_id]


def _status(stack: Stack, app_id: str) -> dict[str, Any] | None:
    return feeds.run(feeds.latest_statuses(stack.bootstrap, [app_id])).get(app_id)


def test_an_overdraw_is_refused_and_the_draws_that_fit_are_issued(one_worker: Stack) -> None:
    stack = one_worker
    original = f"VN26{uuid.uuid4().hex[:8].upper()}"
    first = _submit(stack, _movement(original, "20000"))
    wait_for(lambda: _issued(stack, first), 180, "the first back-to-back certificate")

    overdraw = _submit(stack, _movement(original, "15000"))
    [refused] = wait_for(lambda: _refusals(stack, overdraw), 180, "the overdraw's refusal")
    assert refused["cause"] == "OVERDRAW" and refused["original_certificate"] == original
    assert refused["items"] == [{
        "original_item_no": 1, "item_nos": [1], "unit": "KGM", "asked": "15000",
        "remaining": "10000", "original": "30000", "drawn_before": "20000"}]
    figures = (f"overdraw of {original} item 1: 15000 KGM asked, 10000 KGM left of 30000 "
               "(20000 drawn before)")
    assert figures in refused["reason"]
    status = wait_for(lambda: (s := _status(stack, overdraw)) and s["state"] == "ISSUANCE_REFUSED"
                      and s, 180, "the overdraw's status ISSUANCE_REFUSED")
    assert any(figures in reason for reason in status["reasons"])
    assert _dead_letters(stack, overdraw) == []  # a state, not a dead letter

    rest = _submit(stack, _movement(original, "10000"))
    wait_for(lambda: _issued(stack, rest), 180, "the draw of what was left")
    assert _issued(stack, overdraw) == []
    settled = wait_for(lambda: (s := _status(stack, rest)) and s["state"] == "ISSUED" and s, 180,
                       "the last draw's status")
    assert settled["certificate_number"] == _issued(stack, rest)[0]


def test_a_revoked_back_to_back_certificate_gives_its_draw_back(one_worker: Stack) -> None:
    """The draw-down learns the revocation from eco.issuance: the original's balance gets the
    draw back, and a later back-to-back certificate may draw it."""
    stack = one_worker
    original = f"VN26{uuid.uuid4().hex[:8].upper()}"
    first = _submit(stack, _movement(original, "20000"))
    [number] = wait_for(lambda: _issued(stack, first), 180, "the first back-to-back certificate")
    revoked = eco(stack, "certificate", "revoke", first, "--approved-by", "officer-9",
                  "--reason", "goods not shipped", "--number", number)
    assert revoked.returncode == 0, revoked.stderr
    wait_for(lambda: any("draw_given_back" in line and original in line
                         for line in stack.log("worker").splitlines()), 180, "the draw given back")
    assert _status(stack, first) is not None

    whole = _submit(stack, _movement(original, "30000"))
    wait_for(lambda: _issued(stack, whole), 180, "a draw of the whole original")
    assert _refusals(stack, whole) == []
