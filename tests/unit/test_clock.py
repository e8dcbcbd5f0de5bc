"""One clock for a certificate; the year boundary; the superseding version's deadline."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.application import parse_application
from pipeline.certificate.numbering import SerialAllocation
from pipeline.certificate.trust import TrustRegistry, TrustUpdate
from pipeline.clock import (
    SAMPLES_DAY,
    examination_day,
    examination_moment,
    issue_moment,
    moved_to,
    shift_dates,
)
from pipeline.errors import SignatureInvalid
from pipeline.events import new_envelope
from pipeline.issuing import CertificateFactory
from pipeline.offices import load_offices
from pipeline.origin import RuleBook, default_rulebook, examine
from pipeline.origin.evidence import default_evidence
from pipeline.settings import Settings
from pipeline.stages import Emit
from pipeline.stages.issuance import Issuer, Ledger, issue
from pipeline.stages.serials import SerialBlock
from pipeline.stages.verification import COMPLETED, Examiner, Registers, decide
from tests.unit.stages.conftest import submitted

SAMPLES = Path(__file__).resolve().parents[2] / "samples"

LATE = datetime(2026, 12, 31, 23, 59, 58, 700000, tzinfo=UTC)


def test_the_examination_day_comes_from_the_event_or_the_setting() -> None:
    assert examination_day(None, LATE) == date(2026, 12, 31)
    assert examination_day(date(2026, 5, 20), LATE) == date(2026, 5, 20)


def test_a_certificate_is_dated_by_its_examination_event() -> None:
    dated = issue_moment(datetime(2026, 12, 1, 16, 30, 5, 123, tzinfo=UTC).astimezone())
    assert dated == datetime(2026, 12, 1, 16, 30, 5, tzinfo=UTC)


def test_samples_move_with_today_so_departure_and_issue_agree() -> None:
    """Written for 2026-05-20 (departure on 05-10), examined on 2026-12-01: the departure
    moves to 11-21, ten days before the examination as before, and is not retroactive by
    accident."""
    sample = {"transport": {"departure_date": "2026-05-10", "vessel": "2026-05-10 X"},
              "invoices": [{"number": "INV-2026-0042", "date": "2026-04-30"}], "n": 3}
    days = (date(2026, 12, 1) - SAMPLES_DAY).days
    moved = shift_dates(sample, days)
    assert moved == {"transport": {"departure_date": "2026-11-21", "vessel": "2026-05-10 X"},
                     "invoices": [{"number": "INV-2026-0042", "date": "2026-11-11"}], "n": 3}
    assert sample["transport"]["departure_date"] == "2026-05-10"  # type: ignore[index]


def test_a_replay_across_new_year_keeps_the_year_and_the_serial() -> None:
    """Examined on 31 December, the worker crashed after allocating serial 7 of 2026, the
    replay runs on 1 January: same issue moment, so the same sequence (office:2026) and the
    same serial, and 2026 has no gap."""
    first = issue_moment(LATE)
    replayed = issue_moment(LATE)  # the same event, read again in 2027
    assert first == replayed and first.year == 2026
    allocated = SerialAllocation(6, "app-6", "app-6").next_for("app-7", "app-7", recorded=True)
    again = allocated.next_for("app-7", "app-7", recorded=False)
    assert (allocated.serial, again.serial) == (7, 7)


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_a_sample_moved_to_today_is_examined_as_it_was_on_its_own_day(sample: str) -> None:
    """What the demo relies on: the same verdict, reasons and retroactive note today."""
    document = json.loads((SAMPLES / sample).read_text(encoding="utf-8"))
    today = date(2026, 12, 1)
    moved = shift_dates(document, (today - SAMPLES_DAY).days)
    rules = RuleBook.load([SAMPLES / "psr-demo.csv"])
    then = examine(parse_application(document, sample), rules, SAMPLES_DAY).to_json()
    now = examine(parse_application(moved, sample), rules, today).to_json()
    days = (today - SAMPLES_DAY).days
    then_moved = re.sub(r"\d{4}-\d{2}-\d{2}",
                        lambda m: shift_dates(m.group(0), days), json.dumps(then))
    assert json.dumps(now) == then_moved


@pytest.mark.parametrize("configured", [None, date(2026, 5, 20), date(2027, 1, 1)])
@pytest.mark.parametrize("at", [LATE, datetime(2026, 12, 1, 0, 0, 0, 1, tzinfo=UTC),
                                datetime(2026, 12, 1, 8, 0, tzinfo=UTC).astimezone()])
def test_one_clock_the_issue_date_is_the_examination_day(configured: date | None,
                                                         at: datetime) -> None:
    """Whatever the setting and the time of the event: the certificate dated by the moment
    the examination carries falls on the day it was examined against."""
    moment = examination_moment(configured, at)
    assert examination_day(configured, at) == moment.date() == issue_moment(moment).date()
    assert moment.utcoffset() == timedelta(0) and moment.microsecond == 0
    assert moment.time() == at.astimezone(UTC).time().replace(microsecond=0)  # time of day kept
    assert moment.date() == (configured or at.astimezone(UTC).date())


def _issuer(home: Path, trust: TrustRegistry | None = None,
            signing_at: datetime | None = None) -> Issuer:
    factory = CertificateFactory.development(load_offices(), home / "pki", home / "documents")
    registry = trust or TrustRegistry.from_dir(home / "pki" / "trust")
    return Issuer(factory, registry, signing_at=signing_at)


def _completed(step_outputs: tuple[object, ...]) -> Emit:
    [completed] = [o for o in step_outputs
                   if isinstance(o, Emit) and o.envelope.type == COMPLETED]
    assert isinstance(completed, Emit)
    return completed


@pytest.mark.parametrize("configured", [None, date(2026, 5, 25)])
def test_the_verification_event_carries_the_examination_moment(configured: date | None,
                                                                tmp_path: Path) -> None:
    """The issuer dates the certificate by the verification event's time: that time is the
    examination's moment (not the clock when the stage ran), so the two agree on the day and
    a replay on another day publishes the same event, time included."""
    examiner = Examiner(default_rulebook(), default_evidence(), configured)
    submitted_at = datetime(2026, 5, 21, 23, 59, 59, 900000, tzinfo=UTC)
    event = submitted("04-acfta-frozen-fish-vn.json", at=submitted_at)
    runs = [decide(None, event, now, examiner, Registers({}, {}))
            for now in (datetime(2026, 5, 22, 0, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))]
    first, replayed = (_completed(step.outputs).envelope for step in runs)
    assert first == replayed
    [note] = [n for n in runs[0].notes if n.event == "application_examined"]
    certificate = issue(Ledger(None, SerialBlock()), first, _issuer(tmp_path)).state.record
    assert certificate is not None
    issued_on = datetime.fromisoformat(certificate["issued_at"]).date()
    assert issued_on.isoformat() == note.fields["examined_as_of"]
    assert issued_on == (configured or date(2026, 5, 21))
    assert first.data["completed_at"] == examination_moment(configured, submitted_at)
    assert first.time == event.time  # never before its trigger: the status follows times


def test_documents_supplied_later_move_the_examination_to_their_day() -> None:
    """An application that waited for documents is examined, and dated, when they arrive."""
    examiner = Examiner(default_rulebook(), default_evidence())
    event = submitted("04-acfta-frozen-fish-vn.json")
    waiting = {"document": event.data["document"], "agreement": event.data["agreement"],
               "submitted_id": event.id, "submitted_at": event.data["submitted_at"].isoformat(),
               "supplied": []}
    later = datetime(2026, 5, 27, 10, 0, tzinfo=UTC)
    supplied = new_envelope("eco.application.documents-supplied.v1", {
        "application_id": event.subject, "documents": [{"kind": "INVOICE", "reference": "X"}],
        "supplied_via": "CLI", "supplied_at": later}, source="eco/cli", subject=event.subject)
    step = decide(waiting, replace(supplied, time=later + timedelta(hours=1)),
                  datetime(2026, 6, 1, tzinfo=UTC), examiner, Registers({}, {}))
    completed = _completed(step.outputs).envelope
    assert completed.data["completed_at"] == later
    assert completed.time == later + timedelta(hours=1)  # the supply event's own time
    [note] = [n for n in step.notes if n.event == "application_examined"]
    assert note.fields["examined_as_of"] == "2026-05-27"


@pytest.mark.parametrize(("days", "retroactive"), [(0, False), (3, False), (4, True),
                                                   (10, True)])
def test_issued_retroactively_exactly_as_the_rules_say(days: int, retroactive: bool) -> None:
    """DOMAIN.md: a certificate issued more than three days after the shipment is marked
    issued retroactively; within three days it is not."""
    document = json.loads((SAMPLES / "04-acfta-frozen-fish-vn.json").read_text())
    today = date(2026, 12, 1)
    moved = moved_to(document, today)
    moved["transport"]["departure_date"] = (today - timedelta(days=days)).isoformat()
    exam = examine(parse_application(moved, "04"), default_rulebook(), today)
    assert exam.issued_retroactively is retroactive


def test_a_configured_examination_date_needs_development_keys() -> None:
    """It dates certificates on that day whatever day they are signed."""
    with pytest.raises(ValueError, match="only with development keys"):
        Settings.from_env({"ECO_EXAMINATION_DATE": "2026-05-20"})
    settings = Settings.from_env({"ECO_EXAMINATION_DATE": "2026-05-20", "ECO_DEV_PKI": "true"})
    assert settings.examination_day() == date(2026, 5, 20)


def test_a_withdrawal_refuses_what_is_signed_after_it_whatever_its_date(
        tmp_path: Path) -> None:
    """An application submitted before a withdrawal but signed after it (a backlog) is dated
    before it by the one clock; the issuer refuses it all the same (Form E Rule 3)."""
    _issuer(tmp_path)  # the development keys and trust files
    trust_dir = tmp_path / "pki" / "trust"
    withdrawn_at = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    trust = TrustRegistry.from_dir(trust_dir).apply_update(TrustUpdate(
        "withdraw", (trust_dir / "ca.pem").read_bytes(), effective_at=withdrawn_at))
    examiner = Examiner(default_rulebook(), default_evidence())
    event = submitted("04-acfta-frozen-fish-vn.json", at=withdrawn_at - timedelta(seconds=10))
    completed = _completed(decide(None, event, withdrawn_at, examiner, Registers({}, {}))
                           .outputs).envelope
    before = _issuer(tmp_path, trust, signing_at=withdrawn_at - timedelta(seconds=5))
    assert issue(Ledger(None, SerialBlock()), completed, before).state.record is not None
    after = _issuer(tmp_path, trust, signing_at=withdrawn_at + timedelta(seconds=5))
    with pytest.raises(SignatureInvalid, match="not in force"):
        issue(Ledger(None, SerialBlock()), completed, after)


@pytest.mark.parametrize("configured", [None, date(2026, 5, 1)])
@pytest.mark.parametrize(("sample", "state"), [
    ("06-rcep-lamp-kits-not-qualified.json", "NOT_QUALIFIED"),
    ("07-acfta-incomplete.json", "INCOMPLETE")])
def test_a_verdict_moves_the_status_whatever_the_examination_day(
        configured: date | None, sample: str, state: str) -> None:
    """The verification event is never dated before its submission (the status ignores an
    event older than its current state), whatever day the examination is made as of."""
    from pipeline.stages import status

    at = datetime(2026, 5, 20, 9, 30, 0, 500000, tzinfo=UTC)
    event = replace(submitted(sample, at=at), time=at + timedelta(milliseconds=3))  # as sent
    examiner = Examiner(default_rulebook(), default_evidence(), configured)
    completed = _completed(decide(None, event, LATE, examiner, Registers({}, {})).outputs)
    opened = status.decide(None, event).state
    assert status.decide(opened, completed.envelope).state.state.value == state
