"""Decoding application documents from bytes and files.

``decode_application`` is the one seam for document formats: JSON today; the
XML form (same data, described by the published XSD) plugs in here by media
type without touching the parser's callers.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.application.model import Application
from pipeline.application.parse import parse_application
from pipeline.errors import InvalidApplication, InvalidInput, Problem
from pipeline.jsonlimits import APPLICATION_JSON, read_json_bytes

JSON = "application/json"
XML = "application/xml"
_MEDIA_TYPES = {".json": JSON, ".xml": XML}


def decode_application(data: bytes, source: str = "", media_type: str = JSON) -> Application:
    """Decode and parse one application; malformed JSON is reported with line and column."""
    if media_type == XML:
        raise InvalidApplication(
            [Problem("", "XML applications are not supported by this version; send JSON")], source
        )
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


def load_application(path: Path) -> Application:
    """Read an application file (``source`` is its name); OSError when it cannot be read."""
    media_type = _MEDIA_TYPES.get(path.suffix.lower(), JSON)
    return decode_application(path.read_bytes(), path.name, media_type)
