"""Test fixtures: a real PostgreSQL for every test (no mocks).

The server is the embedded one (``pgserver``) unless ``TRADEMATCH_TEST_DATABASE_URL`` names
another (CI runs both). The schema is built once by running the Alembic migrations into a
template database; each xdist worker gets a database cloned from it, and tests marked
``fresh_db`` (matching, races, immutability, anything that counts rows globally) get a clone of
their own.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from tradematch.app import create_app
from tradematch.core.config import Settings
from tradematch.core.database import to_async_url, with_database
from tradematch.db.migrate import MIGRATIONS_DIR, upgrade
from tradematch.kit import clock

from .helpers import Api

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / ".tmp"
TEMPLATE_LOCK = 7_431_100


def _server_url() -> str:
    """libpq URL of the server's maintenance database."""
    configured = os.environ.get("TRADEMATCH_TEST_DATABASE_URL")
    if configured:
        return configured
    from tradematch.core import embedded

    SCRATCH.mkdir(exist_ok=True)
    # Stopped when the last test worker exits; one orphaned by a killed run is recovered here.
    return embedded.acquire(SCRATCH / "test-server")


def _connect_kwargs(url: str) -> tuple[str, dict[str, str]]:
    from sqlalchemy import make_url

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


async def _ensure_template(server_url: str) -> str:
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


@pytest.fixture(scope="session")
def server_url() -> str:
    return _server_url()


@pytest_asyncio.fixture(scope="session")
async def template_db(server_url: str) -> str:
    return await _ensure_template(server_url)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        jwt_secret="test-signing-key-that-is-long-enough-to-be-safe",  # type: ignore[arg-type]
        login_max_attempts=5,
        login_window_seconds=60,
        db_pool_size=20,
        log_json=False,
    )


class Database:
    """A database of the test run: its libpq URL (for subprocesses) and asyncpg URL."""

    def __init__(self, server_url: str, name: str) -> None:
        self.name = name
        self.url = with_database(server_url, name)
        self.async_url = to_async_url(self.url)

    async def connect(self) -> asyncpg.Connection:
        dsn, kwargs = _connect_kwargs(self.url)
        return await asyncpg.connect(dsn, **kwargs)


@pytest_asyncio.fixture(scope="session")
async def worker_db(server_url: str, template_db: str, worker_id: str) -> AsyncIterator[Database]:
    name = f"tm_w_{worker_id}_{os.getpid()}"
    await drop_database(server_url, name)
    await clone_database(server_url, template_db, name)
    yield Database(server_url, name)
    await drop_database(server_url, name)


@pytest_asyncio.fixture
async def fresh_db(server_url: str, template_db: str) -> AsyncIterator[Database]:
    name = f"tm_f_{uuid.uuid4().hex[:16]}"
    await clone_database(server_url, template_db, name)
    yield Database(server_url, name)
    await drop_database(server_url, name)


async def _started(app: FastAPI) -> AsyncIterator[FastAPI]:
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture(scope="session")
async def app(settings: Settings, worker_db: Database) -> AsyncIterator[FastAPI]:
    async for started in _started(create_app(settings, database_url=worker_db.async_url)):
        yield started


@pytest_asyncio.fixture
async def fresh_app(settings: Settings, fresh_db: Database) -> AsyncIterator[FastAPI]:
    async for started in _started(create_app(settings, database_url=fresh_db.async_url)):
        yield started


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30)


@pytest_asyncio.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as c:
        yield c


@pytest_asyncio.fixture
async def api(client: httpx.AsyncClient) -> Api:
    """Helpers over the shared worker database (vendors are placed in an area of their own)."""
    return Api(client)


@pytest_asyncio.fixture
async def fresh_api(fresh_app: FastAPI) -> AsyncIterator[Api]:
    """Helpers over a database of the test's own."""
    async with _client(fresh_app) as c:
        yield Api(c)


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(self, base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.base_url = base_url
        self.process = process
        self.log = log


def start_server(db: Database, data_dir: Path, *extra_args: str) -> LiveServer:
    """Run ``tradematch serve`` as a real process (real uvicorn, real sockets)."""
    port = _free_port()
    env = {
        **os.environ,
        "TRADEMATCH_DATABASE_URL": db.url,
        "TRADEMATCH_DATA_DIR": str(data_dir),
        "TRADEMATCH_JWT_SECRET": "e2e-signing-key-that-is-long-enough-to-be-safe",
        "TRADEMATCH_LOG_JSON": "true",
    }
    log = data_dir / f"serve-{port}.log"
    handle = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tradematch", "serve", "--port", str(port), *extra_args],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return LiveServer(base_url, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not become ready:\n{log.read_text()}")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture
def live_server(fresh_db: Database, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(fresh_db, tmp_path, "--no-worker")
    yield server
    stop_server(server)
