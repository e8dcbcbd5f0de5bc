"""An application document from untrusted bytes: JSON (nesting bounded before decoding) or
XML (the published XSD, read with the hardened parser). Every problem says where."""

from __future__ import annotations

from typing import Any

from connectors.portal.guards import nesting_problems, parse_json_limited
from pipeline.application.xml import read_application_xml
from pipeline.errors import InvalidApplication, Problem, UnsafeXml

JSON_TYPES = ("application/json",)
XML_TYPES = ("application/xml", "text/xml")
JSON_V1, XML_V1 = "JSON_V1", "XML_V1"


def format_of(content_type: str, body: bytes = b"") -> str | None:
    """JSON_V1 or XML_V1 by the media type (``+json``/``+xml`` suffixes too); for a missing
    or generic type, by the first character; None for anything else."""
    media = content_type.split(";")[0].strip().lower()
    if media in JSON_TYPES or media.endswith("+json"):
        return JSON_V1
    if media in XML_TYPES or media.endswith("+xml"):
        return XML_V1
    if media in ("", "application/octet-stream", "text/plain"):
        first = body.lstrip()[:1]
        return XML_V1 if first == b"<" else JSON_V1 if first in (b"{", b"[") else None
    return None


def read_document(body: bytes, document_format: str, *, max_depth: int = 32,
                  max_bytes: int = 5 * 1024 * 1024, source: str = "") -> dict[str, Any]:
    """The application document; InvalidApplication (with paths) or UnsafeXml otherwise."""
    if document_format == XML_V1:
        return read_application_xml(body, source=source, max_bytes=max_bytes)
    try:
        document = parse_json_limited(body, max_depth)
    except UnicodeDecodeError as exc:
        raise InvalidApplication([Problem("", f"not UTF-8 text (byte {exc.start})")],
                                 source) from exc
    except ValueError as exc:
        raise InvalidApplication([Problem("", f"malformed JSON: {exc}")], source) from exc
    problems = nesting_problems(document, max_depth)
    if problems:
        raise InvalidApplication(problems, source)
    if not isinstance(document, dict):
        raise InvalidApplication([Problem("", "an application document is a JSON object")],
                                 source)
    return document


__all__ = ["JSON_V1", "XML_V1", "InvalidApplication", "UnsafeXml", "format_of",
           "read_document"]
