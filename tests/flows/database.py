"""The test run's databases and what tests read from them directly: the migrated template and
its clones, SQL readers for what the API has no view of, whole-database snapshots for "nothing
changed" checks, lock waiters, and events committed without going through HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import make_url

from tradematch.core.config import Settings
from tradematch.core.database import create_engine, to_async_url, with_database
from tradematch.migrations import MIGRATIONS_DIR, upgrade

ROOT = Path(__file__).resolve().parent.parent.parent
SCRATCH = ROOT / ".tmp"
TEMPLATE_LOCK = 7_431_100


def the_server_url() -> str:
    """libpq URL of the server's maintenance database."""
    configured = os.environ.get("TRADEMATCH_TEST_DATABASE_URL")
    if configured:
        return configured
    from tradematch.core import embedded

    SCRATCH.mkdir(exist_ok=True)
    # Stopped when the last test worker exits; one orphaned by a killed run is recovered here.
    return embedded.acquire(SCRATCH / "test-server")


def _connect_kwargs(url: str) -> tuple[str, dict[str, str]]:
    parsed = make_url(url)
    host = parsed.query.get("host")
    dsn = parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    return dsn, ({"host": host} if isinstance(host, str) else {})


def _migrations_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS_DIR.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


async def _admin(url: str) -> asyncpg.Connection:
    dsn, kwargs = _connect_kwargs(url)
    return await asyncpg.connect(dsn, **kwargs)


async def ensure_template(server_url: str) -> str:
    name = f"tm_tpl_{_migrations_digest()}"
    conn = await _admin(server_url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", TEMPLATE_LOCK)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                building = f"{name}_build"
                await conn.execute(f'DROP DATABASE IF EXISTS "{building}"')
                await conn.execute(f'CREATE DATABASE "{building}"')
                await upgrade(to_async_url(with_database(server_url, building)))
                await conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", TEMPLATE_LOCK)
    finally:
        await conn.close()
    return name


async def clone_database(server_url: str, template: str, name: str) -> None:
    conn = await _admin(server_url)
    try:
        for attempt in range(50):  # CREATE DATABASE fails while another clone reads the template
            try:
                await conn.execute("SELECT pg_advisory_lock($1)", TEMPLATE_LOCK)
                try:
                    await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                finally:
                    await conn.execute("SELECT pg_advisory_unlock($1)", TEMPLATE_LOCK)
                return
            except asyncpg.ObjectInUseError:
                await asyncio.sleep(0.05 * (attempt + 1))
        raise RuntimeError(f"could not clone {template}")
    finally:
        await conn.close()


async def drop_database(server_url: str, name: str) -> None:
    conn = await _admin(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


class Database:
    """A database of the test run: its libpq URL (for subprocesses) and asyncpg URL."""

    def __init__(self, server_url: str, name: str) -> None:
        self.name = name
        self.url = with_database(server_url, name)
        self.async_url = to_async_url(self.url)

    async def connect(self) -> asyncpg.Connection:
        dsn, kwargs = _connect_kwargs(self.url)
        return await asyncpg.connect(dsn, **kwargs)


# --- reading ---------------------------------------------------------------------------------


async def fetch(db: Database, query: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of a read-only SQL query against the test's database."""
    conn = await db.connect()
    try:
        return [dict(row) for row in await conn.fetch(query, *args)]
    finally:
        await conn.close()


async def fetchval(db: Database, query: str, *args: Any) -> Any:
    conn = await db.connect()
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def wait_for_lock_waiters(
    conn: Any, count: int = 1, *, wait_event: str | None = None, seconds: float = 15
) -> None:
    """Wait until ``count`` sessions of this database are blocked on a lock (``wait_event``:
    e.g. ``advisory``, ``transactionid``, ``tuple``); ``conn`` is an asyncpg connection."""
    deadline = time.monotonic() + seconds
    while True:
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND ($1::text IS NULL OR wait_event = $1)",
            wait_event,
        )
        if waiting >= count:
            return
        assert time.monotonic() < deadline, f"{waiting} of {count} sessions waiting on a lock"
        await asyncio.sleep(0.02)


# --- snapshots -------------------------------------------------------------------------------

# Every table a request of the flow can write (static reference data and login bookkeeping
# left out). A snapshot is the text of every row, so any change to any column shows.
SNAPSHOT_TABLES = (
    "users",
    "vendor_profiles",
    "vendor_trades",
    "jobs",
    "leads",
    "quotes",
    "conversations",
    "messages",
    "conversation_reads",
    "escrow_accounts",
    "ledger_accounts",
    "ledger_transactions",
    "ledger_entries",
    "milestones",
    "disputes",
    "reviews",
    "event_log",
    "event_audience",
    "notifications",
    "idempotency_keys",
)

Snapshot = dict[str, list[str]]


async def snapshot(conn: Any) -> Snapshot:
    taken: Snapshot = {}
    for table in SNAPSHOT_TABLES:
        rows = await conn.fetch(f"SELECT t::text AS row FROM {table} t")
        taken[table] = sorted(r["row"] for r in rows)
    return taken


def changes(before: Snapshot, after: Snapshot) -> dict[str, dict[str, list[str]]]:
    """Per table, the rows that disappeared and the rows that appeared (or changed)."""
    found = {}
    for table in SNAPSHOT_TABLES:
        gone = sorted(set(before[table]) - set(after[table]))
        new = sorted(set(after[table]) - set(before[table]))
        if gone or new:
            found[table] = {"before": gone, "after": new}
    return found


@asynccontextmanager
async def unchanged(db: Database) -> AsyncIterator[None]:
    """Assert the block changed no row of any table."""
    conn = await db.connect()
    try:
        before = await snapshot(conn)
        yield
        changed = changes(before, await snapshot(conn))
        assert not changed, changed
    finally:
        await conn.close()


# --- writing as the services do, without HTTP ------------------------------------------------


async def commit_events(
    database_url: str,
    audience: list[str],
    count: int,
    *,
    filler_bytes: int = 0,
    job_id: str | None = None,
) -> None:
    """Commit ``count`` events for ``audience`` in one transaction, through the production
    ``emit()``/``flush()`` path (as any API process would), without going through HTTP: for
    volumes the API would take long to produce. ``MESSAGES_READ`` queues no notification."""
    from tradematch.authz.actor import SYSTEM
    from tradematch.core.database import create_engine
    from tradematch.events.log import emit, flush
    from tradematch.events.types import EventType
    from tradematch.sessions import create_sessionmaker

    engine = create_engine(database_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            for i in range(count):
                emit(
                    session,
                    EventType.MESSAGES_READ,
                    actor=SYSTEM,
                    job_id=job_id,
                    # A MESSAGES_READ payload's fields (the API's schema), and the test's own.
                    payload={
                        "conversation_id": "conv_bulk",
                        "reader_id": audience[0] if audience else "usr_bulk",
                        "last_read_position": i,
                        "n": i,
                        "filler": "x" * filler_bytes,
                    },
                    audience=audience,
                )
            await flush(session)
    finally:
        await engine.dispose()


async def run_auto_approval(db: Database, settings: Settings, *, batch: int = 20) -> int:
    """One run of the 14-day auto-approval, as the scheduler does it: the service function in a
    unit of work of its own, events written just before COMMIT."""
    from tradematch.events.unit_of_work import unit_of_work
    from tradematch.milestones.service import auto_approve_due
    from tradematch.sessions import create_sessionmaker

    engine = create_engine(db.async_url, pool_size=1)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            approved = await auto_approve_due(session, settings, batch=batch)
        return approved
    finally:
        await engine.dispose()


async def events_settled(db: Database, within: float = 30) -> None:
    """Wait until every committed event is below the log's horizon, so readers see them all.

    (Readers stop at the oldest transaction still running in the database: one of the test's
    own, or of a server process it started, holds them back for a while.)"""
    conn = await db.connect()
    try:
        deadline = asyncio.get_running_loop().time() + within
        while not await conn.fetchval(
            "SELECT tm_event_horizon() > coalesce(max(seq), 0) FROM event_log"
        ):
            assert asyncio.get_running_loop().time() < deadline, "events held back too long"
            await asyncio.sleep(0.02)
    finally:
        await conn.close()
