"""Database: the embedded PostgreSQL default and the async engine.

One code path for both servers: with ``TRADEMATCH_DATABASE_URL`` unset, an embedded PostgreSQL
(the ``pgserver`` package) is started in the data directory and reached over its Unix socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from sqlalchemy import event, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import PoolProxiedConnection

from tradematch.core import embedded
from tradematch.core.config import Settings

log = logging.getLogger(__name__)

EMBEDDED_DB_NAME = "tradematch"


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or join) the embedded server in ``data_dir/pgdata``; return its libpq URL. It is
    stopped when the last process using it exits (``core/embedded.py``)."""
    return embedded.acquire(data_dir)


def to_async_url(url: str) -> str:
    """Normalise any PostgreSQL URL to the asyncpg dialect SQLAlchemy expects."""
    parts = urlsplit(url)
    scheme = "postgresql+asyncpg"
    query = parse_qs(parts.query)
    query.pop("sslmode", None)  # libpq-only; asyncpg takes ssl= instead
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query, doseq=True), ""))


def with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


async def ensure_database_exists(url: str) -> None:
    """Create the URL's database if it is missing (used for the embedded default)."""
    import asyncpg

    target = make_url(url)
    admin_url = with_database(url, "postgres").replace("postgresql+asyncpg", "postgresql")
    conn = await asyncpg.connect(_asyncpg_dsn(admin_url), **_socket_kwargs(target))
    try:
        exists = await conn.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", target.database
        )
        if not exists:
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):  # another process won
                await conn.execute(f'CREATE DATABASE "{target.database}"')
    finally:
        await conn.close()


def _asyncpg_dsn(url: str) -> str:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    query.pop("host", None)
    return urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(query, doseq=True), ""))


def _socket_kwargs(url: Any) -> dict[str, Any]:
    host = url.query.get("host")
    return {"host": host} if host else {}


async def resolve_database_url(settings: Settings) -> str:
    """The asyncpg URL to use: the configured server, or the embedded one (started on demand,
    its database created if missing)."""
    if settings.database_url:
        return to_async_url(settings.database_url)
    uri = await asyncio.to_thread(start_embedded_postgres, settings.data_dir)
    url = with_database(to_async_url(uri), EMBEDDED_DB_NAME)
    await ensure_database_exists(url)
    return url


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int | None = None) -> AsyncEngine:
    """An engine on ``url`` with a pool of ``pool_size`` connections kept open and up to
    ``max_overflow`` more (default: as many) opened for a burst and closed when handed back.

    The API processes take no overflow (``create_app``): under steady concurrency between the
    two figures every few requests would open a connection and close another (a new backend,
    its catalog caches and the driver's prepared statements each time)."""
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_pre_ping=False,  # a round trip per request; _skip_closed catches the usual case free
        pool_recycle=1800,
        connect_args={"server_settings": {"application_name": "tradematch"}},
    )
    event.listen(engine.sync_engine, "checkout", _skip_closed)
    return engine


def _skip_closed(dbapi_connection: Any, record: Any, proxy: PoolProxiedConnection) -> None:
    """A pooled connection whose server went away while it sat idle (a restart, a terminated
    backend, an idle timeout) already knows it: the server's goodbye and the socket's end reached
    asyncpg through the event loop. The pool replaces such a connection at checkout instead of
    handing it to a request that would fail on it (SQLAlchemy's documented checkout handler)."""
    if proxy.driver_connection is None or proxy.driver_connection.is_closed():
        raise DisconnectionError("the connection was closed while idle in the pool")
