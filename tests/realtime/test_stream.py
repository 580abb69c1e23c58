"""The live-update stream over real sockets: across processes, privacy, resume, ordering.

Every test runs real ``tradematch serve --no-worker`` processes (uvicorn) on a database of its
own and connects with the ``websockets`` client library.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.flows.database import Database, commit_events, events_settled
from tests.flows.deals import send_message
from tests.flows.live import LiveSocket, Message, feed, is_event
from tests.flows.servers import LiveServer, running_servers, start_server, stop_server
from tests.flows.users import Api, User, create_admin, marketplace
from tradematch.authz.actor import SYSTEM
from tradematch.core.database import create_engine
from tradematch.events.log import emit, flush
from tradematch.events.schemas import EventBase
from tradematch.events.types import EventType
from tradematch.sessions import create_sessionmaker


@pytest.fixture(scope="module")
def servers(
    module_db: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[LiveServer]]:
    """Two API processes on one database."""
    with running_servers(module_db, tmp_path_factory, 2) as started:
        yield started


@pytest.fixture
def live_server(servers: list[LiveServer]) -> LiveServer:
    return servers[0]


@pytest.fixture
def fresh_db(module_db: Database) -> Database:
    return module_db


async def _wait_for_feed(
    socket: LiveSocket, http: httpx.AsyncClient, user: User, db: Database
) -> list[Message]:
    """Read the socket until it has delivered the user's last event; return the user's feed."""
    await events_settled(db)
    items = await feed(http, user)
    if items:
        last = items[-1]["seq"]
        if not socket.seqs or socket.seqs[-1] < last:
            await socket.until(lambda m: m["type"] == "event" and m["seq"] >= last)
    return items


async def test_each_socket_carries_exactly_the_users_feed_and_nothing_private(
    live_server: LiveServer, fresh_db: Database
) -> None:
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as http:
        api = Api(http)
        world = await marketplace(api, vendors=2)
        winner, competitor = world.vendors
        admin = await create_admin(api, fresh_db.async_url)
        people = {
            "customer": world.customer,
            "winner": winner,
            "competitor": competitor,
            "outsider": world.outsider_vendor,
            "other_customer": world.other_customer,
            "admin": admin,
        }
        # resume_from=0: the whole history first (replayed), then live.
        sockets = {
            name: await LiveSocket.open(live_server.base_url, user, resume_from=0)
            for name, user in people.items()
        }

        won = await api.accept(winner, world.leads[winner.user_id])
        lost = await api.accept(competitor, world.leads[competitor.user_id])
        await send_message(http, winner, won["conversation_id"], "I can come on Tuesday")
        await send_message(http, world.customer, won["conversation_id"], "Tuesday is fine")
        await send_message(http, competitor, lost["conversation_id"], "I can come tomorrow")
        quote = await http.post(
            "/api/connection/quotes",
            json={"job_id": world.job_id, "amount": 120, "description": "New tap and washer"},
            headers=winner.headers,
        )
        assert quote.status_code == 201, quote.text
        quote_id = quote.json()["quote_id"]
        accepted = await http.patch(
            f"/api/connection/quotes/{quote_id}/accept", json={}, headers=world.customer.headers
        )
        assert accepted.status_code == 200, accepted.text

        streams: dict[str, list[Message]] = {}
        for name, user in people.items():
            expected = await _wait_for_feed(sockets[name], http, user, fresh_db)
            # The socket carried the user's feed: the same events, in order, the same views
            # (an administrator's socket adds the chain fields, which GET /events leaves out).
            carried = [
                {k: v for k, v in m["event"].items() if k in EventBase.model_fields}
                for m in sockets[name].events
            ]
            assert carried == expected, name
            streams[name] = sockets[name].events

    def text(name: str) -> str:
        return json.dumps(streams[name])

    # The competitor saw its own lead, its own conversation, and that the job went elsewhere;
    # nothing about the winner's lead, conversation, messages or quote, nor any price.
    competitor_text = text("competitor")
    for secret in (
        world.leads[winner.user_id],
        won["conversation_id"],
        quote_id,
        winner.user_id,
        "price",
        '"admin"',
    ):
        assert secret not in competitor_text, secret
    assert any(is_event(m, "LEAD_CLOSED") for m in streams["competitor"])
    assert any(is_event(m, "MESSAGE_SENT") for m in streams["competitor"])  # its own message

    # The winner: likewise nothing of the competitor.
    for secret in (world.leads[competitor.user_id], lost["conversation_id"], competitor.user_id):
        assert secret not in text("winner"), secret

    # The customer: the job's story, without any lead price or other admin-only detail.
    assert "price_pence" not in text("customer") and '"admin"' not in text("customer")
    assert any(is_event(m, "QUOTE_SENT", quote_id=quote_id) for m in streams["customer"])
    for name in ("customer", "winner", "competitor"):
        assert all("admin" not in m["event"]["payload"] for m in streams[name]), name

    # Outsiders hear nothing of this job.
    for name in ("outsider", "other_customer"):
        assert all(m["event"]["job_id"] != world.job_id for m in streams[name]), name

    # The administrator sees every event unmasked, lead prices included.
    offers = [m for m in streams["admin"] if is_event(m, "LEAD_OFFERED")]
    assert {m["event"]["payload"]["lead_id"] for m in offers} >= set(world.leads.values())
    assert all(m["event"]["payload"]["admin"]["price"] > 0 for m in offers)
    assert {m["seq"] for m in streams["customer"]} <= {m["seq"] for m in streams["admin"]}


async def _conversation(http: httpx.AsyncClient) -> tuple[Any, User, User, str]:
    api = Api(http)
    world = await marketplace(api, vendors=1)
    vendor = world.vendors[0]
    accepted = await api.accept(vendor, world.leads[vendor.user_id])
    return world, world.customer, vendor, accepted["conversation_id"]


async def test_resume_replays_what_was_missed_in_order_once_then_continues_live(
    live_server: LiveServer, fresh_db: Database
) -> None:
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as http:
        _, customer, vendor, conversation_id = await _conversation(http)
        socket = await LiveSocket.open(live_server.base_url, customer)
        first = await send_message(http, vendor, conversation_id, "one")
        last_seen = (await socket.until_event("MESSAGE_SENT", message_id=first["message_id"]))[
            "seq"
        ]
        await socket.close()

        # While the customer is away: messages, and the customer's own read receipt from
        # another device.
        missed = [await send_message(http, vendor, conversation_id, f"m{i}") for i in range(3)]
        read = await http.patch(
            f"/api/connection/conversations/{conversation_id}/mark-read",
            json={},
            headers=customer.headers,
        )
        assert read.status_code == 200, read.text
        await events_settled(fresh_db)

        socket = await LiveSocket.open(live_server.base_url, customer)
        await socket.send({"resume_from": last_seen})
        resumed = await socket.until(lambda m: m["type"] == "resumed")
        assert resumed["resume_from"] == last_seen
        replayed = socket.events
        expected = [e for e in await feed(http, customer) if e["seq"] > last_seen]
        assert [m["event"] for m in replayed] == expected
        assert [m["event"]["payload"].get("message_id") for m in replayed[:3]] == [
            m["message_id"] for m in missed
        ]
        assert replayed[-1]["event"]["type"] == "MESSAGES_READ"

        # Then live, with nothing repeated.
        after = await send_message(http, vendor, conversation_id, "live again")
        await socket.until_event("MESSAGE_SENT", message_id=after["message_id"])
        assert len(socket.seqs) == len(set(socket.seqs)) == len(expected) + 1
        assert socket.seqs == sorted(socket.seqs)


async def test_resume_across_a_large_gap_while_events_keep_coming(
    live_server: LiveServer, fresh_db: Database
) -> None:
    """A gap of 700 events (more than one replay batch) replayed while new messages commit
    concurrently: every event after resume_from arrives once, in strictly increasing order."""
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as http:
        world, customer, vendor, conversation_id = await _conversation(http)
        socket = await LiveSocket.open(live_server.base_url, customer)
        first = await send_message(http, vendor, conversation_id, "before")
        last_seen = (await socket.until_event("MESSAGE_SENT", message_id=first["message_id"]))[
            "seq"
        ]
        await socket.close()
        await commit_events(fresh_db.async_url, [customer.user_id], 700, job_id=world.job_id)

        socket = await LiveSocket.open(live_server.base_url, customer, resume_from=last_seen)
        during = [
            asyncio.create_task(send_message(http, vendor, conversation_id, f"during {i}"))
            for i in range(5)
        ]
        sent = await asyncio.gather(*during)
        for message in sent:
            if message["message_id"] not in {
                m["event"]["payload"].get("message_id") for m in socket.events
            }:
                await socket.until_event("MESSAGE_SENT", message_id=message["message_id"])
        await _wait_for_feed(socket, http, customer, fresh_db)

        expected = [e for e in await feed(http, customer) if e["seq"] > last_seen]
        assert len(expected) == 700 + 5
        assert [m["event"] for m in socket.events] == expected
        assert any(m["type"] == "resumed" for _, m in socket.received)


async def test_an_event_that_commits_late_is_not_skipped(
    live_server: LiveServer, fresh_db: Database
) -> None:
    """Transaction A writes its event (the lower position) and holds it uncommitted while B, on
    another chain (no lock in common), commits and the hub polls; the socket gets nothing until
    A commits, then A's event, then B's, in order."""
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as http:
        world, customer, _vendor, _ = await _conversation(http)
        await events_settled(fresh_db)  # the socket starts after the setup's events
        socket = await LiveSocket.open(live_server.base_url, customer)

    engine = create_engine(fresh_db.async_url, pool_size=2)
    sessions = create_sessionmaker(engine)
    observer = await fresh_db.connect()
    try:

        async def commit_one(
            label: str,
            *,
            flushed: asyncio.Event | None = None,
            hold: asyncio.Event | None = None,
            job_id: str | None = None,
        ) -> None:
            async with sessions() as session, session.begin():
                emit(
                    session,
                    EventType.MESSAGES_READ,
                    actor=SYSTEM,
                    job_id=job_id,
                    payload={
                        "conversation_id": "conv_stream",
                        "reader_id": customer.user_id,
                        "last_read_position": 0,
                        "label": label,
                    },
                    audience=[customer.user_id],
                )
                await flush(session)
                if flushed is not None:
                    flushed.set()
                if hold is not None:
                    await hold.wait()

        drawn, release = asyncio.Event(), asyncio.Event()
        early = asyncio.create_task(
            commit_one("A", flushed=drawn, hold=release, job_id=world.job_id)
        )
        await asyncio.wait_for(drawn.wait(), 30)  # A has written its event, uncommitted
        late = asyncio.create_task(commit_one("B"))
        await asyncio.wait_for(asyncio.shield(late), 30)  # B commits at once: no lock in common
        assert await socket.quiet(1.5) == []  # the hub polled meanwhile: nothing visible yet
        release.set()
        await asyncio.gather(early, late)
        a = await socket.until_event("MESSAGES_READ", label="A")
        b = await socket.until_event("MESSAGES_READ", label="B")
        assert a["seq"] < b["seq"]
        assert [m["event"]["payload"]["label"] for m in socket.events] == ["A", "B"]
    finally:
        await observer.close()
        await engine.dispose()


@pytest.mark.tracebacks  # provoked on purpose
async def test_the_hub_recovers_when_its_database_connection_dies(
    live_server: LiveServer, fresh_db: Database
) -> None:
    """The hubs' connections are killed; an event committed right away (its NOTIFY reaches no
    one) is still delivered once the hub has reconnected and read from its cursor."""
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as http:
        _, customer, vendor, conversation_id = await _conversation(http)
        socket = await LiveSocket.open(live_server.base_url, customer)
        conn = await fresh_db.connect()
        try:
            killed = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'tradematch-hub' AND datname = current_database()"
            )
        finally:
            await conn.close()
        assert killed >= 1
        sent = await send_message(http, vendor, conversation_id, "are you there?")
        await socket.until_event("MESSAGE_SENT", message_id=sent["message_id"], within=15)
        again = await send_message(http, vendor, conversation_id, "and again")
        await socket.until_event("MESSAGE_SENT", message_id=again["message_id"])


async def test_message_posted_through_one_process_reaches_a_socket_on_another(
    servers: list[LiveServer],
) -> None:
    first, second = servers
    async with httpx.AsyncClient(base_url=first.base_url, timeout=30) as http:
        api = Api(http)
        world = await marketplace(api, vendors=1)
        vendor = world.vendors[0]
        conversation_id = (await api.accept(vendor, world.leads[vendor.user_id]))["conversation_id"]
        customer_on_second = await LiveSocket.open(second.base_url, world.customer)
        vendor_on_first = await LiveSocket.open(first.base_url, vendor)

        sent = await send_message(http, vendor, conversation_id, "Can you confirm the timing?")

        for socket, actor_id in ((customer_on_second, None), (vendor_on_first, vendor.user_id)):
            got = await socket.until_event("MESSAGE_SENT", message_id=sent["message_id"])
            assert got["event"]["event_id"] == sent["event_id"]
            assert got["event"]["payload"]["conversation_id"] == conversation_id
            assert got["event"]["actor_id"] == actor_id  # the actor sees their own id only
            assert got["seq"] == got["event"]["seq"]

        # And the other way round: posted through the second, received on the first.
        async with httpx.AsyncClient(base_url=second.base_url, timeout=30) as via_second:
            reply = await send_message(via_second, world.customer, conversation_id, "Yes")
        await vendor_on_first.until_event("MESSAGE_SENT", message_id=reply["message_id"])

    # A process going away closes its sockets with 1012 (service restart: reconnect, resume).
    # (The other tests of this module use the first server only.)
    stop_server(second)
    assert await customer_on_second.closed_with() == 1012


async def test_an_open_transaction_holds_events_back_and_its_end_releases_them_unnotified(
    fresh_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction that has written something (it has an id) but emits no event holds back
    the events committed after it began; its COMMIT or ROLLBACK sends no NOTIFY, yet the hub
    delivers them soon after (it polls again while events are held back)."""
    monkeypatch.setenv("TRADEMATCH_WS_POLL_SECONDS", "60")  # no periodic poll to fall back on
    server = start_server(fresh_db, tmp_path, "--no-worker")
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            _, customer, vendor, conversation_id = await _conversation(http)
            await events_settled(fresh_db)  # the socket starts after the setup's events
            socket = await LiveSocket.open(server.base_url, customer)
            for end in ("commit", "rollback"):
                blocker = await fresh_db.connect()
                try:
                    transaction = blocker.transaction()
                    await transaction.start()
                    await blocker.fetchval("SELECT pg_current_xact_id()")
                    sent = await send_message(http, vendor, conversation_id, f"held ({end})")
                    assert await socket.quiet(1.5) == [], end
                    if end == "commit":
                        await transaction.commit()
                    else:
                        await transaction.rollback()
                finally:
                    await blocker.close()
                await socket.until_event("MESSAGE_SENT", within=5, message_id=sent["message_id"])
    finally:
        stop_server(server)
