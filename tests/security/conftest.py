from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from fastapi import FastAPI

from tests.flows.database import Database
from tests.flows.users import Api, User, create_admin


@pytest_asyncio.fixture(scope="module")
async def module_api(app: FastAPI) -> AsyncIterator[Api]:
    """An API client living as long as the test module, for worlds shared by its tests."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", timeout=30
    ) as c:
        yield Api(c)


@pytest_asyncio.fixture(scope="module")
async def admin(module_api: Api, worker_db: Database) -> User:
    return await create_admin(module_api, worker_db.async_url)
