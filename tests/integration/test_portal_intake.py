"""The file-drop intake against a real broker: good XML submitted and moved to done/, bad
and hostile XML moved to failed/ with the reason beside it, nothing of them on Kafka."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.application.xml import application_to_xml
from tests.integration.harness import SAMPLES, Stack, decoded, eco


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack.started(tmp_path_factory.mktemp("intake")) as stack:
        yield stack


@pytest.mark.integration
def test_dropped_files_end_in_done_or_failed_with_a_reason(broker: Stack, tmp_path: Path
                                                          ) -> None:
    document = json.loads((SAMPLES / "02-acfta-kettles-th.json").read_text())
    document["application_id"] = "drop-good-1"
    (tmp_path / "good.xml").write_bytes(application_to_xml(document))
    broken = application_to_xml({**document, "application_id": "drop-bad-1"}).replace(
        b"<currency>USD</currency>", b"<currency>usd</currency>")
    (tmp_path / "bad.xml").write_bytes(broken)
    (tmp_path / "xxe.xml").write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<application xmlns="urn:eco-pipeline:application:1">&x;</application>')
    (tmp_path / "half-written.xml.part").write_bytes(b"<appl")
    result = eco(broker, "intake", str(tmp_path), "--once")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "done" / "good.xml").is_file()
    assert (tmp_path / "half-written.xml.part").is_file()
    reason = (tmp_path / "failed" / "bad.xml.reason.txt").read_text()
    assert "items[0].fob.currency" in reason
    assert "DTD" in (tmp_path / "failed" / "xxe.xml.reason.txt").read_text()
    [event] = decoded(broker, "eco.application", {"drop-good-1", "drop-bad-1"})
    assert event.subject == "drop-good-1"
    assert event.data["submitted_via"] == "FILE" and event.data["document_format"] == "XML_V1"


@pytest.mark.integration
def test_eco_submit_reads_the_same_xml(broker: Stack, tmp_path: Path) -> None:
    document = json.loads((SAMPLES / "04-acfta-frozen-fish-vn.json").read_text())
    document["application_id"] = "submit-xml-1"
    path = tmp_path / "fish.xml"
    path.write_bytes(application_to_xml(document))
    result = eco(broker, "submit", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("submit-xml-1\t")
    bad = tmp_path / "bad.xml"
    bad.write_bytes(application_to_xml(document).replace(b"<agreement>ACFTA", b"<agreement>X"))
    refused = eco(broker, "submit", str(bad))
    assert refused.returncode == 2 and "agreement" in refused.stderr
