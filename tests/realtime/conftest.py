"""Fixtures for the live-update tests: real ``tradematch serve --no-worker`` processes shared
by the tests of one module, on a database of that module's own (starting a server takes a few
seconds; the tests keep to users of their own, so they can share one)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest_asyncio

from tests.flows.database import Database, clone_database, drop_database


@pytest_asyncio.fixture(scope="module")
async def module_db(server_url: str, template_db: str) -> AsyncIterator[Database]:
    name = f"tm_m_{uuid.uuid4().hex[:16]}"
    await clone_database(server_url, template_db, name)
    yield Database(server_url, name)
    await drop_database(server_url, name)
