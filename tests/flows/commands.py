"""Commands and superuser changes: running a ``tradematch`` command on a test database, and
changing rows the database refuses to change, as a superuser can (the tamper-evidence tests)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from tests.flows.database import Database


async def tradematch(
    db: Database,
    data_dir: Path,
    *args: str,
    unset: Iterable[str] = (),
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``tradematch *args`` run to completion on ``db``, without a terminal (``unset``: variables
    it must not inherit; ``env``: more); its exit status and output."""
    environment = {k: v for k, v in os.environ.items() if k not in set(unset)}
    environment |= {"TRADEMATCH_DATABASE_URL": db.url, "TRADEMATCH_DATA_DIR": str(data_dir)}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tradematch", *args],
        env=environment | (env or {}),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


@asynccontextmanager
async def superuser(db: Database, *tables: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection in one transaction with the immutability triggers of ``tables`` switched off;
    they are switched back on before it commits (after the deferred checks a deletion queued,
    such as the ledger's foreign key to the event log)."""
    conn = await db.connect()
    try:
        async with conn.transaction():
            for table in tables:
                await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_immutable")
            yield conn
            await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in tables:
                await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_immutable")
    finally:
        await conn.close()
