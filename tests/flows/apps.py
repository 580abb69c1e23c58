"""An app of a test's own: its settings, the app in process with a client, a dispatcher running
beside it, and waiting for something to become true."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.flows.database import Database
from tests.flows.users import Api
from tradematch.app import create_app
from tradematch.core.config import Settings
from tradematch.worker.dispatcher import Dispatcher

JWT_SECRET = "notification-tests-signing-key-long-enough"

# Short timings so retries, leases and backoff play out in seconds.
FAST: dict[str, Any] = {
    "notify_backoff_base_seconds": 0.05,
    "notify_backoff_max_seconds": 0.2,
    "notify_lease_seconds": 3.0,
    "notify_send_timeout_seconds": 2.0,
    "notify_poll_seconds": 0.1,
}


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        jwt_secret=JWT_SECRET,
        log_json=False,
        db_pool_size=20,
        # Every test registers its users from the same address.
        **{"register_max_per_client": 1_000_000, **FAST, **overrides},
    )


@asynccontextmanager
async def app_for(db: Database, settings: Settings) -> AsyncIterator[tuple[FastAPI, Api]]:
    """The API (no worker inside) on ``db`` with ``settings``, and a client for it."""
    app = create_app(settings, database_url=db.async_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=30
        ) as client:
            yield app, Api(client)


@asynccontextmanager
async def dispatching(app: FastAPI, settings: Settings | None = None) -> AsyncIterator[None]:
    """A dispatcher running in this process until the block ends."""
    stop = asyncio.Event()
    dispatcher = Dispatcher(app.state.sessionmaker, settings or app.state.settings)
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def eventually(
    check: Callable[[], Awaitable[bool]], *, seconds: float = 30, what: str = "condition"
) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def sessionmaker_of(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return maker


def settings_of(app: FastAPI) -> Settings:
    settings: Settings = app.state.settings
    return settings
