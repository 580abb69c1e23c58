"""A database that is away answers 503 DATABASE_UNAVAILABLE (never 500), and idempotency keys
make every retry safe: before COMMIT nothing was stored; during COMMIT the outcome is unknown,
and a retry with the same key has exactly one effect either way."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.conftest import _client, _started
from tests.flows.database import Database
from tests.flows.users import Api, postcode_in
from tradematch.app import create_app
from tradematch.core.config import Settings
from tradematch.core.database import create_engine
from tradematch.core.outage import (
    Outage,
    QuietDisconnects,
    is_confused_connection,
    is_database_unavailable,
)

from .load import JOB
from .pgproxy import PgProxy

# The database goes away under the app in these tests: its tracebacks are the point.
pytestmark = pytest.mark.tracebacks

MISSING_SOCKET_URL = "postgresql+asyncpg://postgres@/tradematch?host=/nonexistent-socket-dir"


async def _caught(action: object) -> BaseException:
    try:
        await action  # type: ignore[misc]
    except BaseException as exc:
        return exc
    raise AssertionError("no error")


# -- telling an outage from a bug, on real errors ---------------------------------------------


async def test_connection_failures_count_as_unavailable_and_statement_errors_do_not(
    fresh_db: Database,
) -> None:
    missing = create_engine(MISSING_SOCKET_URL)
    refused = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/postgres")
    engine = create_engine(fresh_db.async_url, pool_size=1)
    try:

        async def select_one(on: object) -> None:
            async with on.connect() as conn:  # type: ignore[attr-defined]
                await conn.execute(text("SELECT 1"))

        socket_gone = await _caught(select_one(missing))
        assert isinstance(socket_gone, FileNotFoundError)
        assert is_database_unavailable(socket_gone)
        port_refused = await _caught(select_one(refused))
        assert isinstance(port_refused, ConnectionRefusedError)
        assert is_database_unavailable(port_refused)

        # A backend terminated under a running statement (what a restart does to every one).
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            admin = await fresh_db.connect()
            try:
                sleeping = asyncio.ensure_future(conn.execute(text("SELECT pg_sleep(30)")))
                await asyncio.sleep(0.3)
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
            finally:
                await admin.close()
            terminated = await _caught(sleeping)
        assert isinstance(terminated, DBAPIError)
        assert is_database_unavailable(terminated)

        # A full pool: SQLAlchemy's own timeout.
        crowded = create_engine(fresh_db.async_url, pool_size=1)
        crowded.pool._max_overflow = 0  # type: ignore[attr-defined]
        crowded.pool._timeout = 0.2  # type: ignore[attr-defined]
        try:
            async with crowded.connect() as held:
                await held.execute(text("SELECT 1"))
                full = await _caught(select_one(crowded))
        finally:
            await crowded.dispose()
        assert is_database_unavailable(full), repr(full)

        async with engine.connect() as conn:
            syntax = await _caught(conn.execute(text("SELEC 1")))
        assert isinstance(syntax, DBAPIError) and not is_database_unavailable(syntax)
        async with engine.connect() as conn:
            await conn.execute(text("CREATE TEMP TABLE t (id int PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
            duplicate = await _caught(conn.execute(text("INSERT INTO t VALUES (1)")))
        assert isinstance(duplicate, IntegrityError) and not is_database_unavailable(duplicate)
        disk = await _caught(asyncio.to_thread(Path("/nonexistent/file").read_text))
        assert isinstance(disk, FileNotFoundError) and not is_database_unavailable(disk)
    finally:
        for each in (missing, refused, engine):
            await each.dispose()


async def test_the_pools_traceback_for_a_dropped_connection_becomes_one_line() -> None:
    missing = create_engine(MISSING_SOCKET_URL)
    try:
        async with missing.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except FileNotFoundError as exc:
        dropped = exc
    finally:
        await missing.dispose()
    bug = ValueError("a bug")

    def record(exc: BaseException, name: str) -> logging.LogRecord:
        return logging.LogRecord(
            name,
            logging.ERROR,
            __file__,
            1,
            "Exception closing connection %r",
            ("c",),
            (type(exc), exc, exc.__traceback__),
        )

    quiet = QuietDisconnects()
    pool = record(dropped, "sqlalchemy.pool.impl.AsyncAdaptedQueuePool")
    assert quiet.filter(pool)
    assert (pool.levelno, pool.exc_info) == (logging.WARNING, None)
    assert pool.getMessage() == (
        "Exception closing connection 'c': FileNotFoundError: [Errno 2] No such file or directory"
    )
    for kept in (record(bug, "sqlalchemy.pool"), record(dropped, "tradematch.something")):
        assert quiet.filter(kept)
        assert kept.levelno == logging.ERROR and kept.exc_info is not None


def test_an_outage_logs_once_and_backs_off(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    outage = Outage("test loop", base_seconds=1.0, cap_seconds=8.0, clock=lambda: now[0])
    error = ConnectionRefusedError(111, "refused")
    with caplog.at_level(logging.INFO, logger="tradematch.core.outage"):
        delays = [outage.failed(error) for _ in range(6)]
        now[0] = 12.5
        outage.recovered()
        outage.recovered()
    assert [round(d, 3) <= c for d, c in zip(delays, [1, 2, 4, 8, 8, 8], strict=True)] == [True] * 6
    assert [d >= c / 2 for d, c in zip(delays, [1, 2, 4, 8, 8, 8], strict=True)] == [True] * 6
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert messages == [
        "test loop: database unavailable (ConnectionRefusedError: [Errno 111] refused); retrying",
        "test loop: database available again after 12.5 s (6 failed attempts)",
    ]
    assert not outage.active


# -- HTTP ---------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def unreachable_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """An application whose database's socket file does not exist (PostgreSQL stopped)."""
    async for started in _started(create_app(settings, database_url=MISSING_SOCKET_URL)):
        yield started


async def test_requests_answer_503_while_the_database_is_away(
    unreachable_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    async with _client(unreachable_app) as client:
        counted_before = _unavailable_count((await client.get("/metrics")).text)
        with caplog.at_level(logging.WARNING):
            responses = [
                await client.post(
                    "/api/auth/register",
                    json={"email": "x@example.com", "password": "long-enough-pw", "role": "x"},
                    headers={"X-Request-ID": "blip-register"},
                ),
                await client.post(
                    "/api/auth/login",
                    json={"email": "someone@example.com", "password": "whatever-it-is"},
                    headers={"X-Request-ID": "blip-login"},
                ),
                await client.get(
                    "/api/connection/jobs",
                    headers={"Authorization": "Bearer not-a-token", "X-Request-ID": "blip-jobs"},
                ),
            ]
            ready = await client.get("/readyz")
        counted = _unavailable_count((await client.get("/metrics")).text) - counted_before
    login = responses[1]
    assert login.status_code == 503, login.text
    assert login.json() == {
        "error": "The database is unavailable for a moment; nothing was changed. Retry shortly.",
        "code": "DATABASE_UNAVAILABLE",
        "retry_after": 2,
    }
    assert login.headers["Retry-After"] == "2"
    assert login.headers["X-Request-ID"] == "blip-login"
    # Validation and authentication need no database: they answer as always.
    assert responses[0].status_code == 422
    assert responses[2].status_code == 401
    assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
    assert counted == 1  # the login; /readyz reports, it is not a refused request
    outage_lines = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert [r.getMessage().split(" answered")[0] for r in outage_lines] == [
        "database unavailable: POST /api/auth/login"
    ]
    assert all(r.exc_info is None for r in caplog.records if r.name.startswith("tradematch"))


def _unavailable_count(metrics: str) -> float:
    [line] = [
        m for m in metrics.splitlines() if m.startswith("tradematch_database_unavailable_total")
    ]
    return float(line.split()[-1])


async def test_a_backend_terminated_mid_request_is_a_503_that_stored_nothing(
    fresh_app: FastAPI, fresh_db: Database
) -> None:
    async with _client(fresh_app) as client:
        api = Api(client)
        customer = await api.customer(postcode=postcode_in("SW1A"))
        key = f"terminated-{uuid.uuid4().hex}"
        headers = {**customer.headers, "Idempotency-Key": key, "X-Request-ID": "terminated-1"}
        admin = await fresh_db.connect()
        try:
            locker = admin.transaction()
            await locker.start()
            await admin.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
            request = asyncio.ensure_future(
                client.post("/api/connection/jobs", json=JOB, headers=headers)
            )
            blocked = await _backend_waiting_on_a_lock(admin, fresh_db.name)
            await admin.execute("SELECT pg_terminate_backend($1)", blocked)
            await locker.rollback()
            response = await request
        finally:
            await admin.close()
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "DATABASE_UNAVAILABLE"
        assert "outcome" not in response.json()  # before COMMIT: known not to have happened
        assert response.headers["X-Request-ID"] == "terminated-1"

        retried = await client.post("/api/connection/jobs", json=JOB, headers=headers)
        assert retried.status_code == 201, retried.text
        assert "Idempotent-Replayed" not in retried.headers
        assert await _jobs_of(fresh_db, customer.user_id) == 1


async def _backend_waiting_on_a_lock(admin: asyncpg.Connection, database: str) -> int:
    for _ in range(200):
        pid = await admin.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'"
            " AND application_name = 'tradematch'",
            database,
        )
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.05)
    raise AssertionError("the request never waited on the lock")


async def _jobs_of(db: Database, customer_id: str) -> int:
    conn = await db.connect()
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM jobs WHERE customer_id = $1", customer_id)
        )
    finally:
        await conn.close()


# -- COMMIT with an unknown outcome -------------------------------------------------------------


@pytest_asyncio.fixture
async def proxied(
    settings: Settings, fresh_db: Database, server_url: str
) -> AsyncIterator[tuple[FastAPI, PgProxy]]:
    # A short directory: Unix socket paths are limited to 108 bytes.
    proxy = PgProxy(server_url, Path(tempfile.mkdtemp(prefix="tm-proxy-")))
    await proxy.start()
    try:
        app = create_app(settings, database_url=proxy.url(fresh_db.name))
        async for started in _started(app):
            yield started, proxy
    finally:
        await proxy.close()
        for leftover in proxy.directory.iterdir():
            leftover.unlink()
        proxy.directory.rmdir()


@pytest.mark.parametrize(
    ("mode", "committed"),
    [("lose_reply", True), ("drop_commit", False)],
    ids=["saved", "not saved"],
)
async def test_a_commit_with_unknown_outcome_is_safe_to_retry_with_the_same_key(
    proxied: tuple[FastAPI, PgProxy], fresh_db: Database, mode: str, committed: bool
) -> None:
    app, proxy = proxied
    async with _client(app) as client:
        api = Api(client)
        customer = await api.customer(postcode=postcode_in("SW1A"))
        headers = {**customer.headers, "Idempotency-Key": f"commit-{uuid.uuid4().hex}"}

        hit = proxy.arm(mode)  # type: ignore[arg-type]
        response = await client.post("/api/connection/jobs", json=JOB, headers=headers)
        await asyncio.wait_for(hit.done.wait(), 5)
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "DATABASE_UNAVAILABLE"
        assert response.json()["outcome"] == "unknown"
        assert "Idempotency-Key" in response.json()["error"]
        assert (b"COMMIT" in hit.swallowed) is committed  # the server did commit, unseen
        assert await _jobs_of(fresh_db, customer.user_id) == (1 if committed else 0)

        retried = await client.post("/api/connection/jobs", json=JOB, headers=headers)
        assert retried.status_code == 201, retried.text
        assert (retried.headers.get("Idempotent-Replayed") == "true") is committed
        assert await _jobs_of(fresh_db, customer.user_id) == 1
        again = await client.post("/api/connection/jobs", json=JOB, headers=headers)
        assert again.json()["job_id"] == retried.json()["job_id"]
        assert await _jobs_of(fresh_db, customer.user_id) == 1


def test_a_confused_raw_connection_is_told_apart_but_not_taken_for_an_outage_everywhere() -> None:
    """asyncpg's "another operation is in progress" (what a connection dropped mid-operation
    reports) is recognised as it is and wrapped by SQLAlchemy's adapter; the general classifier
    leaves it out, since on a healthy connection it would be a bug."""
    confused = asyncpg.InternalClientError(
        "cannot switch to state 12; another operation (2) is in progress"
    )
    wrapped = RuntimeError("InternalClientError")
    wrapped.__cause__ = confused
    assert is_confused_connection(confused) and is_confused_connection(wrapped)
    assert not is_confused_connection(ValueError("no")) and not is_confused_connection(None)
    assert not is_database_unavailable(confused)
