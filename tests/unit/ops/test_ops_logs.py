"""Logs: JSON lines through one renderer for the pipeline and its libraries, no secrets."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator

import pytest
import structlog

from pipeline.logs import configure_logging, library_level, logging_config, redact, use_console


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Configure logging as the worker does, into a buffer instead of stderr."""
    buffer = io.StringIO()
    configure_logging("info", "json")
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    yield buffer
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_a_stage_event_is_one_json_line_with_its_message_context(captured: io.StringIO) -> None:
    log = structlog.get_logger("eco.stage").bind(
        stage="issuance", topic="eco.issuance-requests", partition=2, offset=41,
        application_id="demo-01", ce_id="7d9c")
    log.info("certificate_signed", certificate_number="E263101234560001")
    [line] = lines(captured)
    assert line["event"] == "certificate_signed"
    assert {k: line[k] for k in ("stage", "topic", "partition", "offset", "application_id",
                                 "ce_id")} == {
        "stage": "issuance", "topic": "eco.issuance-requests", "partition": 2, "offset": 41,
        "application_id": "demo-01", "ce_id": "7d9c"}
    assert line["level"] == "info" and line["logger"] == "eco.stage" and "timestamp" in line


def test_faust_and_aiokafka_records_go_through_the_same_renderer(captured: io.StringIO) -> None:
    logging.getLogger("aiokafka.consumer").error("Unable to connect to node %s", 1)
    logging.getLogger("faust.tables").error("[^Table]: recovery failed")
    logging.getLogger("aiokafka.conn").warning("leader moved")  # below the libraries' level
    found = lines(captured)
    assert [(f["logger"], f["event"]) for f in found] == [
        ("aiokafka.consumer", "Unable to connect to node 1"),
        ("faust.tables", "[^Table]: recovery failed")]


def test_secrets_and_documents_never_reach_the_log(captured: io.StringIO) -> None:
    structlog.get_logger("eco.web").warning(
        "customs_call", authorization="Bearer eyJhbGciOi", sasl_password="hunter2",
        private_key="-----BEGIN PRIVATE KEY-----", document_xml="<ECO>" + "x" * 50 + "</ECO>",
        reason="y" * 5000, idempotency_key="E26:1", country="VN")
    [line] = lines(captured)
    text = json.dumps(line)
    for secret in ("eyJhbGciOi", "hunter2", "BEGIN PRIVATE", "<ECO>", "y" * 100):
        assert secret not in text
    assert line["authorization"] == "<redacted>"
    assert line["document_xml"] == "<61 chars omitted>"
    assert line["idempotency_key"] == "E26:1" and line["country"] == "VN"


def test_redact_leaves_identifiers_and_counts_alone() -> None:
    event = redact(None, "info", {"event": "x", "offset": 3, "application_id": "a",
                                  "documents": 2, "api_key": "k"})
    assert event == {"event": "x", "offset": 3, "application_id": "a", "documents": 2,
                     "api_key": "<redacted>"}


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_console_form_on_a_terminal_json_otherwise() -> None:
    assert use_console("auto", Tty()) is True
    assert use_console("auto", io.StringIO()) is False
    assert use_console("console", io.StringIO()) is True
    assert use_console("json", Tty()) is False
    with pytest.raises(ValueError, match="ECO_LOG_FORMAT"):
        use_console("xml")


def test_libraries_log_errors_only_unless_asked_for_more() -> None:
    assert library_level("warning") == logging.ERROR
    assert library_level("info") == logging.INFO


def test_the_pipeline_and_its_libraries_share_one_stream_in_order_and_below_level_is_dropped(
        captured: io.StringIO) -> None:
    log = structlog.get_logger("eco.stage")
    log.info("first", n=1)
    logging.getLogger("faust.tables").error("second")
    log.debug("dropped: below the level")
    try:
        raise ValueError("broken")
    except ValueError:
        log.exception("third")
    found = lines(captured)
    assert [(f["logger"], f["event"]) for f in found] == [
        ("eco.stage", "first"), ("faust.tables", "second"), ("eco.stage", "third")]
    assert found[2]["level"] == "error" and "ValueError: broken" in str(found[2]["exception"])


def test_the_worker_reconfiguring_logging_keeps_the_pipeline_lines_on_its_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("info", "json")
    logging.getLogger().handlers[0].setStream(first)  # type: ignore[attr-defined]
    log = structlog.get_logger("eco.stage")
    log.info("before")
    # Faust's worker applies the same dictConfig again when it starts: a new handler.
    logging.config.dictConfig(logging_config("info", "json"))
    logging.getLogger().handlers[0].setStream(second)  # type: ignore[attr-defined]
    log.info("after")
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()
    assert [json.loads(x)["event"] for x in first.getvalue().splitlines()] == ["before"]
    assert [json.loads(x)["event"] for x in second.getvalue().splitlines()] == ["after"]
