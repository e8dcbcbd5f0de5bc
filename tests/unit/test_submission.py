"""An application document becomes one ``eco.application.submitted.v1`` event."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import pytest

from pipeline import events
from pipeline.errors import InvalidApplication
from pipeline.submission import SUBMITTED, read_document, submission

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SAMPLE_FILES = sorted(SAMPLES.glob("*.json"))
KETTLES = SAMPLES / "02-acfta-kettles-th.json"


def sample(path: Path = KETTLES) -> dict[str, object]:
    document, _ = read_document(path)
    return document


def test_there_are_samples() -> None:
    assert len(SAMPLE_FILES) >= 7


# --- read_document ----------------------------------------------------------------------


def test_read_document_returns_the_object_and_its_text() -> None:
    document, text = read_document(KETTLES)
    assert document["application_id"] == "demo-02-kettle-th"
    assert json.loads(text) == document


def test_a_missing_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(InvalidApplication) as raised:
        read_document(missing)
    assert raised.value.source == str(missing)
    assert "cannot read" in str(raised.value)
    assert str(missing) in str(raised.value)


def test_malformed_json_says_line_and_column(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "agreement": "RCEP",\n  "items": [1,, 2]\n}\n', encoding="utf-8")
    with pytest.raises(InvalidApplication) as raised:
        read_document(broken)
    assert raised.value.source == str(broken)
    assert "malformed JSON at line 3, column 15" in str(raised.value)


@pytest.mark.parametrize("text", ["[1, 2]", '"RCEP"', "null", "42"])
def test_a_document_that_is_not_an_object_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "list.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidApplication, match="an application document is a JSON object") as e:
        read_document(path)
    assert e.value.source == str(path)


def test_a_file_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('{"exporter": {"name": "Café"}}'.encode("latin-1"))
    with pytest.raises(InvalidApplication) as raised:
        read_document(latin1)
    assert raised.value.source == str(latin1)


# --- submission ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_every_sample_becomes_an_event_that_decodes_back(path: Path) -> None:
    document = sample(path)
    made = submission(document, source=str(path))
    assert made.application_id == document["application_id"]
    key, value, headers = events.to_record(made.envelope)
    decoded = events.from_record(key, value, headers)
    assert decoded.type == SUBMITTED
    assert decoded.id == made.envelope.id
    assert decoded.subject == made.application_id
    assert key == made.application_id.encode()
    assert json.loads(decoded.data["document"]) == document
    assert decoded.data["application_id"] == made.application_id


def test_the_event_data_describes_the_application() -> None:
    made = submission(sample(), source="kettles", via="PORTAL")
    data = made.envelope.data
    assert data["agreement"] == "ACFTA"
    assert data["issuing_office"] == "CN-NGB"
    assert data["importing_country"] == "TH"
    assert data["submitted_via"] == "PORTAL"
    assert data["document_format"] == "JSON_V1"
    assert data["tenant"] == sample()["exporter"]["id"]  # type: ignore[index]
    assert made.envelope.source == "eco/intake"
    assert made.application.importer.country == "TH"


def test_the_suffix_is_appended_to_the_documents_id() -> None:
    made = submission(sample(), source="kettles", id_suffix="-run7")
    assert made.application_id == "demo-02-kettle-th-run7"
    assert made.envelope.subject == "demo-02-kettle-th-run7"
    assert json.loads(made.envelope.data["document"])["application_id"] == made.application_id


@pytest.mark.parametrize("given", [None, ""])
def test_without_an_id_one_is_generated(given: str | None) -> None:
    document = sample()
    if given is None:
        del document["application_id"]
    else:
        document["application_id"] = given
    first = submission(document, source="kettles")
    second = submission(document, source="kettles")
    for made in (first, second):
        assert made.application_id.startswith("app-")
        uuid.UUID(made.application_id.removeprefix("app-"))
    assert first.application_id != second.application_id
    assert first.envelope.id != second.envelope.id


def test_the_same_document_gives_the_same_event_id() -> None:
    first = submission(sample(), source="kettles")
    second = submission(copy.deepcopy(sample()), source="elsewhere", via="PORTAL")
    assert first.envelope.id == second.envelope.id
    uuid.UUID(first.envelope.id)


def test_a_changed_document_gives_another_event_id() -> None:
    original = sample()
    changed = copy.deepcopy(original)
    changed["transport"]["vessel"] = "ANOTHER SHIP V.1"  # type: ignore[index]
    assert (submission(original, source="a").envelope.id
            != submission(changed, source="a").envelope.id)


def test_a_different_suffix_gives_another_event_id() -> None:
    assert (submission(sample(), source="a", id_suffix="-1").envelope.id
            != submission(sample(), source="a", id_suffix="-2").envelope.id)


def test_key_order_does_not_change_the_event_id() -> None:
    document = sample()
    reversed_document = dict(reversed(list(document.items())))
    assert (submission(document, source="a").envelope.id
            == submission(reversed_document, source="a").envelope.id)


def test_an_invalid_document_is_refused_with_its_source() -> None:
    document = sample()
    del document["items"]
    with pytest.raises(InvalidApplication) as raised:
        submission(document, source="kettles.json")
    assert raised.value.source == "kettles.json"
    assert any(problem.path.startswith("items") for problem in raised.value.problems)
