"""Fixtures for the live-update tests: real ``tradematch serve --no-worker`` processes shared
by the tests of one module, on a database of that module's own (starting a server takes a few
seconds; the tests keep to users of their own, so they can share one)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest
import pytest_asyncio

from tests.conftest import (
    Database,
    LiveServer,
    clone_database,
    drop_database,
    start_server,
    stop_server,
)


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the server processes started inside the block."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest_asyncio.fixture(scope="module")
async def module_db(server_url: str, template_db: str) -> AsyncIterator[Database]:
    name = f"tm_m_{uuid.uuid4().hex[:16]}"
    await clone_database(server_url, template_db, name)
    yield Database(server_url, name)
    await drop_database(server_url, name)


@contextmanager
def running_servers(
    db: Database, tmp_path_factory: pytest.TempPathFactory, count: int, **env: str
) -> Iterator[list[LiveServer]]:
    servers: list[LiveServer] = []
    try:
        with environment(**env):
            for _ in range(count):
                servers.append(start_server(db, tmp_path_factory.mktemp("serve"), "--no-worker"))
        yield servers
    finally:
        for server in servers:
            stop_server(server)
