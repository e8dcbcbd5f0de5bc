"""The draw-down transitions (RCEP Art. 3.19.1(a) and (d); Form E movement certificate): a draw
that fits goes on to be numbered, an overdraw is a refusal event with the figures, an original
revoked or superseded is refused with the reason, and the refusal is the application's final
state ISSUANCE_REFUSED."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.application import Application
from pipeline.cli.status import render
from pipeline.events import Envelope, from_record, new_envelope, to_record
from pipeline.origin import default_rulebook
from pipeline.origin.backtoback import OriginalCertificate, original_from_application
from pipeline.origin.evidence import default_evidence
from pipeline.stages import Emit
from pipeline.stages.drawdown import ADJUSTED, Original, decide, drawdown_key, notices
from pipeline.stages.issuance import DRAWDOWN_TOPIC, REQUESTS_TOPIC
from pipeline.stages.refusal import REFUSED
from pipeline.stages.status import decide as status_decide
from pipeline.stages.verification import Examiner, Registers
from pipeline.stages.verification import decide as verify
from pipeline.states import SETTLED, State
from pipeline.submission import submission
from tests.unit.stages.conftest import NOW, sample

ORIGINAL = "E260000000010001"
AT = datetime(2026, 5, 21, 10, 0, tzinfo=UTC)


def movement(kilograms: str, app_id: str) -> Envelope:
    """Sample 04 re-exported on the strength of a Vietnamese original of 30000 KGM, verified."""
    document: dict[str, Any] = copy.deepcopy(sample("04-acfta-frozen-fish-vn.json"))
    item = document["items"][0]
    item["quantity"] = {"value": kilograms, "unit": "KGM"}
    document["application_id"] = app_id
    document["importer"]["country"] = "TH"
    document["back_to_back"] = {
        "original_certificate": ORIGINAL, "original_issue_date": "2026-05-01",
        "original_country": "VN",
        "original_items": [{"item_no": 1, "hs_code": item["hs_code"],
                            "quantity": {"value": "30000", "unit": "KGM"}}]}
    submitted = submission(document, source="b2b").envelope
    step = verify(None, submitted, NOW, Examiner(default_rulebook(), default_evidence()),
                  Registers({}, {}))
    [completed] = [o.envelope for o in step.outputs if isinstance(o, Emit)
                   and o.envelope.type == "eco.verification.completed.v1"]
    assert completed.data["verdict"] == "QUALIFIED", completed.data
    return completed


def declared(application: Application, number: str) -> OriginalCertificate:
    return original_from_application(application)


def notice(kind: str, **data: Any) -> Envelope:
    base = {"application_id": "app-original", "certificate_number": ORIGINAL, "version": 1,
            "reason": "issued in error", "approved_by": "officer-1", "occurred_at": AT}
    return new_envelope(kind, {**base, **data}, source="eco/issuance", subject="app-original")


def only_emit(step: Any) -> Emit:
    [emit] = step.outputs
    assert isinstance(emit, Emit)
    return emit


def test_a_draw_that_fits_goes_on_to_be_numbered_and_is_kept_in_the_balance() -> None:
    event = movement("20000", "b2b-1")
    assert drawdown_key(event) == ORIGINAL
    step = decide(Original(), event, declared)
    emit = only_emit(step)
    assert emit.topic == REQUESTS_TOPIC and emit.envelope is event
    assert step.state.balance is not None
    assert step.state.balance.items[0].remaining == 10000
    assert Original.from_json(step.state.to_json()) == step.state


def test_an_overdraw_is_a_refusal_event_with_the_figures_and_the_balance_unchanged() -> None:
    """RCEP Art. 3.19.1(d): partial shipments may not exceed the original's quantity."""
    first = decide(Original(), movement("20000", "b2b-1"), declared).state
    event = movement("15000", "b2b-2")
    step = decide(first, event, declared)
    assert step.state == first
    emit = only_emit(step)
    refused = emit.envelope
    assert refused.type == REFUSED and refused.subject == "b2b-2" and emit.topic is None
    assert refused.data["cause"] == "OVERDRAW"
    assert refused.data["original_certificate"] == ORIGINAL
    assert refused.data["items"] == [{
        "original_item_no": 1, "item_nos": [1], "unit": "KGM", "asked": "15000",
        "remaining": "10000", "original": "30000", "drawn_before": "20000"}]
    assert (f"overdraw of {ORIGINAL} item 1: 15000 KGM asked, 10000 KGM left of 30000 "
            "(20000 drawn before)") in refused.data["reason"]
    # It encodes with its published schema, and a replay refuses with the same event.
    assert from_record(*to_record(refused)).data["items"][0]["asked"] == "15000"
    assert only_emit(decide(first, event, declared)).envelope.id == refused.id
    # What is left still issues.
    assert only_emit(decide(first, movement("10000", "b2b-3"), declared)).topic == REQUESTS_TOPIC


def test_the_refusal_is_the_final_state_issuance_refused_with_the_figures() -> None:
    first = decide(Original(), movement("20000", "b2b-1"), declared).state
    verified = movement("15000", "b2b-2")
    refused = only_emit(decide(first, verified, declared)).envelope
    status = status_decide(None, verified).state
    assert status is not None and status.state is State.VERIFIED
    after = status_decide(status, refused).state
    assert after is not None and after.state is State.ISSUANCE_REFUSED
    assert State.ISSUANCE_REFUSED in SETTLED
    assert any("15000 KGM asked, 10000 KGM left of 30000" in r for r in after.reasons)
    assert status_decide(after, refused).state is after  # recorded once
    shown = render(after.to_json())  # what `eco status` prints
    assert shown.startswith("b2b-2: ISSUANCE_REFUSED")
    assert "reason: overdraw of E260000000010001 item 1: 15000 KGM asked" in shown
    # Arriving before the verification it answers, it still ends there.
    early = status_decide(None, refused).state
    assert early is not None and early.state is State.ISSUANCE_REFUSED
    late = status_decide(early, verified).state
    assert late is not None and late.state is State.ISSUANCE_REFUSED


def test_a_draw_on_a_revoked_original_is_refused_with_the_reason() -> None:
    """RCEP Art. 3.19.1(a): a back-to-back proof needs a valid original proof of origin."""
    revoked = notice("eco.certificate.revoked.v1")
    forwarded = only_emit(notices("", revoked))
    assert forwarded.topic == DRAWDOWN_TOPIC and forwarded.key == ORIGINAL
    assert drawdown_key(revoked) == ORIGINAL
    state = decide(Original(), revoked, declared).state
    assert state.standing is not None and state.standing.state == "REVOKED"
    refused = only_emit(decide(state, movement("100", "b2b-4"), declared)).envelope
    assert refused.data["cause"] == "ORIGINAL_REVOKED"
    assert f"original certificate {ORIGINAL} (version 1) was revoked (issued in error)" in (
        refused.data["reason"])
    assert "RCEP Art. 3.19.1(a)" in refused.data["reason"]


def test_a_draw_on_a_superseded_original_is_refused_and_names_the_current_version() -> None:
    superseded = notice("eco.certificate.superseded.v1", superseded_by_number="E260000000010002",
                        superseded_by_version=2)
    drawn = decide(Original(), movement("20000", "b2b-1"), declared).state
    step = decide(drawn, superseded, declared)
    state = step.state
    assert state.balance == drawn.balance
    refused = only_emit(decide(state, movement("100", "b2b-5"), declared)).envelope
    assert refused.data["cause"] == "ORIGINAL_SUPERSEDED"
    assert "apply against the current version E260000000010002" in refused.data["reason"]
    # A draw made while the original was valid, replayed, goes on as before.
    replayed = decide(state, movement("20000", "b2b-1"), declared)
    assert only_emit(replayed).topic == REQUESTS_TOPIC and replayed.state == state


def test_a_certified_true_copy_keeps_the_original_valid_and_is_not_forwarded() -> None:
    copy_of = notice("eco.certificate.superseded.v1", superseded_by_number=ORIGINAL,
                     superseded_by_version=2)
    assert notices("", copy_of).outputs == ()
    assert decide(Original(), copy_of, declared).state == Original()


@pytest.mark.parametrize("stored", [None, {}])
def test_an_empty_state_reads_as_a_fresh_original(stored: dict[str, Any] | None) -> None:
    assert Original.from_json(stored) == Original() and Original().to_json() is None


def test_a_balance_written_by_earlier_versions_is_read() -> None:
    drawn = decide(Original(), movement("20000", "b2b-1"), declared).state
    assert drawn.balance is not None
    legacy = json.loads(json.dumps(drawn.balance.to_json()))
    assert Original.from_json(legacy) == replace(drawn, standing=None)


CURRENT = "E260000000010002"


def test_the_draws_on_a_superseded_version_count_against_the_current_one() -> None:
    """RCEP Art. 3.19.1(d): the draws made on the corrected version's predecessor are carried
    over, so the shipments together still do not exceed the original."""
    superseded = notice("eco.certificate.superseded.v1", superseded_by_number=CURRENT,
                        superseded_by_version=2)
    assert only_emit(notices("", superseded)).key == ORIGINAL
    drawn = decide(Original(), movement("20000", "b2b-1"), declared).state
    carry = only_emit(decide(drawn, superseded, declared))
    assert carry.topic == DRAWDOWN_TOPIC and carry.key == CURRENT
    assert carry.envelope.type == ADJUSTED and carry.envelope.data["action"] == "CARRY_OVER"
    assert from_record(*to_record(carry.envelope)).data["draws"] == [
        {"application_id": "b2b-1", "quantities": [{"original_item_no": 1,
                                                    "quantity": "20000"}]}]
    # At the current version, before anyone drew on it: kept until its balance opens.
    assert drawdown_key(carry.envelope) == CURRENT
    pending = decide(Original(), carry.envelope, declared).state
    assert [d.application_id for d in pending.pending] == ["b2b-1"]
    assert decide(pending, carry.envelope, declared).state == pending  # carried once
    at_current = movement_on(CURRENT, "15000", "b2b-6")
    refused = only_emit(decide(pending, at_current, declared)).envelope
    assert refused.data["cause"] == "OVERDRAW" and refused.data["items"][0]["drawn_before"] == (
        "20000")
    fits = decide(pending, movement_on(CURRENT, "10000", "b2b-7"), declared)
    assert only_emit(fits).topic == REQUESTS_TOPIC
    assert fits.state.balance is not None and fits.state.balance.items[0].remaining == 0
    assert fits.state.pending == ()


def test_a_revoked_back_to_back_certificate_gives_its_draw_back() -> None:
    drawn = decide(Original(), movement("20000", "b2b-1"), declared).state
    issued_xml = ('<Certificate xmlns="urn:eco-pipeline:certificate:1"><Indicators>'
                  '<BackToBack ticked="true"><OriginalCertificate>'
                  f'{ORIGINAL}</OriginalCertificate></BackToBack></Indicators></Certificate>')
    issued = new_envelope("eco.certificate.issued.v1", {
        "application_id": "b2b-1", "certificate_number": "E260000000020001", "version": 1,
        "issuing_office": "CN-SHA", "agreement": "ACFTA", "importing_country": "TH",
        "tenant": "t", "issued_at": AT, "document_xml": issued_xml, "document_sha256": "0" * 64,
        "signed": True, "supersedes": None}, source="eco/issuance", subject="b2b-1")
    remembered = notices("", issued)
    assert remembered.state == ORIGINAL and remembered.outputs == ()
    revoked = new_envelope("eco.certificate.revoked.v1", {
        "application_id": "b2b-1", "certificate_number": "E260000000020001", "version": 1,
        "reason": "goods not shipped", "approved_by": "officer-1", "occurred_at": AT},
        source="eco/issuance", subject="b2b-1")
    own, give_back = notices(ORIGINAL, revoked).outputs
    assert isinstance(own, Emit) and own.key == "E260000000020001"
    assert isinstance(give_back, Emit) and give_back.key == ORIGINAL
    assert give_back.envelope.data["action"] == "GIVE_BACK"
    back = decide(drawn, give_back.envelope, declared).state
    assert back.balance is not None and back.balance.items[0].remaining == 30000
    assert decide(back, give_back.envelope, declared).state == back  # given back once
    # Its verification replayed does not draw again.
    again = decide(back, movement("20000", "b2b-1"), declared)
    assert again.state == back and only_emit(again).topic == REQUESTS_TOPIC
    assert Original.from_json(back.to_json()) == back


def movement_on(number: str, kilograms: str, app_id: str) -> Envelope:
    event = movement(kilograms, app_id)
    document = json.loads(event.data["document"])
    document["back_to_back"]["original_certificate"] = number
    return replace(event, data={**event.data, "document": json.dumps(document)})
