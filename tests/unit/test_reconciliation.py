"""The reconciliation ledger: what awaits a decision, learnt from the topics' events alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.reconciliation import (
    CLARIFIED,
    DELIVERED,
    RESPONDED,
    CertificateKey,
    Ledger,
    due,
    fold,
    fold_all,
)

T0 = datetime(2026, 5, 20, 8, 0, tzinfo=UTC)
KEY = CertificateKey("VN", "E260001", 1)


def delivered(number: str = "E260001", version: int = 1, at: float = 0.0) -> dict[str, Any]:
    return {"certificate_number": number, "version": version, "importing_country": "vn",
            "delivered_at": datetime.fromtimestamp(T0.timestamp() + at, UTC)}


def responded(status: str, number: str = "E260001", version: int = 1) -> dict[str, Any]:
    return {"certificate_number": number, "version": version, "importing_country": "VN",
            "status": status}


def test_a_delivered_version_awaits_until_a_decision_arrives() -> None:
    ledger = fold(Ledger(), "d1", DELIVERED, "app-1", delivered(), T0)
    assert ledger.entries[KEY].awaiting
    acked = fold(ledger, "r0", RESPONDED, "app-1", responded("ACKNOWLEDGED"), T0)
    assert acked.entries[KEY].awaiting, "a receipt is not a decision"
    decided = fold(acked, "r1", RESPONDED, "app-1", responded("PREFERENCE_GIVEN"), T0)
    assert not decided.entries[KEY].awaiting


def test_a_redelivered_event_counts_once() -> None:
    ledger = fold_all(Ledger(), [
        ("d1", DELIVERED, "app-1", delivered(), T0),
        ("d1", DELIVERED, "app-1", delivered(), T0),
        ("r1", RESPONDED, "app-1", responded("PREFERENCE_NOT_GIVEN"), T0),
        ("r1", RESPONDED, "app-1", responded("PREFERENCE_NOT_GIVEN"), T0),
    ])
    assert (ledger.entries[KEY].opened, ledger.entries[KEY].decided) == (1, 1)


def test_order_across_topics_does_not_matter() -> None:
    """A decision read before its delivery (another topic, another partition) still closes it."""
    ledger = fold_all(Ledger(), [
        ("r1", RESPONDED, "app-1", responded("PREFERENCE_GIVEN"), T0),
        ("d1", DELIVERED, "app-1", delivered(), T0),
    ])
    assert not ledger.entries[KEY].awaiting


def test_a_clarification_opens_a_second_round() -> None:
    clarified = {"certificate_number": "E260001", "version": 1, "importing_country": "VN"}
    later = datetime.fromtimestamp(T0.timestamp() + 100, UTC)
    ledger = fold_all(Ledger(), [
        ("d1", DELIVERED, "app-1", delivered(), T0),
        ("r1", RESPONDED, "app-1", responded("PREFERENCE_NOT_GIVEN"), T0),
        ("c1", CLARIFIED, "app-1", clarified, later),
    ])
    entry = ledger.entries[KEY]
    assert entry.awaiting and entry.waiting_since == later.timestamp()


def test_a_superseding_version_awaits_on_its_own() -> None:
    ledger = fold_all(Ledger(), [
        ("d1", DELIVERED, "app-1", delivered(), T0),
        ("r1", RESPONDED, "app-1", responded("PREFERENCE_GIVEN"), T0),
        ("d2", DELIVERED, "app-1", delivered(version=2, at=50), T0),
    ])
    assert not ledger.entries[KEY].awaiting
    assert ledger.entries[CertificateKey("VN", "E260001", 2)].awaiting


def test_due_is_bounded_oldest_first_and_not_asked_again_too_soon() -> None:
    ledger = fold_all(Ledger(), [
        (f"d{i}", DELIVERED, f"app-{i}", delivered(f"E26000{i}", at=float(i)), T0)
        for i in range(1, 6)
    ])
    now = T0.timestamp() + 65
    first = due(ledger, now, 60, {}, limit=3)
    assert [e.key.certificate_number for e in first] == ["E260001", "E260002", "E260003"]
    assert [e.key.certificate_number for e in due(ledger, now, 62, {}, 10)] == [
        "E260001", "E260002", "E260003"], "delivered 63 s ago or less is not due yet"
    asked = {e.key: now for e in first}
    assert [e.key.certificate_number for e in due(ledger, now + 1, 60, asked, 10)] == [
        "E260004", "E260005"]
    assert len(due(ledger, now + 61, 60, asked, 10)) == 5, "asked again after the interval"


def test_a_technical_rejection_ends_the_wait() -> None:
    ledger = fold_all(Ledger(), [
        ("d1", DELIVERED, "app-1", delivered(), T0),
        ("r1", RESPONDED, "app-1", responded("TECH_REJECTED"), T0),
    ])
    assert not ledger.entries[KEY].awaiting


def test_folding_updates_the_ledger_in_place_and_copies_nothing() -> None:
    """Following the topics from their start folds every event of the history: each fold
    must not copy the ledger (that made the receiver's work grow with the history)."""
    ledger = Ledger()
    entries, seen = ledger.entries, ledger.seen
    for n in range(3):
        number = f"E26000{n}"
        assert fold(ledger, f"d{n}", DELIVERED, f"app-{n}", delivered(number=number),
                    T0) is ledger
        assert fold(ledger, f"r{n}", RESPONDED, f"app-{n}",
                    responded("PREFERENCE_GIVEN", number=number), T0) is ledger
    assert ledger.entries is entries and ledger.seen is seen
    assert len(ledger.entries) == 3 and not any(e.awaiting for e in ledger.entries.values())
