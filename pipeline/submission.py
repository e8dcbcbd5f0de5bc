"""Turning an application document into an ``eco.application.submitted.v1`` event."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline import events
from pipeline.application import Application, parse_application
from pipeline.errors import InvalidApplication, InvalidInput, Problem
from pipeline.events import Envelope
from pipeline.jsonlimits import APPLICATION_JSON, read_json_bytes

SUBMITTED = "eco.application.submitted.v1"
_NAMESPACE = uuid.UUID("0b8e54c4-5a0f-4c5e-8f57-3c2f3f0b6a11")


@dataclass(frozen=True)
class Submission:
    application_id: str
    application: Application
    envelope: Envelope


def read_document(path: Path) -> tuple[dict[str, object], str]:
    """The JSON object in ``path`` and its text; a malformed file says where it breaks."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidApplication([Problem("", f"cannot read: {exc.strerror}")], str(path)) from exc
    except UnicodeDecodeError as exc:
        raise InvalidApplication(
            [Problem("", f"not UTF-8 text (byte {exc.start}): JSON documents are UTF-8")],
            str(path)) from exc
    try:  # bounded: size, nesting, no floats for money (pipeline/jsonlimits.py)
        document = read_json_bytes(text, APPLICATION_JSON, source=str(path))
    except InvalidInput as exc:
        raise InvalidApplication(exc.problems, str(path)) from exc
    if not isinstance(document, dict):
        raise InvalidApplication([Problem("", "an application document is a JSON object")],
                                 str(path))
    return document, text


def read_application_file(path: Path) -> dict[str, object]:
    """The application document in ``path``, JSON or XML (by the ``.xml`` suffix or a leading
    ``<``); the XML form is checked against the published XSD with the hardened parser."""
    from pipeline.application.xml import read_application_xml
    from pipeline.errors import UnsafeXml

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidApplication([Problem("", f"cannot read: {exc.strerror}")], str(path)) from exc
    if path.suffix.lower() == ".xml" or raw.lstrip()[:1] == b"<":
        try:
            return read_application_xml(raw)
        except UnsafeXml as exc:
            raise InvalidApplication([Problem("", str(exc))], str(path)) from exc
    return read_document(path)[0]


def submission(document: dict[str, object], *, source: str, via: str = "CLI",
               id_suffix: str = "", document_format: str = "JSON_V1") -> Submission:
    """Validate ``document`` and build its event. The application id is the document's own
    (the client's idempotency key) or a new one; the event id derives from the id and the
    content, so submitting the same document twice is one submission. ``document_format``
    records what the exporter sent (``XML_V1`` for the XML form); the event always carries the
    document in its JSON form, which is what the stages read."""
    application = parse_application(document, source=source)
    given = document.get("application_id")
    app_id = (str(given) if given else f"app-{uuid.uuid4()}") + id_suffix
    body = {**document, "application_id": app_id}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()
    importer = document.get("importer")
    exporter = document.get("exporter")
    data = {
        "application_id": app_id,
        "tenant": str(exporter.get("id") or "") if isinstance(exporter, dict) else "",
        "agreement": str(document.get("agreement")),
        "issuing_office": str(document.get("issuing_office") or ""),
        "importing_country": str(importer.get("country")) if isinstance(importer, dict) else "",
        "submitted_via": via,
        "document_format": document_format,
        "document": text,
        "submitted_at": datetime.now(UTC),
    }
    envelope = events.new_envelope(SUBMITTED, data, source="eco/intake", subject=app_id,
                                   id=str(uuid.uuid5(_NAMESPACE, f"{app_id}|{digest}")))
    return Submission(app_id, application, envelope)
