"""Following the event log by sequence number never skips an event (contract §7).

An event's sequence number (its position: the writing transaction's id, then its order within
it) is fixed before COMMIT, so a transaction that commits late could make a lower number appear
after a reader has moved its cursor past a higher one. These tests hold a transaction open after
it has written its event, run real API requests meanwhile (which commit at once: no transaction
waits for another's COMMIT), and check that a reader polling ``GET /events?after=`` still
receives every event exactly once, in order.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import text

from tests.flows.database import Database
from tests.flows.users import Api, User, create_admin, marketplace
from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role
from tradematch.core.database import create_engine
from tradematch.events.log import emit, flush
from tradematch.events.types import EventType
from tradematch.sessions import create_sessionmaker

EVENTS = "/api/connection/events"


class Reader:
    """A polling client: keeps a cursor and everything it was given."""

    def __init__(self, client: httpx.AsyncClient, user: User, after: int) -> None:
        self.client = client
        self.user = user
        self.cursor = after
        self.seen: list[dict[str, Any]] = []

    async def poll(self) -> int:
        """Read until the feed has nothing more; return how many events were new."""
        new = 0
        while True:
            response = await self.client.get(
                EVENTS, params={"after": self.cursor, "limit": 3}, headers=self.user.headers
            )
            assert response.status_code == 200, response.text
            page = response.json()
            if not page["items"]:
                assert page["next_after"] == self.cursor
                return new
            self.seen.extend(page["items"])
            new += len(page["items"])
            self.cursor = page["next_after"]

    @property
    def seen_ids(self) -> list[str]:
        return [e["event_id"] for e in self.seen]


async def _head(db: Database) -> int:
    conn = await db.connect()
    try:
        return int(await conn.fetchval("SELECT coalesce(max(seq), 0) FROM event_log"))
    finally:
        await conn.close()


async def _committed_after(db: Database, after: int, user_id: str | None = None) -> list[str]:
    conn = await db.connect()
    try:
        rows = await conn.fetch(
            "SELECT e.id FROM event_log e WHERE e.seq > $1 AND ($2::text IS NULL OR EXISTS"
            " (SELECT 1 FROM event_audience a WHERE a.seq = e.seq AND a.user_id = $2))"
            " ORDER BY e.seq",
            after,
            user_id,
        )
    finally:
        await conn.close()
    return [r["id"] for r in rows]


async def test_an_event_that_commits_late_is_still_returned_by_the_cursor(
    fresh_api: Api, fresh_db: Database
) -> None:
    customer = await fresh_api.customer()
    admin = await create_admin(fresh_api, fresh_db.async_url)
    job = await fresh_api.create_job(customer)
    start = await _head(fresh_db)
    readers = [Reader(fresh_api.client, customer, start), Reader(fresh_api.client, admin, start)]

    engine = create_engine(fresh_db.async_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as late:
            # The late transaction draws its sequence number now, and commits only at the end.
            late_id = emit(
                late,
                EventType.JOB_UPDATED,
                actor=Actor(customer.user_id, Role.CUSTOMER),
                job_id=job["job_id"],
                payload={"fields": ["description"]},
                audience=[customer.user_id],
            )
            await flush(late)
            late_seq = (
                await late.execute(
                    text("SELECT seq FROM event_log WHERE id = :id"), {"id": late_id}
                )
            ).scalar_one()
            assert late_seq > start

            # Meanwhile a real request emits an event of its own, and commits: nothing waits
            # for the open transaction, whose position is lower.
            created = await asyncio.wait_for(
                fresh_api.create_job(customer, title="Paint the hallway"), timeout=30
            )
            assert await _committed_after(fresh_db, late_seq) == [created["event_id"]]
            for reader in readers:
                await reader.poll()
            seen_while_open = [list(r.seen_ids) for r in readers]
            await late.commit()
    finally:
        await engine.dispose()

    for reader in readers:
        await reader.poll()

    second_id = created["event_id"]
    for reader in readers:
        # Every event, exactly once, in sequence order: the late one first, although it was
        # committed while the other request was already waiting.
        assert reader.seen_ids == [late_id, second_id], reader.seen
        seqs = [e["seq"] for e in reader.seen]
        assert seqs == sorted(seqs) and seqs[0] == late_seq
        assert len(set(reader.seen_ids)) == len(reader.seen_ids)
    # What the readers got is exactly what is in the log (no gaps).
    assert readers[1].seen_ids == await _committed_after(fresh_db, start)
    assert readers[0].seen_ids == await _committed_after(fresh_db, start, customer.user_id)

    # How: the readers did not see the second event before the first committed, although it
    # was committed already (the open transaction held the horizon below it).
    assert seen_while_open == [[], []]


async def test_a_transaction_that_rolls_back_releases_the_events_behind_it(
    fresh_api: Api, fresh_db: Database
) -> None:
    customer = await fresh_api.customer()
    start = await _head(fresh_db)
    reader = Reader(fresh_api.client, customer, start)
    engine = create_engine(fresh_db.async_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as open_tx:
            # An open transaction that has written something (an xid), emitting nothing.
            await open_tx.execute(text("SELECT pg_current_xact_id()"))
            created = await fresh_api.create_job(customer, title="Fix the gate")
            assert await reader.poll() == 0
            await open_tx.rollback()
    finally:
        await engine.dispose()
    assert await reader.poll() == 1
    assert reader.seen_ids == [created["event_id"]]


async def test_readers_polling_through_a_burst_of_concurrent_writes_miss_nothing(
    fresh_api: Api, fresh_db: Database
) -> None:
    customers = [await fresh_api.customer() for _ in range(4)]
    admin = await create_admin(fresh_api, fresh_db.async_url)
    start = await _head(fresh_db)
    readers = [
        Reader(fresh_api.client, admin, start),
        *(Reader(fresh_api.client, c, start) for c in customers),
    ]

    writes = asyncio.gather(
        *(fresh_api.create_job(c, title=f"Job {i}") for i in range(6) for c in customers)
    )
    while not writes.done():
        for reader in readers:
            await reader.poll()
    created = await writes
    for reader in readers:
        await reader.poll()

    assert len(created) == 24
    assert readers[0].seen_ids == await _committed_after(fresh_db, start)
    assert len(readers[0].seen_ids) == 24
    for reader, customer in zip(readers[1:], customers, strict=True):
        assert reader.seen_ids == await _committed_after(fresh_db, start, customer.user_id)
        assert len(reader.seen_ids) == 6
        seqs = [e["seq"] for e in reader.seen]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


async def test_job_history_is_scoped_to_what_each_caller_may_see(
    fresh_api: Api, fresh_db: Database
) -> None:
    market = await marketplace(fresh_api, vendors=2)
    winner, other = market.vendors
    winner_lead, other_lead = market.leads[winner.user_id], market.leads[other.user_id]
    await fresh_api.accept(winner, winner_lead)
    admin = await create_admin(fresh_api, fresh_db.async_url)
    url = f"{EVENTS}/{market.job_id}"

    async def history(user: User) -> httpx.Response:
        return await fresh_api.client.get(url, headers=user.headers)

    # Admin: the whole history, unmasked (lead prices included).
    everything = (await history(admin)).json()["items"]
    conn = await fresh_db.connect()
    try:
        in_log = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM event_log WHERE job_id = $1 ORDER BY seq", market.job_id
            )
        ]
    finally:
        await conn.close()
    assert [e["event_id"] for e in everything] == in_log
    offered = [e for e in everything if e["type"] == "LEAD_OFFERED"]
    assert {e["payload"]["lead_id"] for e in offered} == {winner_lead, other_lead}
    assert all(e["payload"]["admin"]["price"] > 0 for e in offered)

    # Customer: their job's events; nothing admin-only; no vendor who has not accepted.
    response = await history(market.customer)
    assert response.status_code == 200
    customer_view = response.json()["items"]
    types = [e["type"] for e in customer_view]
    for expected in ("JOB_CREATED", "JOB_POSTED", "LEAD_ACCEPTED"):
        assert expected in types
    assert all("admin" not in e["payload"] for e in customer_view)
    assert other.user_id not in response.text and other_lead not in response.text
    assert "price" not in response.text

    # Vendor: events about its own lead only; never a competitor, never a price.
    response = await history(winner)
    assert response.status_code == 200
    winner_view = response.json()["items"]
    assert [e["type"] for e in winner_view if e["payload"].get("lead_id")] == [
        "LEAD_OFFERED",
        "LEAD_ACCEPTED",
    ]
    assert {e["payload"]["lead_id"] for e in winner_view if "lead_id" in e["payload"]} == {
        winner_lead
    }
    assert other.user_id not in response.text and other_lead not in response.text
    assert "price" not in response.text and all("admin" not in e["payload"] for e in winner_view)

    response = await history(other)
    assert response.status_code == 200
    other_view = response.json()["items"]
    assert [
        (e["type"], e["payload"]["lead_id"]) for e in other_view if "lead_id" in e["payload"]
    ] == [("LEAD_OFFERED", other_lead)]
    assert winner.user_id not in response.text and winner_lead not in response.text
    assert "price" not in response.text

    # Everyone else: 404, the same answer as for a job that does not exist.
    missing = await fresh_api.client.get(
        f"{EVENTS}/job_01AAAAAAAAAAAAAAAAAAAAAAAA", headers=market.other_customer.headers
    )
    assert missing.status_code == 404
    for stranger in (market.other_customer, market.outsider_vendor):
        denied = await history(stranger)
        assert denied.status_code == 404
        assert denied.json() == missing.json()

    # The cursor works within a job's history too.
    after = everything[1]["seq"]
    tail = (await fresh_api.client.get(url, params={"after": after}, headers=admin.headers)).json()
    assert [e["event_id"] for e in tail["items"]] == in_log[2:]
    assert tail["next_after"] == everything[-1]["seq"]
