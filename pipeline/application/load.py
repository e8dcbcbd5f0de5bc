"""Decoding application documents from bytes and files.

``decode_application`` is the one seam for document formats: JSON, and the XML
form (same data, described by the published XSD ``schema/application-1.xsd``),
read with the hardened parser into the same document and parsed the same way.
XSD errors name the element by its JSON path (``items[0].hs_code``).
"""

from __future__ import annotations

from pathlib import Path

from pipeline.application.model import Application
from pipeline.application.parse import parse_application
from pipeline.errors import InvalidApplication, InvalidInput, Problem, UnsafeXml
from pipeline.jsonlimits import APPLICATION_JSON, read_json_bytes

JSON = "application/json"
XML = "application/xml"
_MEDIA_TYPES = {".json": JSON, ".xml": XML}


def decode_application(data: bytes, source: str = "", media_type: str = JSON) -> Application:
    """Decode and parse one application; malformed JSON is reported with line and column,
    XML that breaks the schema by the element's path, hostile XML (DTDs, entities) refused."""
    if media_type == XML:
        return parse_application(_xml_document(data, source), source)
    if media_type != JSON:
        raise InvalidApplication([Problem("", f"unsupported media type {media_type!r}")], source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start}: {exc.reason})"
        raise InvalidApplication([Problem("", message)], source) from exc
    try:  # bounded: size, nesting, no floats for money (pipeline/jsonlimits.py)
        doc = read_json_bytes(text, APPLICATION_JSON, source=source)
    except InvalidInput as exc:
        raise InvalidApplication(exc.problems, source) from exc
    return parse_application(doc, source)


def _xml_document(data: bytes, source: str) -> dict[str, object]:
    from pipeline.application.xml import read_application_xml

    try:
        return read_application_xml(data, source=source)
    except UnsafeXml as exc:
        raise InvalidApplication([Problem("", str(exc))], source) from exc


def media_type_of(path: Path, data: bytes) -> str:
    """XML by the ``.xml`` suffix or a leading ``<``, else JSON."""
    if data.lstrip()[:1] == b"<":
        return XML
    return _MEDIA_TYPES.get(path.suffix.lower(), JSON)


def load_application(path: Path) -> Application:
    """Read an application file, JSON or XML (``source`` is its name); OSError when it
    cannot be read."""
    data = path.read_bytes()
    return decode_application(data, path.name, media_type_of(path, data))
