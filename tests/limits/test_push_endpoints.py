"""Web push never reaches this machine or its network (server-side request forgery): an endpoint
on a loopback, private, link-local, multicast or reserved address is refused when subscribing,
and every connection the dispatcher makes is checked again after DNS (a listener on loopback must
never be contacted). A delivery to dead push services is bounded in time; at most ten
subscriptions are kept per user."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.flows.apps import app_for, make_settings, sessionmaker_of
from tests.flows.database import Database, fetch
from tests.flows.peers import Subscriber
from tests.flows.servers import listening_socket
from tests.flows.users import Api, User
from tradematch.core.config import Settings
from tradematch.kit.network import is_public
from tradematch.notifications import vapid
from tradematch.notifications.channels.base import Delivery, DeliveryFailed
from tradematch.notifications.channels.push import PushChannel

PUSH = "/api/connection/notifications/push-subscriptions"


@dataclass
class Listener:
    port: int
    connections: int = 0


@asynccontextmanager
async def listener(*, answer: bool = False) -> AsyncIterator[Listener]:
    """A TCP listener on loopback that counts connections (and never answers)."""
    sock = listening_socket()
    found = Listener(port=sock.getsockname()[1])
    held: list[asyncio.StreamWriter] = []

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        found.connections += 1
        held.append(writer)

    server = await asyncio.start_server(accepted, sock=sock)
    try:
        yield found
    finally:
        server.close()
        for writer in held:
            writer.close()


async def _subscribe(api: Api, user: User, endpoint: str) -> int:
    response = await api.client.post(
        PUSH, json={"endpoint": endpoint, "keys": Subscriber().keys}, headers=user.headers
    )
    return response.status_code


def _delivery(user: User) -> Delivery:
    return Delivery(
        id="ntf_test",
        event_id="evt_test",
        user_id=user.user_id,
        channel="push",
        title="Title",
        body="Body",
        attempts=0,
        created_at=datetime.now(UTC),
        email=None,
        name=None,
    )


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    ],
)
def test_non_public_addresses_are_recognised(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "142.250.180.14", "2a00:1450:4009:81f::200e"])
def test_public_addresses_pass(address: str) -> None:
    assert is_public(address)


async def test_subscribing_to_a_private_endpoint_is_refused(
    worker_db: Database, tmp_path: Path
) -> None:
    async with listener() as local, app_for(worker_db, make_settings(tmp_path)) as (_, api):
        user = await api.customer()
        for endpoint in [
            f"https://127.0.0.1:{local.port}/push",
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.1/",
            "https://[::1]/push",
            "https://[::ffff:127.0.0.1]/push",
            "https://[fe80::1]/push",
            "https://0.0.0.0/push",
            "https://localhost/push",
            f"https://localhost:{local.port}/push",
            "https://2130706433/push",  # 127.0.0.1 as one number
        ]:
            assert await _subscribe(api, user, endpoint) == 422, endpoint
        stored = await fetch(
            worker_db, "SELECT id FROM push_subscriptions WHERE user_id = $1", user.user_id
        )
        assert stored == []
    assert local.connections == 0


async def test_the_dispatcher_never_connects_to_a_private_address(
    worker_db: Database, tmp_path: Path
) -> None:
    """A subscription whose host later points inward (DNS changed, or a row from before the
    check) is not connected to: by IP literal, by name, or after a redirect."""
    settings = make_settings(tmp_path)
    async with listener() as local, app_for(worker_db, settings) as (app, api):
        user = await api.customer()
        assert await _subscribe(api, user, f"https://push.example.net/{user.user_id}") == 201
        channel = PushChannel(settings, sessionmaker_of(app))
        conn = await worker_db.connect()
        try:
            for endpoint in [
                f"https://127.0.0.1:{local.port}/push",
                f"http://127.0.0.1:{local.port}/push",
                f"https://localhost:{local.port}/push",
                f"http://[::ffff:127.0.0.1]:{local.port}/push",
            ]:
                await conn.execute(
                    "UPDATE push_subscriptions SET endpoint = $1 WHERE user_id = $2",
                    endpoint,
                    user.user_id,
                )
                with pytest.raises(DeliveryFailed):
                    await channel.deliver(_delivery(user))
        finally:
            await conn.close()
            await channel.close()
    assert local.connections == 0


async def test_dead_push_services_cannot_hold_a_delivery(
    worker_db: Database, tmp_path: Path
) -> None:
    """Sends run side by side, bounded together by the send timeout: ten push services that
    accept and never answer cost one timeout, not ten."""
    settings = make_settings(
        tmp_path, push_allow_private_networks=True, notify_send_timeout_seconds=1.0
    )
    async with listener() as silent, app_for(worker_db, settings) as (app, api):
        user = await api.customer()
        for n in range(10):
            assert await _subscribe(api, user, f"https://push.example.net/{n}") == 201
        conn = await worker_db.connect()
        try:
            await conn.execute(
                "UPDATE push_subscriptions SET endpoint = "
                "'http://127.0.0.1:' || $1::text || '/' || id::text WHERE user_id = $2",
                str(silent.port),
                user.user_id,
            )
        finally:
            await conn.close()
        channel = PushChannel(settings, sessionmaker_of(app))
        started = time.monotonic()
        try:
            with pytest.raises(DeliveryFailed):
                await channel.deliver(_delivery(user))
        finally:
            await channel.close()
        assert time.monotonic() - started < 5
    assert silent.connections == 10


async def test_a_user_keeps_at_most_ten_subscriptions(worker_db: Database, tmp_path: Path) -> None:
    async with app_for(worker_db, make_settings(tmp_path)) as (_, api):
        user = await api.customer()
        for n in range(11):
            assert await _subscribe(api, user, f"https://push.example.net/{n}") == 201
        kept = await fetch(
            worker_db,
            "SELECT endpoint FROM push_subscriptions WHERE user_id = $1 ORDER BY id",
            user.user_id,
        )
        assert [row["endpoint"] for row in kept] == [
            f"https://push.example.net/{n}" for n in range(1, 11)
        ]


def test_production_refuses_private_push_networks(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="PUSH_ALLOW_PRIVATE_NETWORKS"):
        Settings(
            environment="production",
            database_url="postgresql://db/tradematch",
            jwt_secret="x" * 40,
            vapid_private_key=vapid._generate_key(),
            data_dir=tmp_path,
            push_allow_private_networks=True,
        )
