"""``eco check`` explains each rule of the second pass in its reasons: minimal operations
(RCEP Art. 3.6), packing and accessories (Arts. 3.8-3.9), the ACFTA cumulation condition
(Rule 5), process rules and the back-to-back draw."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from origin_documents import build_document, material

from pipeline.cli import main


def _run(tmp_path: Path, document: dict[str, Any], capsys: pytest.CaptureFixture[str],
         *extra: str) -> str:
    path = tmp_path / "application.json"
    path.write_text(json.dumps(document))
    main(["check", str(path), "--date", "2026-05-20", *extra])
    return capsys.readouterr().out


def test_the_report_names_minimal_operations_and_packing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = build_document(
        [material("850440", "1000", "TW"),
         material("481910", "200", "TW", description="gift box", role="packing-retail")],
        {"processes": ["Re-packing", "labelling"]},
    )
    out = _run(tmp_path, document, capsys)
    assert "minimal operations only (RCEP Art. 3.6): 'Re-packing' is packaging" in out
    assert "gift box): retail packing, disregarded for the tariff shift" in out


def test_the_report_shows_the_cumulation_condition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = build_document(
        [material("851680", "1500.00", "MY", originating=True), material("392690", "4000", "TW")],
        {"hs_code": "851671"}, agreement="ACFTA",
    )
    document["importer"]["country"] = "TH"
    out = _run(tmp_path, document, capsys)
    assert "cumulation  ACFTA Rule 5 condition (40 %) met, ACFTA content 60.00 %" in out
    as_json = json.loads(_run(tmp_path, document, capsys, "--json"))
    assert as_json["items"][0]["cumulation"] == {
        "needed": True, "met": True, "content_percent": "60.00"
    }
