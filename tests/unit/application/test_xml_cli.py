"""``eco check`` and ``eco submit`` take the XML form of an application like its JSON form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.application.xml import application_to_xml
from pipeline.cli import main

SAMPLES = Path(__file__).resolve().parents[3] / "samples"
DATE = ["--date", "2026-05-20"]


def _xml(tmp_path: Path, name: str) -> Path:
    sample = next(SAMPLES.glob(f"{name}-*.json"))
    path = tmp_path / sample.with_suffix(".xml").name
    path.write_bytes(application_to_xml(json.loads(sample.read_text())))
    return path


@pytest.mark.parametrize(("name", "code"), [("01", 0), ("06", 1)])
def test_eco_check_of_an_xml_file_gives_the_verdict_of_its_json(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, code: int) -> None:
    sample = str(next(SAMPLES.glob(f"{name}-*.json")))
    assert main(["check", sample, *DATE, "--json"]) == code
    from_json = json.loads(capsys.readouterr().out)
    assert main(["check", str(_xml(tmp_path, name)), *DATE, "--json"]) == code
    assert json.loads(capsys.readouterr().out) == from_json


def test_eco_check_and_submit_name_the_element_of_a_bad_xml_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _xml(tmp_path, "01")
    path.write_bytes(path.read_bytes().replace(b"<hs_code>940542", b"<hs_code>94x", 1))
    assert main(["check", str(path), *DATE]) == 2
    assert f"{path.name}: items[0].hs_code" in capsys.readouterr().err
    # Refused before anything is sent: no broker is needed to see the error.
    assert main(["submit", str(path)]) == 2
    assert f"{path}: items[0].hs_code" in capsys.readouterr().err
