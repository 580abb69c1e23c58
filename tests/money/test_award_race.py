"""Fifty customer clicks on "accept" at once, spread over five vendors' pending quotes on one
job: exactly one award, and every other request a 409 that changed nothing.

The race runs over real HTTP against a real ``tradematch serve`` process (its own connection
pool), so the requests truly overlap in PostgreSQL; the database is then compared row by row
with a snapshot taken before the race.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.flows.database import Database, changes, snapshot
from tests.flows.deals import API, Deal, quoted_deal
from tests.flows.servers import LiveServer
from tests.flows.users import Api

RACERS = 50
VENDORS = 5
REPLAYED = "Idempotent-Replayed"
PLANS = [(4000, 8000), (13000,), (5000, 5000, 4000), (12500,), (9900, 100)]


@pytest_asyncio.fixture
async def live_api(live_server: LiveServer) -> AsyncIterator[Api]:
    limits = httpx.Limits(max_connections=RACERS * 2, max_keepalive_connections=RACERS * 2)
    async with httpx.AsyncClient(
        base_url=live_server.base_url, timeout=60, limits=limits
    ) as client:
        yield Api(client)


async def _accept(deal: Deal, quote_id: str, key: str | None) -> httpx.Response:
    headers = dict(deal.customer.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await deal.api.client.patch(f"{API}/quotes/{quote_id}/accept", json={}, headers=headers)


@pytest.mark.parametrize("keys", ["none", "distinct", "one_per_quote"])
async def test_fifty_concurrent_accepts_over_five_quotes_award_once(
    live_api: Api, fresh_db: Database, keys: str
) -> None:
    deal = await quoted_deal(live_api, vendors=VENDORS, plans=PLANS)
    quote_ids = [deal.quotes[v.user_id] for v in deal.vendors]
    vendor_of = {deal.quotes[v.user_id]: v.user_id for v in deal.vendors}
    per_quote = {q: f"award-{uuid.uuid4()}" for q in quote_ids}
    targets = [quote_ids[i % VENDORS] for i in range(RACERS)]
    sent_keys = [
        {"none": None, "distinct": f"award-{i}-{uuid.uuid4()}", "one_per_quote": per_quote[q]}[keys]
        for i, q in enumerate(targets)
    ]

    conn = await fresh_db.connect()
    try:
        before = await snapshot(conn)
        last_seq = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM event_log")
        responses = await asyncio.gather(
            *(_accept(deal, q, k) for q, k in zip(targets, sent_keys, strict=True))
        )
        after = await snapshot(conn)
        found = {
            "quotes": dict(
                await conn.fetch("SELECT id, status FROM quotes WHERE job_id = $1", deal.job_id)
            ),
            "leads": dict(
                await conn.fetch(
                    "SELECT vendor_id, status FROM leads WHERE job_id = $1", deal.job_id
                )
            ),
            "conversations": dict(
                await conn.fetch(
                    "SELECT vendor_id, status FROM conversations WHERE job_id = $1", deal.job_id
                )
            ),
            "job": await conn.fetchrow(
                "SELECT status, awarded_vendor_id FROM jobs WHERE id = $1", deal.job_id
            ),
            "escrows": await conn.fetch(
                "SELECT id, quote_id, status, total_pence, funded_pence FROM escrow_accounts"
                " WHERE job_id = $1",
                deal.job_id,
            ),
            "milestones": await conn.fetch(
                "SELECT escrow_id, quote_id, amount_pence, status FROM milestones"
                " WHERE job_id = $1 ORDER BY position",
                deal.job_id,
            ),
            "events": await conn.fetch(
                "SELECT id, type, payload, idempotency_key FROM event_log"
                " WHERE job_id = $1 AND seq > $2 ORDER BY seq",
                deal.job_id,
                last_seq,
            ),
            "idempotency": await conn.fetchval(
                "SELECT count(*) FROM idempotency_keys WHERE scope = $1",
                f"user:{deal.customer.user_id}",
            ),
        }
    finally:
        await conn.close()

    # --- the answers: one award, every other a 409 (or a replay of the award itself) --------
    for r in responses:
        assert r.status_code in (200, 409), (r.status_code, r.text)
    originals = [r for r in responses if r.status_code == 200 and REPLAYED not in r.headers]
    tally = Counter((r.status_code, r.headers.get(REPLAYED)) for r in responses)
    assert len(originals) == 1, tally
    winner = originals[0]
    won = winner.json()
    winning_quote = won["quote_id"]
    winner_key = sent_keys[responses.index(winner)]
    assert won["job_id"] == deal.job_id and won["event_id"].startswith("evt_")
    assert won["message"] == "Quote accepted! Job is now in progress."
    for r, q, k in zip(responses, targets, sent_keys, strict=True):
        if r is winner:
            continue
        if r.status_code == 200:  # only a retry of the winning request itself may replay it
            assert keys == "one_per_quote" and k == winner_key and q == winning_quote
            assert r.headers[REPLAYED] == "true" and r.content == winner.content
            continue
        body = r.json()
        if body["code"] == "IDEMPOTENCY_REQUEST_IN_PROGRESS":
            assert keys == "one_per_quote", body
        else:
            assert body["code"] == "INVALID_STATE_TRANSITION", body
            assert (body["entity"], body["current_state"]) == ("job", "in_progress"), body

    # --- the database: exactly the award, nothing else -----------------------------------
    winning_vendor = vendor_of[winning_quote]
    assert found["job"]["status"] == "in_progress"
    assert found["job"]["awarded_vendor_id"] == winning_vendor
    assert found["quotes"] == {
        q: "accepted" if q == winning_quote else "expired" for q in quote_ids
    }
    assert found["leads"] == {
        v.user_id: "quote_accepted" if v.user_id == winning_vendor else "closed"
        for v in deal.vendors
    }
    assert found["conversations"] == {
        v.user_id: "open" if v.user_id == winning_vendor else "locked" for v in deal.vendors
    }
    [escrow] = found["escrows"]
    plan = PLANS[quote_ids.index(winning_quote)]
    assert (escrow["quote_id"], escrow["status"], escrow["funded_pence"]) == (
        winning_quote,
        "pending",
        0,
    )
    assert escrow["total_pence"] == sum(plan)
    assert [(m["escrow_id"], m["quote_id"], m["amount_pence"]) for m in found["milestones"]] == [
        (escrow["id"], winning_quote, p) for p in plan
    ]
    assert all(m["status"] == "pending" for m in found["milestones"])

    events = found["events"]
    assert Counter(e["type"] for e in events) == {
        "QUOTE_ACCEPTED": 1,
        "JOB_IN_PROGRESS": 1,
        "ESCROW_CREATED": 1,
        "LEAD_CLOSED": VENDORS - 1,
    }
    accepted_event = next(e for e in events if e["type"] == "QUOTE_ACCEPTED")
    assert accepted_event["id"] == won["event_id"]
    assert accepted_event["idempotency_key"] == winner_key
    assert all(e["idempotency_key"] == winner_key for e in events)
    assert found["idempotency"] == (0 if keys == "none" else 1)

    changed = changes(before, after)
    assert set(changed) <= {
        "jobs",
        "leads",
        "quotes",
        "conversations",
        "messages",
        "escrow_accounts",
        "milestones",
        "event_log",
        "event_audience",
        "notifications",
        "idempotency_keys",
    }, sorted(changed)
    rows_changed = {table: len(diff["after"]) for table, diff in changed.items()}
    assert rows_changed["jobs"] == 1
    assert rows_changed["quotes"] == VENDORS
    assert rows_changed["leads"] == VENDORS
    # The losers' conversations locked; the winner's counts its new system message.
    assert rows_changed["conversations"] == VENDORS
    assert rows_changed["messages"] == 1  # "Quote accepted. Job in progress." to the winner
    assert rows_changed["escrow_accounts"] == 1
    assert rows_changed["milestones"] == len(plan)
    assert rows_changed["event_log"] == len(events)
    updated = {"jobs", "leads", "quotes", "conversations"}
    assert all(not diff["before"] for t, diff in changed.items() if t not in updated), changed
