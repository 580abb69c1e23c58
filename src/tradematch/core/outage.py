"""The database is away for a moment: tell it apart from a bug, answer 503, ride it out.

A restart, a failover, ``pg_terminate_backend`` or a full connection pool are not errors in
our code: the right answer to a request is 503 ``DATABASE_UNAVAILABLE`` with ``Retry-After``
(the transaction was rolled back, so the request is safe to retry), and the right reaction of a
background loop is one log line and a retry with backoff. ``is_database_unavailable`` is the one
place that decides what counts as such a failure.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable

import asyncpg
from sqlalchemy import exc as sa_exc

from tradematch.core.errors import AppError
from tradematch.kit.backoff import backoff_seconds

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2  # a restart of PostgreSQL or a failover takes a few seconds
# 57P01 admin shutdown (also pg_terminate_backend), 57P02 crash shutdown, 57P03 cannot connect
# now (starting up or shutting down), 53300 too many connections; class 08: connection errors.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_CLOSED_MESSAGES = ("connection is closed", "connection was closed", "underlying connection")
# What the driver raises itself, outside SQLAlchemy's wrapping (raw asyncpg connections).
DRIVER_ERRORS: tuple[type[Exception], ...] = (asyncpg.PostgresError, asyncpg.InterfaceError)


class DatabaseUnavailable(
    AppError,
    status=503,
    code="DATABASE_UNAVAILABLE",
    message="The database is unavailable for a moment; nothing was changed. Retry shortly.",
):
    def __init__(self, message: str | None = None, **details: object) -> None:
        super().__init__(message, retry_after=RETRY_AFTER_SECONDS, **details)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)}


class CommitOutcomeUnknown(DatabaseUnavailable):
    """The connection failed during COMMIT: the change may or may not have been saved. A retry
    with the same Idempotency-Key is safe either way (replayed if it was saved, done once if
    not)."""

    message = (
        "The database connection was lost while saving; the change may or may not have been "
        "saved. Retry with the same Idempotency-Key."
    )

    def __init__(self) -> None:
        super().__init__(outcome="unknown")


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database cannot be reached or dropped the
    connection, as opposed to refusing a statement."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _unavailable(current):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.orig is not None:
            current = current.orig
        else:
            current = current.__cause__
    return False


def _unavailable(exc: BaseException) -> bool:
    if isinstance(exc, DatabaseUnavailable | sa_exc.TimeoutError):  # TimeoutError: pool is full
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return bool(exc.connection_invalidated)
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str) and (
        sqlstate in _UNAVAILABLE_SQLSTATES or sqlstate.startswith("08")
    ):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        return any(text in str(exc) for text in _CLOSED_MESSAGES)
    if isinstance(exc, OSError | TimeoutError):
        # The socket file is missing, the port refuses, a connect timed out: only when raised
        # inside the driver, so that a failing disk or mail server is not taken for the database.
        return _raised_in_driver(exc)
    return False


def is_confused_connection(exc: BaseException | None) -> bool:
    """asyncpg lost track of an operation on a connection ("another operation is in progress"):
    what a connection dropped in the middle of one reports, raised as it is or wrapped by
    SQLAlchemy's adapter. Only code on a raw connection meets it (the live-update hub, the
    dispatcher's LISTEN, the driver statements of ``kit/driver.py``): each discards that
    connection and counts an outage.
    Not part of ``is_database_unavailable``, since on a healthy connection it is a bug."""
    while exc is not None:
        if isinstance(exc, asyncpg.InternalClientError):
            return True
        exc = exc.__cause__
    return False


def _raised_in_driver(exc: BaseException) -> bool:
    return any(
        str(frame.f_globals.get("__name__", "")).startswith("asyncpg")
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    )


def describe(exc: BaseException) -> str:
    """One line naming the failure (no traceback: it is not a bug)."""
    root = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    if root.__cause__ is not None and type(root).__module__.startswith("sqlalchemy"):
        root = root.__cause__  # the adapter's wrapper: name the driver's own error
    text = str(root).strip().splitlines()[0] if str(root).strip() else ""
    return f"{type(root).__name__}: {text[:200]}" if text else type(root).__name__


class QuietDisconnects(logging.Filter):
    """SQLAlchemy's pool logs a traceback at ERROR when it closes or resets a connection the
    database already dropped ("Exception closing connection"). During an outage that is one
    traceback per pooled connection for an expected event: keep the line, as a warning that
    names the failure, without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if (
            exc is not None
            and record.name.startswith("sqlalchemy")
            and is_database_unavailable(exc)
        ):
            record.msg = f"{record.getMessage()}: {describe(exc)}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class Outage:
    """A background loop's view of the database being away: one warning when an outage begins,
    one line when it ends, and the delay before each retry (exponential, with jitter)."""

    def __init__(
        self,
        what: str,
        *,
        base_seconds: float = 0.5,
        cap_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.base_seconds = base_seconds
        self.cap_seconds = cap_seconds
        self.failures = 0
        self.retry_in = 0.0  # the delay the last failure asked for
        self._clock = clock
        self._since: float | None = None

    @property
    def active(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException) -> float:
        """Record a failure; return how long to wait before trying again."""
        if self._since is None:
            self._since = self._clock()
            log.warning("%s: database unavailable (%s); retrying", self.what, describe(exc))
        else:
            log.debug("%s: database still unavailable (%s)", self.what, describe(exc))
        self.failures += 1
        self.retry_in = backoff_seconds(self.failures, self.base_seconds, self.cap_seconds)
        return self.retry_in

    def recovered(self) -> None:
        if self._since is None:
            return
        log.info(
            "%s: database available again after %.1f s (%d failed attempts)",
            self.what,
            self._clock() - self._since,
            self.failures,
        )
        self._since = None
        self.failures = 0
