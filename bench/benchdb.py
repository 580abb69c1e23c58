"""What both benchmarks need: a database server (embedded unless a URL is given) and a new,
migrated database on it that is dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import make_url

from tradematch.core.database import start_embedded_postgres, to_async_url, with_database
from tradematch.migrations import upgrade

ROOT = Path(__file__).resolve().parent.parent
URL_ENV = "TRADEMATCH_BENCH_DATABASE_URL"


def libpq(url: str) -> tuple[str, dict[str, str]]:
    parsed = make_url(url)
    host = parsed.query.get("host")
    dsn = parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    return dsn, ({"host": host} if isinstance(host, str) else {})


async def connect(url: str) -> asyncpg.Connection:
    dsn, kwargs = libpq(url)
    return await asyncpg.connect(dsn, **kwargs)


def server_url(explicit: str | None) -> str:
    configured = explicit or os.environ.get(URL_ENV)
    if configured:
        return configured
    data = ROOT / ".tmp" / "bench"
    print(f"embedded PostgreSQL in {data / 'pgdata'}")
    return start_embedded_postgres(data)


@asynccontextmanager
async def bench_database(server_url: str, keep: bool) -> AsyncIterator[str]:
    """A new, migrated database on the server; its libpq URL."""
    name = f"tm_bench_{uuid.uuid4().hex[:10]}"
    admin = await connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(server_url, name)
    try:
        await upgrade(to_async_url(url))
        yield url
    finally:
        if keep:
            print(f"kept database {name}: {url}")
        else:
            admin = await connect(server_url)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()
