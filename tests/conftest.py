"""Test fixtures: a real PostgreSQL for every test (no mocks).

The server is the embedded one (``pgserver``) unless ``TRADEMATCH_TEST_DATABASE_URL`` names
another (CI runs both). The schema is built once by running the Alembic migrations into a
template database; each xdist worker gets a database cloned from it (``worker_db``, with the
app on it: ``app``, ``client``, ``api``; ``module_api`` and ``admin`` for worlds a module's tests
share), a test that asks for ``fresh_db`` (matching, races, immutability, anything that counts
rows globally) gets a clone of its own (with ``fresh_app`` and ``fresh_api`` on it), and a
module that runs server processes gets ``module_db``. What tests share besides fixtures is in
``tests/flows``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import argon2.profiles
import httpx
import pytest
import pytest_asyncio
from argon2 import PasswordHasher
from fastapi import FastAPI

from tests.flows.database import (
    Database,
    clone_database,
    drop_database,
    ensure_template,
    the_server_url,
)
from tests.flows.servers import LiveServer, start_server, stop_server
from tests.flows.tracebacks import MARKER, RECORDER
from tests.flows.users import Api, User, create_admin
from tradematch.app import create_app
from tradematch.core import security
from tradematch.core.config import Settings
from tradematch.kit import clock


def _cheapest_password_hashing() -> None:
    """Passwords are hashed with argon2's cheapest parameters in the test processes (argon2's
    profile for tests): with the recommended ones, hashing the passwords of the users the tests
    register took up to a third of a module's time. The stand-in hash for unknown emails follows,
    so both sign-in paths still cost the same. Servers the tests run as processes keep the
    recommended parameters, and a hash verifies whichever parameters made it."""
    security.use_hasher(PasswordHasher.from_parameters(argon2.profiles.CHEAPEST))


_cheapest_password_hashing()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: the test provokes server tracebacks on purpose (a database outage); the "
        "run's no-traceback check leaves it out",
    )
    RECORDER.install()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked ``alone`` times something: beside another test (xdist's other worker) it
    would measure the contention, so a parallel run skips it (CI runs it with ``-n 0``).

    A test marked ``own_embedded_server`` starts an embedded PostgreSQL of its own and never
    touches the server the run is on: a run on another server (``TRADEMATCH_TEST_DATABASE_URL``)
    would repeat it unchanged, so it is left to the embedded run."""
    skips = []
    if os.environ.get("PYTEST_XDIST_WORKER"):
        reason = "times the dashboards: run alone, pytest -m alone -n 0"
        skips.append(("alone", pytest.mark.skip(reason=reason)))
    if os.environ.get("TRADEMATCH_TEST_DATABASE_URL"):
        reason = "runs an embedded PostgreSQL of its own: covered by the run on the embedded server"
        skips.append(("own_embedded_server", pytest.mark.skip(reason=reason)))
    for item in items:
        for marker, skip in skips:
            if item.get_closest_marker(marker) is not None:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _no_tracebacks(request: pytest.FixtureRequest) -> Iterator[None]:
    """The server log holds no traceback: a test during which one was logged fails."""
    RECORDER.current = request.node.nodeid
    RECORDER.module = request.node.nodeid.split("::")[0]
    RECORDER.expected = request.node.get_closest_marker(MARKER) is not None
    if RECORDER.expected:
        RECORDER.allowed_modules.add(RECORDER.module)
    before = len(RECORDER.found)
    yield
    found = RECORDER.found[before:]
    RECORDER.current, RECORDER.expected = "outside any test", False
    if found:
        del RECORDER.found[before:]
        pytest.fail(
            "tracebacks in the server log:\n" + "\n".join(str(t) for t in found), pytrace=False
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if RECORDER.found:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = ["tracebacks in the server log outside any test:"]
        lines += [f"  {t}" for t in RECORDER.found]
        if reporter is not None:
            reporter.write_line("\n".join(lines), red=True)
        else:
            print("\n".join(lines))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def server_url() -> str:
    return the_server_url()


@pytest_asyncio.fixture(scope="session")
async def template_db(server_url: str) -> str:
    return await ensure_template(server_url)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        jwt_secret="test-signing-key-that-is-long-enough-to-be-safe",
        login_max_attempts=5,
        # Every test registers its users from the same address.
        register_max_per_client=1_000_000,
        login_window_seconds=60,
        db_pool_size=20,
        log_json=False,
    )


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


@pytest_asyncio.fixture(scope="module")
async def module_db(server_url: str, template_db: str) -> AsyncIterator[Database]:
    """A database of the test module's own (for the server processes its tests share)."""
    name = f"tm_m_{uuid.uuid4().hex[:16]}"
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


@pytest_asyncio.fixture(scope="module")
async def module_api(app: FastAPI) -> AsyncIterator[Api]:
    """An API client living as long as the test module, for worlds shared by its tests."""
    async with _client(app) as c:
        yield Api(c)


@pytest_asyncio.fixture(scope="module")
async def admin(module_api: Api, worker_db: Database) -> User:
    return await create_admin(module_api, worker_db.async_url)


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def live_server(fresh_db: Database, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(fresh_db, tmp_path, "--no-worker")
    yield server
    stop_server(server)
