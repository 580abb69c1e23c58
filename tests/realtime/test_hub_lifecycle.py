"""The hub stops with its application, whatever it is doing at that moment."""

from __future__ import annotations

import asyncio

import httpx

from tests.flows.database import Database
from tests.flows.deals import send_message
from tests.flows.users import Api, marketplace
from tradematch.app import create_app
from tradematch.core.config import Settings


async def test_the_app_stops_promptly_right_after_a_commit_notified_the_hub(
    fresh_db: Database, settings: Settings
) -> None:
    """Shutting down just as a NOTIFY wakes the hub (a regression: on Python 3.11
    ``asyncio.wait_for`` swallowed the hub's cancellation then, and shutdown hung)."""
    for _ in range(5):
        app = create_app(settings, database_url=fresh_db.async_url)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            api = Api(client)
            world = await marketplace(api, vendors=1)
            vendor = world.vendors[0]
            conversation_id = (await api.accept(vendor, world.leads[vendor.user_id]))[
                "conversation_id"
            ]
            await send_message(client, world.customer, conversation_id, "Monday?")
            await send_message(client, vendor, conversation_id, "Yes, from 8am.")
        # Hanging is the failure; how long a shutdown takes is bench/ws_latency.py's to report.
        await asyncio.wait_for(lifespan.__aexit__(None, None, None), 20)
