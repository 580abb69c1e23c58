"""The hub stops with its application, whatever it is doing at that moment, and reads
nothing while no socket is connected to it."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.flows.apps import eventually
from tests.flows.database import Database
from tests.flows.deals import send_message
from tests.flows.users import Api, marketplace
from tradematch.app import create_app
from tradematch.core.config import Settings
from tradematch.events import service as event_service


async def chat(app: FastAPI, *texts: str) -> None:
    """A job offered to one vendor, accepted, and ``texts`` sent in its conversation by the
    customer and the vendor in turn: commits that each NOTIFY the app's hub."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        api = Api(client)
        world = await marketplace(api, vendors=1)
        vendor = world.vendors[0]
        conversation_id = (await api.accept(vendor, world.leads[vendor.user_id]))["conversation_id"]
        for turn, text in enumerate(texts):
            await send_message(client, (world.customer, vendor)[turn % 2], conversation_id, text)


async def test_the_app_stops_promptly_right_after_a_commit_notified_the_hub(
    fresh_db: Database, settings: Settings
) -> None:
    """Shutting down just as a NOTIFY wakes the hub (a regression: on Python 3.11
    ``asyncio.wait_for`` swallowed the hub's cancellation then, and shutdown hung)."""
    for _ in range(5):
        app = create_app(settings, database_url=fresh_db.async_url)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        await chat(app, "Monday?", "Yes, from 8am.")
        # Hanging is the failure; how long a shutdown takes is bench/ws_latency.py's to report.
        await asyncio.wait_for(lifespan.__aexit__(None, None, None), 20)


async def test_a_hub_with_no_socket_reads_nothing_on_commits(
    fresh_db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process nobody holds a socket on (an API process behind a load balancer that sends the
    sockets elsewhere, say) is woken by every commit's NOTIFY; it must not query the database
    for it (the horizon or the events): with N such processes, each commit would cost N reads."""
    hub_reads: list[str] = []
    for name in ("horizon", "new_events"):
        original = getattr(event_service, name)

        def spy(
            db: Any, *args: Any, _name: str = name, _original: Any = original, **kw: Any
        ) -> Any:
            if isinstance(db, asyncpg.Connection):  # the hub's own connection, not a session
                hub_reads.append(_name)
            return _original(db, *args, **kw)

        monkeypatch.setattr(event_service, name, spy)

    app = create_app(settings, database_url=fresh_db.async_url)
    async with app.router.lifespan_context(app):
        hub = app.state.hub

        async def started() -> bool:  # connected, and read its starting point
            return hub.cursor is not None

        await eventually(started, seconds=10, what="the hub's first read")
        hub_reads.clear()
        await chat(app, "Monday?", "Yes, from 8am.", "Great, see you then.")
        await asyncio.sleep(0.5)  # the NOTIFYs have arrived and woken the hub
        assert hub.socket_count == 0
        assert hub_reads == []
