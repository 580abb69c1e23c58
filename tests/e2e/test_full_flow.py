"""The seed's "Complete Customer→Vendor→Customer Flow", all nine steps, over real HTTP.

A real ``tradematch serve`` process (uvicorn, real sockets) on a fresh PostgreSQL database; the
client is plain httpx against its base URL. Request bodies are the seed's, field for field; the
answers are checked for the seed's fields and texts. Around the seed's steps the test checks what
the seed promises the other people involved: the vendor who quoted and lost learns only that
"This job is no longer available", the winning vendor sees escrow read-only, the money moves
through balanced ledger transactions, and the job's history lists every step in order.

``tests/e2e/test_seed_flow.py`` looks at steps 1, 2, 3 and 5 in detail; here they are the road to
the money.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio

from tests.flows.database import Database
from tests.flows.servers import LiveServer
from tests.flows.users import Api, User, postcode_in
from tradematch.escrow.repository import INVARIANT_QUERIES

API = "/api/connection"
AREA = "LS6"  # Headingley, Leeds: the customer and all six plumbers live here
SEED_JOB = {
    "title": "Fix leaking kitchen tap",
    "trade_category": "Plumbing",
    "budget_min": 50,
    "budget_max": 150,
    "timeframe": "urgent",
}
SEED_ACCEPT = {"idempotency_key": "550e8400-e29b-41d4-a716-446655440000"}
SEED_MESSAGE = {"body": "Can you confirm the exact timing?"}
SEED_QUOTE = {  # plus "job_id"
    "amount": 120,
    "description": "New washer installed, tested",
    "estimated_duration": "2 hours",
}
SEED_EVIDENCE = {
    "completion_evidence": {
        "photos": ["https://...image1.jpg", "https://...image2.jpg"],
        "description": "Tap installed and tested. Works perfectly.",
    }
}
SEED_REVIEW = {  # plus "job_id" (contract §10)
    "rating": 5,
    "feedback": "Great work, quick and professional!",
    "recommend_yes_no": True,
}
QUOTE_REFERENCE = (
    "Vendor sent quote: £120\nEstimated duration: 2 hours\nMessage: New washer installed, tested"
)
NO_LONGER_AVAILABLE = "This job is no longer available"
# The money half of the job's history, in the order the steps write it.
MONEY_EVENTS = [
    "QUOTE_SENT",
    "QUOTE_ACCEPTED",
    "JOB_IN_PROGRESS",
    "ESCROW_CREATED",
    "ESCROW_FUNDED",
    "MILESTONE_SUBMITTED",
    "MILESTONE_APPROVED",
    "PAYMENT_RELEASED",
    "JOB_COMPLETED",
    "REVIEW_POSTED",
    "JOB_CLOSED",
]
COUNTERS = frozenset({"seq", "next_after", "position", "unread_count", "approx_distance_miles"})
ID = re.compile(r"^[a-z]+_[0-9A-Za-z_]+$")


def _id(value: Any, prefix: str) -> str:
    assert isinstance(value, str) and value.startswith(f"{prefix}_") and ID.match(value), value
    return value


@pytest_asyncio.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as client:
        yield client


class Flow:
    """Small, checked HTTP calls for one party at a time."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def call(self, user: User, method: str, path: str, expect: int, body: Any = None) -> Any:
        response = await self.http.request(method, f"{API}{path}", json=body, headers=user.headers)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response.json()

    async def get(self, user: User, path: str, expect: int = 200) -> Any:
        return await self.call(user, "GET", path, expect)

    async def messages(self, user: User, conversation_id: str) -> list[dict[str, Any]]:
        page = await self.get(
            user, f"/conversations/{conversation_id}/messages?order=oldest_first&limit=100"
        )
        return list(page["items"])

    async def history(self, user: User, job_id: str) -> list[dict[str, Any]]:
        return list((await self.get(user, f"/events/{job_id}"))["items"])


async def notifications(db: Database, user: User) -> list[tuple[str, str]]:
    """(event type, text) of every in-app notification queued for the user, oldest first."""
    conn = await db.connect()
    try:
        rows = await conn.fetch(
            "SELECT e.type, n.body FROM notifications n"
            " JOIN event_log e ON e.id = n.event_id"
            " WHERE n.user_id = $1 AND n.channel = 'in_app' ORDER BY e.seq",
            user.user_id,
        )
    finally:
        await conn.close()
    return [(r["type"], r["body"]) for r in rows]


async def inbox_texts(http: httpx.AsyncClient, user: User) -> list[str] | None:
    """The user's in-app notifications as the API lists them (None while it serves no inbox)."""
    response = await http.get(f"{API}/notifications", headers=user.headers)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return [f"{n['title']}\n{n['body']}" for n in response.json()["items"]]


def amounts_in(body: Any, *amounts: int) -> list[str]:
    """Where the JSON document mentions one of these amounts (as a number, or as "£120")."""
    found: list[str] = []
    nodes: list[tuple[str, Any]] = [("$", body)]
    while nodes:
        path, node = nodes.pop()
        if isinstance(node, dict):
            nodes.extend((f"{path}.{k}", v) for k, v in node.items() if k not in COUNTERS)
        elif isinstance(node, list):
            nodes.extend((f"{path}[{i}]", v) for i, v in enumerate(node))
        elif isinstance(node, str):
            found.extend(path for a in amounts if f"£{a}" in node)
        elif isinstance(node, int | float) and not isinstance(node, bool) and node in amounts:
            found.append(path)
    return found


async def money_invariant_violations(db: Database) -> dict[str, list[str]]:
    conn = await db.connect()
    try:
        found = {}
        for name, query in INVARIANT_QUERIES.items():
            if rows := [str(r[0]) for r in await conn.fetch(query)]:
                found[name] = rows
        return found
    finally:
        await conn.close()


async def test_the_whole_seed_flow(http: httpx.AsyncClient, fresh_db: Database) -> None:
    api = Api(http)
    flow = Flow(http)
    customer = await api.customer(
        postcode=postcode_in(AREA, "1AA"), name="Sarah Whitfield", phone="07700 900123"
    )
    plumbers = [
        await api.vendor(
            postcode=postcode_in(AREA, f"{i}BB"),
            trades=["Plumbing"],
            radius=10,
            business_name=f"Headingley Plumbing {i} Ltd",
        )
        for i in range(1, 7)
    ]

    # ── Step 1: the customer creates the job ──────────────────────────────────────────
    job = await flow.call(customer, "POST", "/jobs", 201, SEED_JOB)
    job_id = _id(job["job_id"], "job")
    assert job["status"] == "draft"

    # ── Step 2: published; five of the six plumbers are offered a lead ─────────────────
    published = await flow.call(customer, "PATCH", f"/jobs/{job_id}/publish", 200, {})
    assert published["status"] == "live" and published["leads_assigned"] == 5
    assert published["message"] == "Job published. 5 vendors notified."
    offered: list[tuple[User, str]] = []
    for plumber in plumbers:
        if items := await api.leads(plumber):
            offered.append((plumber, items[0]["lead_id"]))
    assert len(offered) == 5
    (vendor, lead_id), (rival, rival_lead_id), *bystanders = offered
    business = vendor.body["vendor_profile"]["business_name"]

    # ── Step 3: the vendor accepts the lead; so does a rival, who will lose ────────────
    accepted = await flow.call(vendor, "POST", f"/leads/{lead_id}/accept", 200, SEED_ACCEPT)
    assert accepted["message"] == "Lead accepted. Customer contact details now visible."
    conversation_id = _id(accepted["conversation_id"], "conv")
    rival_accepted = await flow.call(rival, "POST", f"/leads/{rival_lead_id}/accept", 200, {})
    rival_conversation = rival_accepted["conversation_id"]

    # ── Step 4: the vendor sends the seed's quote ────────────────────────────────────
    sent = await flow.call(vendor, "POST", "/quotes", 201, {"job_id": job_id, **SEED_QUOTE})
    quote_id = _id(sent["quote_id"], "quote")
    quote_event = _id(sent["event_id"], "evt")
    assert sent["status"] == "pending"
    # The seed's quote_reference system message, in the conversation both sides read.
    for party in (customer, vendor):
        newest = (await flow.messages(party, conversation_id))[-1]
        assert newest["type"] == "quote_reference", newest
        assert newest["body"] == QUOTE_REFERENCE
        assert newest["quote_id"] == quote_id and newest["sender_role"] == "system"
    assert (await flow.get(vendor, f"/leads/{lead_id}"))["status"] == "quote_sent"
    quote = await flow.get(customer, f"/quotes/{quote_id}")
    assert quote["status"] == "pending" and quote["amount"] == 120
    assert quote["description"] == "New washer installed, tested"
    assert quote["estimated_duration"] == "2 hours"
    assert quote["milestones"] == [{"title": "Complete the job", "amount": 120}]

    # The rival quotes too; the customer compares both on the job, vendors never can.
    rival_sent = await flow.call(
        rival, "POST", "/quotes", 201, {"job_id": job_id, **SEED_QUOTE, "amount": 150}
    )
    rival_quote_id = rival_sent["quote_id"]
    compared = await flow.get(customer, f"/jobs/{job_id}/quotes")
    assert {(q["quote_id"], q["vendor_id"], q["amount"]) for q in compared["items"]} == {
        (quote_id, vendor.user_id, 120),
        (rival_quote_id, rival.user_id, 150),
    }
    forbidden = await flow.get(vendor, f"/jobs/{job_id}/quotes", expect=403)
    assert forbidden["code"] == "FORBIDDEN"
    assert (await flow.get(rival, f"/quotes/{quote_id}", expect=404))["code"] == "NOT_FOUND"

    # ── Step 5: customer and vendor exchange messages ─────────────────────────────────
    message = await flow.call(
        customer, "POST", f"/conversations/{conversation_id}/messages", 201, SEED_MESSAGE
    )
    _id(message["message_id"], "msg")
    await flow.call(
        vendor,
        "POST",
        f"/conversations/{conversation_id}/messages",
        201,
        {"body": "Yes, tomorrow at 9am."},
    )

    # ── Step 6: the customer accepts the quote ───────────────────────────────────────
    award = await flow.call(customer, "PATCH", f"/quotes/{quote_id}/accept", 200, {})
    assert set(award) == {"quote_id", "job_id", "event_id", "message"}
    assert award["quote_id"] == quote_id and award["job_id"] == job_id
    award_event = _id(award["event_id"], "evt")
    assert award["message"] == "Quote accepted! Job is now in progress."

    assert (await flow.get(customer, f"/jobs/{job_id}"))["status"] == "in_progress"
    assert (await flow.get(vendor, f"/leads/{lead_id}"))["status"] == "quote_accepted"
    assert (await flow.get(vendor, f"/quotes/{quote_id}"))["status"] == "accepted"
    assert (await flow.messages(vendor, conversation_id))[-1]["body"] == (
        "Quote accepted. Job in progress."
    )
    # Accepting again, or accepting the losing quote, is an illegal transition.
    again = await flow.call(customer, "PATCH", f"/quotes/{quote_id}/accept", 409, {})
    assert again["code"] == "INVALID_STATE_TRANSITION"
    late = await flow.call(customer, "PATCH", f"/quotes/{rival_quote_id}/accept", 409, {})
    assert late["code"] == "INVALID_STATE_TRANSITION"

    # The rival's lead closed, its quote expired, its conversation locked. It hears only that
    # the job is no longer available: not who won, not for how much.
    secrets = [vendor.user_id, business, vendor.name, vendor.email, quote_id, award_event]
    rival_lead = await flow.get(rival, f"/leads/{rival_lead_id}")
    assert rival_lead["status"] == "closed" and rival_lead["contact_unlocked"] is False
    assert (await flow.get(rival, f"/quotes/{rival_quote_id}"))["status"] == "expired"
    locked = await flow.call(
        rival, "POST", f"/conversations/{rival_conversation}/messages", 409, {"body": "Hello?"}
    )
    assert locked == {"error": NO_LONGER_AVAILABLE, "code": "NO_LONGER_AVAILABLE"}
    rival_history = await flow.history(rival, job_id)
    closed = [e for e in rival_history if e["type"] == "LEAD_CLOSED"]
    assert [e["payload"] for e in closed] == [
        {"lead_id": rival_lead_id, "message": NO_LONGER_AVAILABLE}
    ]
    assert {e["type"] for e in rival_history} == {
        "LEAD_OFFERED",
        "LEAD_ACCEPTED",
        "QUOTE_SENT",
        "LEAD_CLOSED",
    }
    rival_saw = [
        rival_history,
        await flow.get(rival, "/events"),
        await flow.get(rival, "/leads"),
        rival_lead,
        await flow.get(rival, "/conversations"),
        await flow.messages(rival, rival_conversation),
    ]
    for body in rival_saw:
        assert not [s for s in secrets if s in str(body)], body
        assert not amounts_in(body, 120, 12_000), body
    assert (await flow.get(rival, f"/jobs/{job_id}/escrow", expect=404))["code"] == "NOT_FOUND"
    assert (await flow.get(rival, f"/jobs/{job_id}/milestones", expect=404))["code"] == (
        "NOT_FOUND"
    )
    rival_notes = await notifications(fresh_db, rival)
    assert rival_notes[-1] == ("LEAD_CLOSED", NO_LONGER_AVAILABLE)
    assert not [n for n in rival_notes for s in secrets if s in str(n)]
    # The three vendors who never accepted get the same words, and nothing else.
    for bystander, bystander_lead in bystanders:
        assert (await flow.get(bystander, f"/leads/{bystander_lead}"))["status"] == "closed"
        assert (await notifications(fresh_db, bystander))[-1] == (
            "LEAD_CLOSED",
            NO_LONGER_AVAILABLE,
        )
    if (shown := await inbox_texts(http, rival)) is not None:
        assert any(NO_LONGER_AVAILABLE in text for text in shown), shown
        assert not [s for s in secrets for text in shown if s in text]
    # The winner is told.
    told = await notifications(fresh_db, vendor)
    assert ("QUOTE_ACCEPTED", "Your quote was accepted! £120 job starts now.") in told

    # ── Escrow: opened on the award; the customer funds it ────────────────────────────
    escrow = await flow.get(customer, f"/jobs/{job_id}/escrow")
    escrow_id = _id(escrow["escrow_id"], "esc")
    assert (escrow["status"], escrow["total"], escrow["funded"], escrow["balance"]) == (
        "pending",
        120,
        0,
        0,
    )
    assert await flow.get(vendor, f"/jobs/{job_id}/escrow") == escrow  # read-only for the vendor
    denied = await flow.call(vendor, "POST", f"/jobs/{job_id}/escrow/fund", 403, {})
    assert denied["code"] == "FORBIDDEN"

    await flow.call(customer, "POST", "/wallet/top-up", 200, {"amount": 50})
    short = await flow.call(customer, "POST", f"/jobs/{job_id}/escrow/fund", 402, {})
    assert short == {
        "error": "Insufficient funds",
        "code": "ESCROW_INSUFFICIENT_BALANCE",
        "required": 120,
        "available": 50,
    }
    # ...and nothing moved.
    assert (await flow.get(customer, "/wallet"))["balance"] == 50
    assert (await flow.get(customer, f"/jobs/{job_id}/escrow"))["status"] == "pending"

    topped = await flow.call(customer, "POST", "/wallet/top-up", 200, {"amount": 100})
    assert topped["balance"] == 150
    funded = await flow.call(customer, "POST", f"/jobs/{job_id}/escrow/fund", 200, {})
    assert funded["escrow_id"] == escrow_id and funded["job_id"] == job_id
    assert funded["status"] == "held" and funded["funded"] == 120
    fund_event = _id(funded["event_id"], "evt")
    assert (await flow.get(customer, "/wallet"))["balance"] == 30
    held = await flow.get(vendor, f"/jobs/{job_id}/escrow")
    assert (held["status"], held["funded"], held["balance"]) == ("held", 120, 120)

    # ── Step 7: the vendor submits the milestone with the seed's evidence ─────────────
    [milestone] = (await flow.get(vendor, f"/jobs/{job_id}/milestones"))["items"]
    milestone_id = _id(milestone["milestone_id"], "ms")
    assert (milestone["status"], milestone["amount"]) == ("pending", 120)
    submitted = await flow.call(
        vendor, "POST", f"/milestones/{milestone_id}/submit", 200, SEED_EVIDENCE
    )
    assert submitted["milestone_id"] == milestone_id and submitted["status"] == "submitted"
    submit_event = _id(submitted["event_id"], "evt")
    assert submitted["message"] == "Vendor submitted milestone for approval"
    assert (await flow.messages(customer, conversation_id))[-1]["body"] == (
        "Vendor submitted milestone for approval"
    )
    [shown] = (await flow.get(customer, f"/jobs/{job_id}/milestones"))["items"]
    assert shown["status"] == "submitted"
    evidence = SEED_EVIDENCE["completion_evidence"]
    assert shown["evidence"]["description"] == evidence["description"]
    assert [p.rstrip("/") for p in shown["evidence"]["photos"]] == evidence["photos"]
    # Evidence cannot change after submission.
    resubmit = await flow.call(
        vendor, "POST", f"/milestones/{milestone_id}/submit", 409, SEED_EVIDENCE
    )
    assert resubmit["code"] == "INVALID_STATE_TRANSITION"
    told = await notifications(fresh_db, customer)
    assert ("QUOTE_SENT", "Quote received: £120") in told
    assert ("MILESTONE_SUBMITTED", "Vendor submitted milestone for approval") in told

    # ── Step 8: the customer approves; the payment is released to the vendor ──────────
    approved = await flow.call(customer, "PATCH", f"/milestones/{milestone_id}/approve", 200, {})
    assert approved["milestone_id"] == milestone_id and approved["status"] == "released"
    approve_event = _id(approved["event_id"], "evt")
    assert approved["message"] == "Milestone approved. Payment releasing."
    conversation = [m["body"] for m in await flow.messages(vendor, conversation_id)]
    assert conversation[-2:] == [
        "Milestone approved. Payment releasing.",
        "All milestones released. Job completed.",
    ]
    released = await flow.get(customer, f"/jobs/{job_id}/escrow")
    assert (released["status"], released["released"], released["balance"]) == ("released", 120, 0)
    wallet = await flow.get(vendor, "/wallet")
    assert wallet["balance"] == 120
    assert [(e["kind"], e["amount"], e["job_id"]) for e in wallet["entries"]] == [
        ("milestone_release", 120, job_id)
    ]
    assert (await flow.get(customer, f"/jobs/{job_id}"))["status"] == "completed"
    # The conversation is archived: history stays readable, no new messages.
    archived = await flow.call(
        customer, "POST", f"/conversations/{conversation_id}/messages", 403, {"body": "Thanks!"}
    )
    assert archived["code"] == "MESSAGING_DISABLED"

    # ── Step 9: the customer reviews the vendor ──────────────────────────────────────
    missing = await flow.call(customer, "POST", "/reviews", 422, SEED_REVIEW)
    assert missing["code"] == "VALIDATION_ERROR" and "job_id" in str(missing["details"])
    posted = await flow.call(customer, "POST", "/reviews", 201, {"job_id": job_id, **SEED_REVIEW})
    review_id = _id(posted["review_id"], "rev")
    review_event = _id(posted["event_id"], "evt")
    assert posted["status"] == "published" and posted["message"] == "Review posted"
    assert (await flow.get(customer, f"/jobs/{job_id}"))["status"] == "closed"
    twice = await flow.call(customer, "POST", "/reviews", 409, {"job_id": job_id, **SEED_REVIEW})
    assert twice["code"] in {"ALREADY_REVIEWED", "INVALID_STATE_TRANSITION"}

    responded = await flow.call(
        vendor, "PATCH", f"/reviews/{review_id}/respond", 200, {"response": "Thank you, Sarah!"}
    )
    assert responded["review_id"] == review_id
    replied = await flow.call(
        customer, "PATCH", f"/reviews/{review_id}/reply", 200, {"reply": "See you next time."}
    )
    assert replied["review_id"] == review_id
    # A competing vendor sees nothing about the winner: no profile, no reviews.
    await flow.call(rival, "GET", f"/vendors/{vendor.user_id}/reviews", 404)
    await flow.call(rival, "GET", f"/vendors/{vendor.user_id}", 404)
    [public] = (await flow.get(customer, f"/vendors/{vendor.user_id}/reviews"))["items"]
    assert public["review_id"] == review_id and public["rating"] == 5
    assert public["feedback"] == "Great work, quick and professional!"
    assert public["recommend_yes_no"] is True
    assert public["vendor_response"] == "Thank you, Sarah!"
    assert public["customer_reply"] == "See you next time."
    assert customer.user_id not in str(public) and customer.name not in str(public)
    profile = await flow.get(customer, f"/vendors/{vendor.user_id}")
    assert profile["rating_average"] == 5.0 and profile["rating_count"] == 1

    # ── The job's history: every step, in order ──────────────────────────────────────
    history = await flow.history(customer, job_id)
    assert [e["seq"] for e in history] == sorted(e["seq"] for e in history)
    types = [e["type"] for e in history]
    # The rival's quote is the second QUOTE_SENT; the customer saw both.
    assert [t for t in types if t in MONEY_EVENTS] == ["QUOTE_SENT", *MONEY_EVENTS], types
    assert types[-2:] == ["REVIEW_RESPONDED", "REVIEW_REPLIED"], types
    by_id = {e["event_id"]: e["type"] for e in history}
    assert by_id[quote_event] == "QUOTE_SENT"
    assert by_id[award_event] == "QUOTE_ACCEPTED"
    assert by_id[fund_event] == "ESCROW_FUNDED"
    assert by_id[submit_event] == "MILESTONE_SUBMITTED"
    assert by_id[approve_event] == "MILESTONE_APPROVED"
    assert by_id[review_event] == "REVIEW_POSTED"
    released_event = next(e for e in history if e["type"] == "PAYMENT_RELEASED")
    assert released_event["payload"]["amount"] == 120
    # The winner sees the same steps, with its own quote only.
    vendor_types = [e["type"] for e in await flow.history(vendor, job_id)]
    assert [t for t in vendor_types if t in MONEY_EVENTS] == MONEY_EVENTS, vendor_types
    for text in (str(history), str(await flow.history(vendor, job_id))):
        assert "price" not in text

    assert await money_invariant_violations(fresh_db) == {}


async def test_two_milestones_release_in_parts(http: httpx.AsyncClient, fresh_db: Database) -> None:
    """The seed's step 8 with a quote broken into milestones: escrow goes ``held`` →
    ``partial_released`` → ``released``, one ledger transfer per milestone."""
    api = Api(http)
    flow = Flow(http)
    customer = await api.customer(postcode=postcode_in(AREA, "1AA"))
    vendor = await api.vendor(postcode=postcode_in(AREA, "2BB"), radius=10)
    job = await flow.call(customer, "POST", "/jobs", 201, SEED_JOB)
    job_id = job["job_id"]
    await flow.call(customer, "PATCH", f"/jobs/{job_id}/publish", 200, {})
    lead_id = (await api.lead_for(vendor, job_id))["lead_id"]
    await flow.call(vendor, "POST", f"/leads/{lead_id}/accept", 200, {})
    plan = [{"title": "Parts", "amount": 40.5}, {"title": "Labour", "amount": 79.5}]
    sent = await flow.call(
        vendor, "POST", "/quotes", 201, {"job_id": job_id, **SEED_QUOTE, "milestones": plan}
    )
    bad_plan = [{"title": "Parts", "amount": 40}, {"title": "Labour", "amount": 70}]
    wrong = await flow.call(
        vendor, "POST", "/quotes", 422, {"job_id": job_id, **SEED_QUOTE, "milestones": bad_plan}
    )
    assert wrong["code"] == "VALIDATION_ERROR"
    await flow.call(customer, "PATCH", f"/quotes/{sent['quote_id']}/accept", 200, {})
    await flow.call(customer, "POST", "/wallet/top-up", 200, {"amount": 120})
    await flow.call(customer, "POST", f"/jobs/{job_id}/escrow/fund", 200, {})

    milestones = (await flow.get(customer, f"/jobs/{job_id}/milestones"))["items"]
    assert [(m["position"], m["title"], m["amount"]) for m in milestones] == [
        (1, "Parts", 40.5),
        (2, "Labour", 79.5),
    ]
    states = []
    for milestone in milestones:
        await flow.call(
            vendor, "POST", f"/milestones/{milestone['milestone_id']}/submit", 200, SEED_EVIDENCE
        )
        await flow.call(
            customer, "PATCH", f"/milestones/{milestone['milestone_id']}/approve", 200, {}
        )
        escrow = await flow.get(vendor, f"/jobs/{job_id}/escrow")
        states.append((escrow["status"], escrow["released"], escrow["balance"]))
        assert (await flow.get(customer, f"/jobs/{job_id}"))["status"] == (
            "in_progress" if escrow["balance"] else "completed"
        )
    assert states == [("partial_released", 40.5, 79.5), ("released", 120, 0)]
    wallet = await flow.get(vendor, "/wallet")
    assert wallet["balance"] == 120
    assert sorted(e["amount"] for e in wallet["entries"]) == [40.5, 79.5]
    types = [e["type"] for e in await flow.history(customer, job_id)]
    assert types.count("PAYMENT_RELEASED") == 2 and types.count("JOB_COMPLETED") == 1
    assert types.index("JOB_COMPLETED") > max(
        i for i, t in enumerate(types) if t == "PAYMENT_RELEASED"
    )
    assert await money_invariant_violations(fresh_db) == {}
