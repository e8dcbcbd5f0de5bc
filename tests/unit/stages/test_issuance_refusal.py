"""A registrant whose serials of the year are used up (China's Form E numbering, 4-digit
serial; Form E Rule 8(c)) gets ``eco.certificate.refused.v1``, a final state of the
application, not a dead letter; no number is taken and the next registrant still issues."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.certificate.trust import TrustRegistry
from pipeline.issuing import CertificateFactory
from pipeline.offices import load_offices
from pipeline.stages import Emit
from pipeline.stages.issuance import ISSUED, Issuer, Ledger, issue
from pipeline.stages.refusal import REFUSED
from pipeline.stages.serials import SerialBlock
from pipeline.stages.status import decide as status_decide
from pipeline.states import State
from tests.unit.stages.test_issuance_stage import verified


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    home: Path = tmp_path_factory.mktemp("issuing")
    factory = CertificateFactory.development(load_offices(), home / "pki", home / "documents")
    return Issuer(factory, TrustRegistry.from_dir(home / "pki" / "trust"))


def test_the_10000th_certificate_of_a_registrant_is_refused_with_its_reason(
        issuer: Issuer) -> None:
    event = verified("04-acfta-frozen-fish-vn.json")
    full = SerialBlock(last=9999)
    step = issue(Ledger(None, full), event, issuer)
    assert step.state == Ledger(None, full) and step.dead_letter is None
    [output] = step.outputs
    assert isinstance(output, Emit)
    refused = output.envelope
    assert refused.type == REFUSED and refused.data["cause"] == "SERIALS_EXHAUSTED"
    assert refused.data["sequence_key"].startswith("ACFTA:")
    assert "used all 9,999 serials" in refused.data["reason"]
    assert [n.event for n in step.notes] == ["issuance_refused"]
    # The same event again refuses with the same event id; the status records it once.
    assert issue(Ledger(None, full), event, issuer).outputs == step.outputs
    status = status_decide(status_decide(None, event).state, refused).state
    assert status is not None and status.state is State.ISSUANCE_REFUSED
    assert status.certificate_number is None


def test_a_registrant_with_serials_left_still_issues(issuer: Issuer) -> None:
    step = issue(Ledger(None, SerialBlock(last=9998)), verified("02-acfta-kettles-th.json"),
                 issuer)
    [output] = step.outputs
    assert isinstance(output, Emit) and output.envelope.type == ISSUED
    assert step.state.record is not None
    assert step.state.record["certificate_number"].endswith("9999")
