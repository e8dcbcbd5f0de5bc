"""Structured logging: structlog events, one per line, context bound per message.

Everything is rendered by one renderer and written to one stream, so a log shipper reads one
format: the records of Faust, mode and aiokafka through a stdlib handler with structlog's
``ProcessorFormatter``, and the pipeline's own events (``structlog.get_logger``) by structlog
alone, rendered once and written to that handler's stream (the stdlib's record, caller lookup
and formatter cost more than the line itself on a stage's hot path). The format is JSON
lines, or structlog's readable console form when stderr is a terminal
(``ECO_LOG_FORMAT=auto``, the default; ``json`` or ``console`` force one). Before rendering,
:func:`redact` removes secrets and whole documents.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import logging.config
import re
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, Processor

FORMATS = ("auto", "json", "console")
# Keys whose values are secrets: never logged, whatever their value.
SECRET_KEY = re.compile(r"(passw|secret|token|authori[sz]ation|private|api_?key|credential|"
                        r"cookie|signature|^key$|_key$)", re.IGNORECASE)
# Keys that carry whole documents: logged as their size only.
DOCUMENT_KEY = re.compile(r"(document|xml|body|payload|^value$|pdf|html)", re.IGNORECASE)
MAX_VALUE_CHARS = 1000
# Keys that are identifiers, not secrets, although their names match SECRET_KEY.
ALLOWED_KEYS = frozenset({"idempotency_key", "signature_valid"})
NOISY_LIBRARIES = ("faust", "mode", "aiokafka", "kafka")


def _elide(value: Any) -> str:
    size = len(value) if isinstance(value, str | bytes) else len(str(value))
    return f"<{size} chars omitted>"


@functools.lru_cache(maxsize=1024)
def _kind_of(key: str) -> str:
    """What a log key names: ``plain`` (logged as it is), ``secret`` or ``document``."""
    if key in ("event", "timestamp", "level", "logger") or key in ALLOWED_KEYS:
        return "plain"
    if SECRET_KEY.search(key):
        return "secret"
    return "document" if DOCUMENT_KEY.search(key) else "value"


def redact(logger: Any, method: str, event_dict: EventDict) -> EventDict:
    """A structlog processor: secrets become ``<redacted>``, documents and over-long values
    their size, so a log line never carries a key, a token or a certificate's XML."""
    for key, value in list(event_dict.items()):
        kind = _kind_of(key)
        if kind == "plain":
            continue
        if kind == "secret":
            event_dict[key] = "<redacted>"
        elif (isinstance(value, str | bytes) and len(value) > MAX_VALUE_CHARS) or (
                kind == "document" and value is not None and not isinstance(value, int)):
            event_dict[key] = _elide(value)
    return event_dict


def use_console(fmt: str, stream: Any = None) -> bool:
    """Console form for ``console``, and for ``auto`` when ``stream`` (stderr) is a terminal."""
    if fmt not in FORMATS:
        raise ValueError(f"ECO_LOG_FORMAT={fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt != "auto":
        return fmt == "console"
    target = stream if stream is not None else sys.stderr
    try:
        return bool(target.isatty())
    except (AttributeError, ValueError):
        return False


SHARED: tuple[Processor, ...] = (
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    redact,
)


def formatter(console: bool = False) -> structlog.stdlib.ProcessorFormatter:
    """The one formatter of every log record, structlog's or a library's."""
    renderer: Processor = (structlog.dev.ConsoleRenderer(colors=True) if console
                           else structlog.processors.JSONRenderer(sort_keys=True))
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*SHARED, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if not console else _keep,
            renderer,
        ],
    )


def _keep(logger: Any, method: str, event_dict: EventDict) -> EventDict:
    return event_dict


def _level(name: str) -> int:
    numeric = logging.getLevelName(name.upper())
    return numeric if isinstance(numeric, int) else logging.INFO


def library_level(level: str) -> int:
    """Faust's, mode's and aiokafka's level: theirs to choose below warning; at warning and
    above only their errors (they log every leader move and retry as warnings)."""
    numeric = _level(level)
    return numeric if numeric < logging.WARNING else logging.ERROR


def logging_config(level: str = "info", fmt: str = "auto",
                   libraries: str = "warning") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary sending every record to stderr through
    :func:`formatter`; also given to Faust's worker, which configures logging itself."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"eco": {"()": formatter, "console": use_console(fmt)}},
        "handlers": {"eco": {"class": "logging.StreamHandler", "formatter": "eco",
                             "stream": "ext://sys.stderr"}},
        "root": {"level": _level(level), "handlers": ["eco"]},
        "loggers": {name: {"level": library_level(libraries)} for name in NOISY_LIBRARIES},
    }


def configure_logging(level: str = "info", fmt: str = "auto",
                      libraries: str = "warning") -> None:
    """Configure structlog and the stdlib for this process."""
    logging.config.dictConfig(logging_config(level, fmt, libraries))
    console = use_console(fmt)
    renderer: Processor = (structlog.dev.ConsoleRenderer(colors=True) if console
                           else structlog.processors.JSONRenderer(sort_keys=True))
    structlog.configure(
        processors=[
            *SHARED,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info if not console else _keep,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_level(level)),
        logger_factory=handler_streams,
        cache_logger_on_first_use=True,
    )


class HandlerStream:
    """structlog's logger of one name: writes each rendered line to the stream of the root
    logger's handler (under its lock, so a library's line never splits one of ours), as the
    stdlib would, or to stderr before logging is configured."""

    def __init__(self, name: str = "") -> None:
        self.name = name

    def msg(self, message: str) -> None:
        handlers = logging.root.handlers
        handler = handlers[0] if handlers else None
        stream = getattr(handler, "stream", None)
        if handler is None or stream is None:
            sys.stderr.write(message + "\n")
            return
        with handler.lock or contextlib.nullcontext():
            stream.write(message + "\n")
            stream.flush()

    log = debug = info = warn = warning = err = error = critical = exception = fatal = msg


def handler_streams(*args: Any) -> HandlerStream:
    """The logger factory: ``structlog.get_logger(name)`` gives a logger of that name."""
    return HandlerStream(str(args[0]) if args else "")


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)

