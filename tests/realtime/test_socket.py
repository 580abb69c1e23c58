"""The live-update socket's handshake and housekeeping: authentication, heartbeats, expiry,
revocation and the client messages, against a real ``tradematch serve`` process."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterator
from urllib.parse import unquote

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.flows.database import Database
from tests.flows.deals import send_message
from tests.flows.live import LiveSocket, metric
from tests.flows.servers import LiveServer, running_servers
from tests.flows.users import Api, marketplace
from tradematch.core.security import issue_token

E2E_SIGNING_KEY = "e2e-signing-key-that-is-long-enough-to-be-safe"  # tests/conftest.start_server


@pytest.fixture(scope="module")
def quick_server(
    module_db: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A server whose hub sends heartbeats (and re-checks accounts) every 0.2 s."""
    with running_servers(module_db, tmp_path_factory, 1, TRADEMATCH_WS_HEARTBEAT_SECONDS="0.2") as (
        server,
    ):
        yield server


@pytest.fixture
def live_server(quick_server: LiveServer) -> LiveServer:
    return quick_server


@pytest.fixture
def fresh_db(module_db: Database) -> Database:
    return module_db


async def test_token_in_the_query_string_works(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as http:
        api = Api(http)
        world = await marketplace(api, vendors=1)
        vendor = world.vendors[0]
        socket = await LiveSocket.open(live_server.base_url, vendor, via_query=True)
        accepted = await api.accept(vendor, world.leads[vendor.user_id])
        got = await socket.until_event("LEAD_ACCEPTED", lead_id=world.leads[vendor.user_id])
        assert got["event"]["event_id"] == accepted["event_id"]
        greeting = socket.received[0][1]
        assert greeting == {
            "type": "ready",
            "user_id": vendor.user_id,
            "role": "vendor",
            "heartbeat_seconds": 0.2,
        }


async def _rejected(base_url: str, **kwargs: object) -> int | None:
    socket = await LiveSocket.open(base_url, ready=False, **kwargs)  # type: ignore[arg-type]
    return await socket.closed_with()


async def test_bad_credentials_are_refused_with_policy_violation(
    live_server: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as http:
        user = await Api(http).customer()
    url = live_server.base_url
    expired = issue_token(E2E_SIGNING_KEY, user.user_id, "customer", ttl_seconds=-60)
    forged = issue_token("another-key-that-is-long-enough-to-sign-with", user.user_id, "x", 600)
    ghost = issue_token(E2E_SIGNING_KEY, "usr_doesnotexist", "admin", ttl_seconds=600)
    assert await _rejected(url) == 1008  # no token at all
    assert await _rejected(url, token="not-a-jwt") == 1008
    assert await _rejected(url, token="not-a-jwt", via_query=True) == 1008
    assert await _rejected(url, token=expired) == 1008
    assert await _rejected(url, token=forged, via_query=True) == 1008
    assert await _rejected(url, token=ghost) == 1008  # signed, but no such user
    assert await _rejected(url, token=user.token, debug="1") == 1008  # unknown parameter
    assert await _rejected(url, token=user.token, resume_from="-1") == 1008
    # The same token, well-formed request: accepted.
    socket = await LiveSocket.open(url, user)
    await socket.send({"type": "ping"})
    assert (await socket.until(lambda m: m["type"] != "heartbeat")) == {"type": "pong"}


async def test_unusable_client_messages_get_an_error_and_the_socket_stays(
    live_server: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as http:
        user = await Api(http).customer()
    socket = await LiveSocket.open(live_server.base_url, user)
    for bad in ("not json", "[1, 2]", '{"resume_from": "soon"}', '{"resume_from": -5}', "{}"):
        await socket.ws.send(bad)
        error = await socket.until(lambda m: m["type"] != "heartbeat")
        assert error["type"] == "error" and error["code"] == "INVALID_MESSAGE", bad
    await socket.send({"type": "ping"})
    assert (await socket.until(lambda m: m["type"] != "heartbeat")) == {"type": "pong"}


async def test_an_idle_socket_gets_heartbeats_at_the_configured_pace(
    quick_server: LiveServer,
) -> None:
    """Heartbeats keep an idle socket alive, one per quiet ``heartbeat_seconds`` (never more
    often: how much later under load is not this test's business)."""
    async with httpx.AsyncClient(base_url=quick_server.base_url, timeout=30) as http:
        user = await Api(http).customer()
    socket = await LiveSocket.open(quick_server.base_url, user)
    assert socket.received[0][1]["heartbeat_seconds"] == 0.2
    for _ in range(3):
        assert (await socket.next(within=10)) == {"type": "heartbeat"}
    arrivals = [at for at, _ in socket.received]
    assert all(later - earlier >= 0.15 for earlier, later in itertools.pairwise(arrivals))


async def test_a_socket_ends_when_its_token_expires(quick_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=quick_server.base_url, timeout=30) as http:
        user = await Api(http).customer()
    short_lived = issue_token(E2E_SIGNING_KEY, user.user_id, "customer", ttl_seconds=2)
    socket = await LiveSocket.open(quick_server.base_url, token=short_lived)
    started = time.monotonic()
    assert await socket.closed_with(within=10) == 1008
    assert time.monotonic() - started > 1
    assert "expired" in (socket.ws.close_reason or "")


async def test_a_disabled_account_loses_its_socket(
    quick_server: LiveServer, fresh_db: Database
) -> None:
    async with httpx.AsyncClient(base_url=quick_server.base_url, timeout=30) as http:
        api = Api(http)
        world = await marketplace(api, vendors=1)
        vendor = world.vendors[0]
        conversation_id = (await api.accept(vendor, world.leads[vendor.user_id]))["conversation_id"]
        socket = await LiveSocket.open(quick_server.base_url, world.customer)
        conn = await fresh_db.connect()
        try:
            await conn.execute(
                "UPDATE users SET is_active = false WHERE id = $1", world.customer.user_id
            )
        finally:
            await conn.close()
        assert await socket.closed_with(within=10) == 1008
        # and gets nothing more: a reconnection is refused.
        await send_message(http, vendor, conversation_id, "still there?")
        assert await _rejected(quick_server.base_url, user=world.customer) == 1008


async def test_a_client_that_goes_away_does_not_disturb_the_server(
    live_server: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as http:
        api = Api(http)
        world = await marketplace(api, vendors=1)
        vendor = world.vendors[0]
        conversation_id = (await api.accept(vendor, world.leads[vendor.user_id]))["conversation_id"]
        before = await metric(http, "tradematch_live_sockets")
        lag_count = await metric(http, "tradematch_event_socket_lag_seconds_count")
        for _ in range(5):  # connect and drop, with and without a close handshake
            gone = await LiveSocket.open(live_server.base_url, world.customer)
            gone.ws.transport.abort()
            polite = await LiveSocket.open(live_server.base_url, world.customer)
            await polite.close()
        staying = await LiveSocket.open(live_server.base_url, world.customer)
        sent = await send_message(http, vendor, conversation_id, "hello")
        await staying.until_event("MESSAGE_SENT", message_id=sent["message_id"])
        with pytest.raises(ConnectionClosed):
            await gone.next(within=1)
        # The dropped sockets are gone from the hub; the lag of the delivery was measured.
        assert await metric(http, "tradematch_live_sockets") == before + 1
        assert await metric(http, "tradematch_event_socket_lag_seconds_count") > lag_count


async def test_the_token_never_reaches_the_server_log_however_it_is_spelled(
    live_server: LiveServer,
) -> None:
    """uvicorn logs every handshake with its query string; a parser reads ``tok%65n`` as
    ``token`` (and accepts it), so the log must redact it too, in every spelling."""
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as http:
        user = await Api(http).customer()
    token = user.token
    base = live_server.base_url.replace("http://", "ws://", 1) + "/api/connection/ws"
    queries = [
        f"tok%65n={token}",
        f"%74%6F%6B%65%6E={token}",
        f"TOKEN={token}",
        f"resume_from=0;token={token}",
        f"token=x&token={token}",
        "token=" + "".join(f"%{b:02X}" for b in token.encode()),
    ]
    accepted = await connect(f"{base}?{queries[0]}", open_timeout=10)
    try:
        greeting = json.loads(await accepted.recv())
        assert greeting["type"] == "ready", greeting  # the encoded name is read as "token"
    finally:
        await accepted.close()
    for query in queries[1:]:
        try:
            async with connect(f"{base}?{query}", open_timeout=10) as socket:
                await socket.recv()
        except (ConnectionClosed, InvalidStatus):
            pass
    await asyncio.sleep(0.5)  # uvicorn writes the handshake lines as the sockets open and close
    log = live_server.log.read_text(errors="replace")
    assert "WebSocket /api/connection/ws?" in log
    signature = token.rsplit(".", 1)[1]
    assert signature not in log and signature not in unquote(log)
