"""The verification transition: the verdict as of the submission day, the same outputs for a
redelivered event, and an application waiting for documents kept until they arrive."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from pipeline.errors import InvalidApplication
from pipeline.events import new_envelope
from pipeline.origin import default_rulebook
from pipeline.origin.evidence import default_evidence
from pipeline.stages import Emit
from pipeline.stages.verification import COMPLETED, Examiner, Registers, decide
from tests.unit.stages.conftest import NOW, submitted

EXAMINER = Examiner(default_rulebook(), default_evidence())
EMPTY = Registers({}, {})


def verdict(outputs: tuple[object, ...]) -> str:
    [completed] = [o for o in outputs if isinstance(o, Emit) and o.envelope.type == COMPLETED]
    assert isinstance(completed, Emit)
    return str(completed.envelope.data["verdict"])


def test_a_qualifying_sample_is_examined_and_nothing_is_kept() -> None:
    step = decide(None, submitted("04-acfta-frozen-fish-vn.json"), NOW, EXAMINER, EMPTY)
    assert verdict(step.outputs) == "QUALIFIED"
    assert step.state is None
    [note] = [n for n in step.notes if n.event == "application_examined"]
    assert note.fields["examined_as_of"] == "2026-05-20"


def test_the_examination_day_is_the_submission_day_not_the_day_of_processing() -> None:
    event = submitted("04-acfta-frozen-fish-vn.json", at=datetime(2026, 5, 21, 23, 59, tzinfo=UTC))
    days = set()
    for now in (datetime(2026, 5, 22, 0, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)):
        step = decide(None, event, now, EXAMINER, EMPTY)
        days |= {n.fields["examined_as_of"] for n in step.notes if "examined_as_of" in n.fields}
    assert days == {"2026-05-21"}
    configured = Examiner(EXAMINER.rulebook, EXAMINER.evidence, date(2026, 5, 1))
    step = decide(None, event, NOW, configured, EMPTY)
    assert {n.fields.get("examined_as_of") for n in step.notes} >= {"2026-05-01"}


def test_a_redelivered_submission_gives_the_same_outputs() -> None:
    event = submitted("06-rcep-lamp-kits-not-qualified.json")
    first = decide(None, event, NOW, EXAMINER, EMPTY)
    again = decide(first.state, event, datetime(2026, 5, 20, 23, 0, tzinfo=UTC), EXAMINER, EMPTY)
    assert [o.envelope.id for o in first.outputs if isinstance(o, Emit)] == [
        o.envelope.id for o in again.outputs if isinstance(o, Emit)]
    assert verdict(first.outputs) == verdict(again.outputs) == "NOT_QUALIFIED"


def test_documents_for_an_application_that_waits_for_none_change_nothing() -> None:
    supplied = new_envelope("eco.application.documents-supplied.v1", {
        "application_id": "app-1", "documents": [{"kind": "INVOICE", "reference": "X"}],
        "supplied_via": "CLI", "supplied_at": NOW}, source="eco/cli", subject="app-1")
    step = decide(None, supplied, NOW, EXAMINER, EMPTY)
    assert step.state is None and step.outputs == ()
    assert [n.event for n in step.notes] == ["documents_not_awaited"]


def test_a_document_that_is_not_json_is_refused_with_where() -> None:
    event = submitted("04-acfta-frozen-fish-vn.json")
    broken = replace(event, data={**event.data, "document": "{not json"})
    with pytest.raises(InvalidApplication, match="document: not JSON"):
        decide(None, broken, NOW, EXAMINER, EMPTY)
