"""Behind a transaction-mode pool, LISTEN needs a session of its own:
``TRADEMATCH_DIRECT_DATABASE_URL`` sends each API process's listener there, while requests use
``TRADEMATCH_DATABASE_URL``.

The two URLs name two different databases here, so where the listener connected shows in
``pg_stat_activity``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio

from tests.flows.database import Database, clone_database, drop_database
from tradematch.app import create_app
from tradematch.core.config import Settings

HUB_SESSIONS = (
    "SELECT datname FROM pg_stat_activity WHERE application_name = 'tradematch-hub'"
    " AND datname = ANY($1)"
)


@pytest_asyncio.fixture
async def other_db(server_url: str, template_db: str) -> AsyncIterator[Database]:
    name = f"tm_f_{uuid.uuid4().hex[:16]}"
    await clone_database(server_url, template_db, name)
    yield Database(server_url, name)
    await drop_database(server_url, name)


async def hub_sessions(db: Database, names: list[str], want: list[str]) -> list[str]:
    """The databases the listeners of the test's two databases are connected to, once they are
    ``want`` (a closed session leaves the list a moment after it ends), or after 20 s."""
    conn = await db.connect()
    try:
        deadline = time.monotonic() + 20
        while True:
            found = sorted(r["datname"] for r in await conn.fetch(HUB_SESSIONS, names))
            if found == want or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def test_the_listener_uses_the_direct_url_when_one_is_set(
    settings: Settings, fresh_db: Database, other_db: Database
) -> None:
    names = [fresh_db.name, other_db.name]
    direct = settings.model_copy(update={"direct_database_url": other_db.url})
    app = create_app(direct, database_url=fresh_db.async_url)
    async with app.router.lifespan_context(app):
        assert await hub_sessions(fresh_db, names, [other_db.name]) == [other_db.name]

    plain = create_app(settings, database_url=fresh_db.async_url)
    async with plain.router.lifespan_context(plain):
        assert await hub_sessions(fresh_db, names, [fresh_db.name]) == [fresh_db.name]
