"""The XSD of the certificate document, published by the project: ``eco-certificate-1.xsd``."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import cast

from lxml import etree

from pipeline.errors import InvalidInput, Problem

NAMESPACE = "urn:eco-pipeline:certificate:1"
SCHEMA_VERSION = "1"
SCHEMA_FILE = "eco-certificate-1.xsd"


def schema_bytes() -> bytes:
    """The XSD itself, as published."""
    return resources.files(__package__).joinpath(SCHEMA_FILE).read_bytes()


@cache
def certificate_schema() -> etree.XMLSchema:
    """The compiled XSD, loaded once; it is the project's own file, so no hardening is needed."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.fromstring(schema_bytes(), parser))


def validate_certificate(root: etree._Element, source: str = "") -> None:
    """Raise InvalidInput naming each place where ``root`` breaks the certificate XSD."""
    schema = certificate_schema()
    if schema.validate(root):
        return
    errors = cast(Iterable[etree._LogEntry], schema.error_log)
    problems = [Problem(f"line {error.line} {error.path}", error.message) for error in errors]
    raise InvalidInput(problems or [Problem("", "does not match the certificate schema")], source)
