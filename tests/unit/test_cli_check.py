"""``eco check``: exit codes, the human report and the JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
DATE = ["--date", "2026-05-20"]


def sample(name: str) -> str:
    return str(next(SAMPLES.glob(f"{name}-*.json")))


def test_qualified_sample_exits_0_with_the_arithmetic(capsys):
    assert main(["check", sample("01"), *DATE]) == 0
    out = capsys.readouterr().out
    assert "verdict: QUALIFIED" in out
    assert "criterion  CTH  box: CTC" in out
    assert "RVC (build-down) = (24000.00 - 4500.00) / 24000.00 x 100 = 81.25 %" in out
    assert "850440 (LED driver) -> 940542: changes heading" in out


def test_not_qualified_sample_exits_1_and_shows_de_minimis_share(capsys):
    assert main(["check", sample("06"), *DATE]) == 1
    out = capsys.readouterr().out
    assert "verdict: NOT_QUALIFIED" in out
    assert "9000.00 = 75.00 % of the FOB value" in out
    assert "RVC 16.67 % < 40 %" in out


def test_json_output(capsys):
    assert main(["check", sample("02"), *DATE, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == "QUALIFIED"
    assert result["items"][0]["rvc_percent"] == "55.00"
    assert result["items"][0]["box"] == "55%"


def test_incomplete_sample_exits_1_with_the_error_path(capsys):
    assert main(["check", sample("07"), *DATE, "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == "INCOMPLETE"
    assert [e["path"] for e in result["errors"]] == ["items[0].materials[0].value"]


def test_extra_rules_take_precedence(tmp_path: Path, capsys):
    rules = tmp_path / "rules.csv"
    rules.write_text("agreement,hs,rule\nRCEP,94,RVC90\n")
    assert main(["check", sample("01"), *DATE, "--rules", str(rules), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["items"][0]["rule"] == "RVC90"


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "app.json"
    path.write_text(text)
    return str(path)


def bad_sample(tmp_path: Path, edit) -> str:
    doc = json.loads(Path(sample("01")).read_text())
    edit(doc)
    return write(tmp_path, json.dumps(doc))


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: d["items"][0].update(hs_code="999999"), "items[0].hs_code"),
        (lambda d: d["items"][0]["materials"][0].update(value="-3"), "materials[0].value"),
        (lambda d: d["items"][0]["materials"][0].update(value="three"), "not a number"),
        (lambda d: d["items"][0]["fob"].update(amount="0"), "items[0].fob.amount"),
        (
            lambda d: d["items"].append(
                dict(d["items"][0], item_no=2, fob={"amount": "1", "currency": "EUR"})
            ),
            "items[1].fob.currency",
        ),
    ],
)
def test_bad_documents_exit_2_naming_file_and_path(tmp_path: Path, capsys, edit, words):
    path = bad_sample(tmp_path, edit)
    assert main(["check", path, *DATE]) == 2
    captured = capsys.readouterr()
    assert "app.json" in captured.err
    assert words in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_malformed_json_exits_2_with_line_and_column(tmp_path: Path, capsys):
    assert main(["check", write(tmp_path, '{"agreement": "RCEP",\n"items": ]}'), *DATE]) == 2
    err = capsys.readouterr().err
    assert "app.json" in err and "line 2, column" in err


def test_bad_rules_file_exits_2_with_file_and_line(tmp_path: Path, capsys):
    rules = tmp_path / "rules.csv"
    rules.write_text("agreement,hs,rule\nRCEP,94,CTH or\n")
    assert main(["check", sample("01"), "--rules", str(rules)]) == 2
    assert "rules.csv:2" in capsys.readouterr().err


def test_bad_date_exits_2(capsys):
    assert main(["check", sample("01"), "--date", "20-05-2026"]) == 2
    assert "--date" in capsys.readouterr().err


def test_missing_file_exits_2(tmp_path: Path, capsys):
    assert main(["check", str(tmp_path / "absent.json")]) == 2
    assert "absent.json" in capsys.readouterr().err
