"""Fifty vendors' clicks on one lead at once: exactly one acceptance, whatever the keys.

The race runs over real HTTP against a real ``tradematch serve`` process (real uvicorn, its own
connection pool), so the requests truly overlap in PostgreSQL; the database is then inspected
directly.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.flows.database import Database, wait_for_lock_waiters
from tests.flows.servers import LiveServer
from tests.flows.users import Api, User, marketplace

RACERS = 50
REPLAYED = "Idempotent-Replayed"


@pytest_asyncio.fixture
async def live_api(live_server: LiveServer) -> AsyncIterator[Api]:
    limits = httpx.Limits(max_connections=RACERS * 2, max_keepalive_connections=RACERS * 2)
    async with httpx.AsyncClient(
        base_url=live_server.base_url, timeout=60, limits=limits
    ) as client:
        yield Api(client)


def _accept_url(lead_id: str) -> str:
    return f"/api/connection/leads/{lead_id}/accept"


async def _accept(
    api: Api, vendor: User, lead_id: str, key: str | None = None, body: object = None
) -> httpx.Response:
    headers = dict(vendor.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await api.client.post(
        _accept_url(lead_id), json={} if body is None else body, headers=headers
    )


async def _db_counts(db: Database, lead_id: str) -> dict[str, object]:
    conn = await db.connect()
    try:
        conversations = await conn.fetch("SELECT id FROM conversations WHERE lead_id = $1", lead_id)
        messages = await conn.fetch(
            "SELECT m.kind, m.sender_id FROM messages m"
            " JOIN conversations c ON c.id = m.conversation_id WHERE c.lead_id = $1",
            lead_id,
        )
        events = await conn.fetch(
            "SELECT id, idempotency_key FROM event_log"
            " WHERE type = 'LEAD_ACCEPTED' AND payload->>'lead_id' = $1",
            lead_id,
        )
        status = await conn.fetchval("SELECT status FROM leads WHERE id = $1", lead_id)
        notifications = await conn.fetchval(
            "SELECT count(*) FROM notifications WHERE event_id = ANY($1::text[])",
            [e["id"] for e in events],
        )
    finally:
        await conn.close()
    return {
        "conversations": [r["id"] for r in conversations],
        "messages": [(r["kind"], r["sender_id"]) for r in messages],
        "events": [(r["id"], r["idempotency_key"]) for r in events],
        "status": status,
        "notifications": notifications,
    }


def _assert_one_acceptance(
    state: dict[str, object], winner: dict[str, object], key: str | None
) -> None:
    assert state["status"] == "accepted"
    assert state["conversations"] == [winner["conversation_id"]]
    assert state["messages"] == [("system", None)]
    assert state["events"] == [(winner["event_id"], key)]
    assert state["notifications"] == 4  # customer and vendor, once each, in-app and email


@pytest.mark.parametrize("keys", ["same", "different", "none"])
async def test_fifty_concurrent_accepts_of_one_lead(
    live_api: Api, fresh_db: Database, keys: str
) -> None:
    market = await marketplace(live_api, vendors=1)
    vendor = market.vendors[0]
    lead_id = market.leads[vendor.user_id]
    shared_key = f"accept-{uuid.uuid4()}"

    def key_for(i: int) -> str | None:
        return {"same": shared_key, "different": f"accept-{i}-{uuid.uuid4()}", "none": None}[keys]

    sent_keys = [key_for(i) for i in range(RACERS)]
    responses = await asyncio.gather(
        *(_accept(live_api, vendor, lead_id, key) for key in sent_keys)
    )

    for r in responses:
        assert r.status_code in (200, 409), (r.status_code, r.text)
    originals = [r for r in responses if r.status_code == 200 and REPLAYED not in r.headers]
    assert len(originals) == 1, Counter((r.status_code, r.headers.get(REPLAYED)) for r in responses)
    winner = originals[0].json()
    winner_key = sent_keys[responses.index(originals[0])]
    assert winner["lead_id"] == lead_id and winner["conversation_id"].startswith("conv_")
    losers = [r for r in responses if r is not originals[0]]

    if keys == "same":
        for r in losers:
            if r.status_code == 200:
                # A replay: the stored answer, byte for byte.
                assert r.headers[REPLAYED] == "true"
                assert r.content == originals[0].content
            else:
                assert r.json()["code"] == "IDEMPOTENCY_REQUEST_IN_PROGRESS", r.text
        # Once the winner has committed, a retry with the key is a replay, never a second run.
        retry = await _accept(live_api, vendor, lead_id, shared_key)
        assert retry.status_code == 200 and retry.headers[REPLAYED] == "true"
        assert retry.content == originals[0].content
    else:
        for r in losers:
            assert REPLAYED not in r.headers
            assert r.json()["code"] == "INVALID_STATE_TRANSITION", r.text
            assert r.json()["current_state"] == "accepted"

    # The event records the key of the request that made the change.
    _assert_one_acceptance(await _db_counts(fresh_db, lead_id), winner, winner_key)
    if keys == "different":
        # Losers stored no idempotency record: only the winner's key is kept.
        conn = await fresh_db.connect()
        try:
            stored = await conn.fetchval(
                "SELECT count(*) FROM idempotency_keys WHERE scope = $1", f"user:{vendor.user_id}"
            )
        finally:
            await conn.close()
        assert stored == 1


async def test_same_key_for_a_different_request_is_rejected_and_changes_nothing(
    fresh_api: Api, fresh_db: Database
) -> None:
    market = await marketplace(fresh_api, vendors=1)
    vendor = market.vendors[0]
    lead_id = market.leads[vendor.user_id]
    key = f"k-{uuid.uuid4()}"
    accepted = await _accept(fresh_api, vendor, lead_id, key)
    assert accepted.status_code == 200, accepted.text

    declined = await fresh_api.client.post(
        f"/api/connection/leads/{lead_id}/decline",
        json={"reason": "Too far"},
        headers={**vendor.headers, "Idempotency-Key": key},
    )
    assert declined.status_code == 422, declined.text
    assert declined.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert REPLAYED not in declined.headers

    conn = await fresh_db.connect()
    try:
        declines = await conn.fetchval(
            "SELECT count(*) FROM event_log"
            " WHERE type = 'LEAD_DECLINED' AND payload->>'lead_id' = $1",
            lead_id,
        )
    finally:
        await conn.close()
    assert declines == 0
    _assert_one_acceptance(await _db_counts(fresh_db, lead_id), accepted.json(), key)


async def test_one_vendors_key_never_replays_another_vendors_response(
    fresh_api: Api, fresh_db: Database
) -> None:
    market = await marketplace(fresh_api, vendors=2)
    first, second = market.vendors
    key = "accept-lead"  # the same key, the same body: only the user tells the requests apart

    a = await _accept(fresh_api, first, market.leads[first.user_id], key)
    b = await _accept(fresh_api, second, market.leads[second.user_id], key)
    assert a.status_code == b.status_code == 200
    assert REPLAYED not in a.headers and REPLAYED not in b.headers
    assert a.json()["conversation_id"] != b.json()["conversation_id"]

    # Each vendor's retry replays that vendor's own answer.
    again_b = await _accept(fresh_api, second, market.leads[second.user_id], key)
    assert again_b.headers[REPLAYED] == "true" and again_b.content == b.content
    for vendor, response in ((first, a), (second, b)):
        lead_id = market.leads[vendor.user_id]
        _assert_one_acceptance(await _db_counts(fresh_db, lead_id), response.json(), key)

    # A vendor reusing the other vendor's key on the other's lead learns nothing: 404, no replay.
    foreign = await _accept(fresh_api, first, market.leads[second.user_id], "accept-lead-2")
    assert foreign.status_code == 404 and REPLAYED not in foreign.headers


async def test_a_failed_request_stores_nothing_and_the_key_can_be_retried(
    fresh_api: Api, fresh_db: Database
) -> None:
    market = await marketplace(fresh_api, vendors=1)
    vendor = market.vendors[0]
    lead_id = market.leads[vendor.user_id]
    key = f"k-{uuid.uuid4()}"

    # 422: bad input. Sent twice, it is run twice (not replayed): the failure was not stored.
    for _ in range(2):
        bad = await _accept(fresh_api, vendor, lead_id, key, body={"note": "unknown field"})
        assert bad.status_code == 422, bad.text
        assert REPLAYED not in bad.headers
    assert (await _db_counts(fresh_db, lead_id))["status"] == "offered"
    conn = await fresh_db.connect()
    try:
        assert await conn.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = $1", key) == 0
    finally:
        await conn.close()

    # 409: a duplicate arriving while the first is still running (held up here by a lock on the
    # job row) stores nothing: once the first finishes, the key replays the first's answer.
    holder = await fresh_db.connect()
    try:
        locked = holder.transaction()
        await locked.start()
        await holder.execute("SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE", market.job_id)
        first = asyncio.create_task(_accept(fresh_api, vendor, lead_id, key))
        await wait_for_lock_waiters(holder)
        busy = await _accept(fresh_api, vendor, lead_id, key)
        assert busy.status_code == 409, busy.text
        assert busy.json()["code"] == "IDEMPOTENCY_REQUEST_IN_PROGRESS"
        assert not first.done()
        await locked.rollback()
        good = await first
    finally:
        await holder.close()
    assert good.status_code == 200, good.text
    assert REPLAYED not in good.headers
    replay = await _accept(fresh_api, vendor, lead_id, key)
    assert replay.status_code == 200 and replay.headers[REPLAYED] == "true"
    assert replay.content == good.content
    _assert_one_acceptance(await _db_counts(fresh_db, lead_id), good.json(), key)
