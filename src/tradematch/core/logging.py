"""Structured logs (structlog): JSON lines with the request id and, where known, the event id."""

from __future__ import annotations

import logging
import re
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote_plus

import structlog

from tradematch.core.outage import QuietDisconnects


def configure_logging(level: str = "INFO", json_logs: bool = True) -> None:
    _skip_unused_record_fields()
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(QuietDisconnects())  # a dropped connection is not worth a traceback
    handler.addFilter(_REDACTION)  # whatever logger a URL comes through
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    install_redaction()


def _skip_unused_record_fields() -> None:
    """Lines are rendered from structlog's event dict (level, logger, time, message, context):
    none shows a record's thread, process or calling source line, so the standard library is
    told not to work them out for every record (the "Optimization" table of the logging
    HOWTO): a quarter of the cost of a line, which every request pays for its access line."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # no stack walk for the caller's file and line


@contextmanager
def log_scope(**values: Any) -> Iterator[None]:
    """Bind ``values`` into every log line inside the block, and afterwards restore the log
    context exactly as it was: whatever the block bound (say ``event_id``, bound by
    ``events.emit``) does not leak into the next unit of work of a long-running loop."""
    saved = structlog.contextvars.get_contextvars()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**{**saved, **values})
    try:
        yield
    finally:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**saved)


def bind_event_id(event_id: str) -> None:
    """Put the unit of work's primary event (its first) into its log lines."""
    if "event_id" not in structlog.contextvars.get_contextvars():
        structlog.contextvars.bind_contextvars(event_id=event_id)


# Query parameters that carry a credential: the live socket's access token (browsers cannot set
# headers on a WebSocket) and the signature of an upload link.
SECRET_QUERY_PARAMS = frozenset({"token", "access_token", "sig"})
REDACTED = "[redacted]"
# A query string inside a logged text: from "?" to the first blank or quote.
_QUERY_IN_TEXT = re.compile(r"\?([^\s\"'<>]*)")
_SEPARATORS = re.compile(r"([&;])")


def _parameter_name(raw: str) -> str:
    """The name a query parser would see: percent-encoding and ``+`` decoded (repeatedly, so
    double encoding does not hide it either), compatibility forms folded, blanks trimmed, case
    folded."""
    name = raw
    for _ in range(5):
        decoded = unquote_plus(name)
        if decoded == name:
            break
        name = decoded
    return unicodedata.normalize("NFKC", name).strip().casefold()


def redact_query(query: str) -> str:
    """``query`` with the value of every secret parameter replaced, however its name is written:
    percent-encoded, ``+`` for blanks, any case, repeated, separated by ``&`` or ``;``. The
    rest of the query is kept as it came."""
    parts = _SEPARATORS.split(query)
    for index in range(0, len(parts), 2):
        name = parts[index].partition("=")[0]
        if _parameter_name(name) in SECRET_QUERY_PARAMS:
            parts[index] = f"{name}={REDACTED}"
    return "".join(parts)


def redact_urls(text: str) -> str:
    """Every query string in ``text`` (a URL, a path with its query, a log line) redacted."""
    if "?" not in text:
        return text
    return _QUERY_IN_TEXT.sub(lambda found: "?" + redact_query(found.group(1)), text)


class RedactTokens(logging.Filter):
    """Credentials never reach the log through a URL: uvicorn logs each request's and each
    WebSocket's path with its query string. Every string argument and the message itself are
    redacted by parsing their query strings (``redact_query``), not by matching ``token=``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_urls(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                key: redact_urls(value) if isinstance(value, str) else value
                for key, value in record.args.items()
            }
        if isinstance(record.msg, str):
            record.msg = redact_urls(record.msg)
        return True


# The loggers that write URLs: uvicorn's (the access log; WebSocket handshakes on "error").
URL_LOGGERS = ("uvicorn.access", "uvicorn.error")
_REDACTION = RedactTokens()


def install_redaction() -> None:
    """Put the redacting filter on every logger that logs URLs (so whatever handles their
    records, ours or a test's, sees them redacted). Idempotent."""
    for name in URL_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACTION not in logger.filters:
            logger.addFilter(_REDACTION)
