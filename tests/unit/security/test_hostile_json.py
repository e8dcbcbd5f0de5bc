"""Hostile JSON at the edges: size and nesting are bounded (a RecursionError becomes a clear
error), duplicate keys and NaN are refused, and money is never a binary float."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.application.load import decode_application
from pipeline.errors import InvalidApplication, InvalidInput
from pipeline.jsonlimits import APPLICATION_JSON, JsonLimits, read_json_bytes
from pipeline.submission import read_document

SAMPLE = Path(__file__).resolve().parents[3] / "samples" / "01-rcep-led-luminaires-vn.json"


def test_nesting_beyond_the_parser_stack_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"items": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(InvalidApplication, match=r"deep.json: nested deeper than the 32 levels"):
        read_document(path)


def test_nesting_within_the_parser_but_beyond_the_bound_names_the_path() -> None:
    text = '{"a": {"b": ' + "[" * 40 + "]" * 40 + "}}"
    with pytest.raises(InvalidInput) as caught:
        read_json_bytes(text)
    [problem] = caught.value.problems
    assert problem.path.startswith("a.b[0]") and "nested deeper" in problem.message


@pytest.mark.parametrize(("text", "message"), [
    ('{"a": 1, "a": 2}', "duplicate key 'a'"),
    ('{"fob": NaN}', "NaN is not JSON"),
    ('{"fob": -Infinity}', "-Infinity is not JSON"),
    ('{"fob": "1"', "malformed JSON at line 1"),
])
def test_what_is_not_plain_json_is_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        read_json_bytes(text)


def test_a_document_too_large_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(InvalidInput, match="2049 bytes, more than the 2048"):
        read_json_bytes(b" " * 2049, JsonLimits(max_bytes=2048))


def test_money_written_as_a_number_keeps_its_exact_decimal_text() -> None:
    document = json.loads(SAMPLE.read_text())
    document["items"][0]["fob"]["amount"] = "__FOB__"
    text = json.dumps(document).replace('"__FOB__"', "24000.10000000000000000001")
    read = read_json_bytes(text, APPLICATION_JSON)
    assert read["items"][0]["fob"]["amount"] == "24000.10000000000000000001"  # not 24000.1
    application = decode_application(text.encode(), "float.json", "application/json")
    assert application.items[0].fob.amount == Decimal("24000.10000000000000000001")


def test_refusing_fractions_names_each_path() -> None:
    with pytest.raises(InvalidInput) as caught:
        read_json_bytes('{"x": [1, 2.5], "y": {"z": 1e3}}', JsonLimits(fractions="refuse"))
    assert [p.path for p in caught.value.problems] == ["x[1]", "y.z"]


def test_eco_submit_of_a_hostile_file_exits_2_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "hostile.json"
    path.write_text("[" * 500_000)
    result = subprocess.run([sys.executable, "-m", "pipeline", "submit", str(path)],
                            capture_output=True, text=True, timeout=120, check=False,
                            env={"PATH": "/usr/bin:/bin", "ECO_KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    assert result.returncode == 2
    assert "hostile.json" in result.stderr and "nested deeper" in result.stderr
    assert "Traceback" not in result.stderr
