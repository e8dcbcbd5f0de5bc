"""The XML form of the application document: same data as the JSON samples, XSD errors by
field path, hostile XML refused by the hardened parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.application import parse_application
from pipeline.application.xml import application_to_xml, read_application_xml
from pipeline.errors import InvalidApplication, UnsafeXml

SAMPLES = sorted((Path(__file__).resolve().parents[3] / "samples").glob("*.json"))


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_every_sample_reads_back_the_same_from_its_xml(sample: Path) -> None:
    document = json.loads(sample.read_text())
    back = read_application_xml(application_to_xml(document))
    assert back == document
    assert parse_application(back).exporter == parse_application(document).exporter


def test_schema_errors_name_the_field_as_a_json_path() -> None:
    document = json.loads(SAMPLES[0].read_text())
    xml = application_to_xml(document).replace(b"<hs_code>940542", b"<hs_code>94x", 1)
    xml = xml.replace(b"<amount>24000.00</amount>", b"", 1)
    with pytest.raises(InvalidApplication) as caught:
        read_application_xml(xml)
    paths = {p.path for p in caught.value.problems}
    assert {"items[0].hs_code", "items[0].fob"} <= paths


def test_external_entities_and_entity_bombs_are_refused() -> None:
    xxe = (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<application xmlns="urn:eco-pipeline:application:1">&x;</application>')
    bomb = (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]>'
            b'<application xmlns="urn:eco-pipeline:application:1">&c;</application>')
    for hostile in (xxe, bomb):
        with pytest.raises(UnsafeXml):
            read_application_xml(hostile)


def test_oversize_xml_is_refused_before_parsing() -> None:
    with pytest.raises(UnsafeXml, match="exceeds the limit"):
        read_application_xml(b"<a>" + b" " * 2048 + b"</a>", max_bytes=1024)
