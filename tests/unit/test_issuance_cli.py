"""``eco certificate``: the officer's request event, and bad usage refused before any broker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import events
from pipeline.cli import EXIT_BAD_INPUT, main
from pipeline.cli.certificate import request_envelope

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "04-acfta-frozen-fish-vn.json"


def test_the_request_event_round_trips_with_the_approval() -> None:
    envelope = request_envelope("demo-04", "REVOKE", "E263502000010001",
                                reason="issued in error", approved_by="officer-17")
    key, value, headers = events.to_record(envelope)
    decoded = events.from_record(key, value, headers)
    assert decoded.type == "eco.certificate.requested.v1"
    assert events.TOPIC_OF[decoded.type] == "eco.issuance-commands"
    assert decoded.data["approved_by"] == "officer-17" and decoded.data["action"] == "REVOKE"
    assert decoded.data["document"] is None and decoded.subject == "demo-04"


def test_an_empty_approval_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["certificate", "revoke", "demo-04", "--approved-by", " ", "--reason", "x",
                 "--number", "E263502000010001"])
    assert code == EXIT_BAD_INPUT
    assert "--approved-by" in capsys.readouterr().err


def test_a_correction_for_another_application_is_bad_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(SAMPLE.read_text())
    document["application_id"] = "someone-else"
    path = tmp_path / "corrected.json"
    path.write_text(json.dumps(document))
    code = main(["certificate", "supersede", "demo-04", "--approved-by", "officer-17",
                 "--reason", "address", "--document", str(path), "--number", "E2635"])
    assert code == EXIT_BAD_INPUT
    assert f"{path}: application_id" in capsys.readouterr().err


def test_supersede_requires_the_corrected_document() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["certificate", "supersede", "demo-04", "--approved-by", "o", "--reason", "r"])
    assert exited.value.code == 2
