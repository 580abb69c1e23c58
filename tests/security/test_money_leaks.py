"""Leak tests for the money half of the flow: quotes, the award, escrow, milestones, reviews.

One flow, every response recorded, then searched as JSON text (as ``test_leaks`` does for the
first half). A customer's job is offered to three vendors: the ``winner`` and the ``loser`` both
accept and quote, the ``bystander`` never answers. The customer compares the quotes, accepts the
winner's, is refused once for too little balance (402), tops up and funds the escrow; the winner
submits two milestones and both are approved; the customer reviews, the winner responds, the
customer replies. Every party looks around at every stage.

(a) the loser (and the bystander) never learns who won: no winner id, name, business name,
    contact, quote, amount or escrow in anything it is shown, events and notifications included;
    its lead closes with "This job is no longer available" and nothing more;
(b) a vendor never sees a competitor's quote: someone else's quote is a 404 exactly like a quote
    that does not exist, and a job's quote list is a 403 for every vendor;
(c) no customer- or vendor-facing response carries a lead price, by key or by value;
(d) admin alone sees lead prices, and sees every quote and the escrow unmasked;
(e) the winner sees the escrow read-only: it reads what the customer reads, and every attempt to
    move money (fund, top up, approve) is a 403 that changes nothing.

The lead price and the quote amounts are numbers nothing else in the flow can equal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI

from tests.flows.database import Database
from tests.flows.users import Api, User, create_admin, new_area, postcode_in
from tests.flows.world import as_text, keys_of, walk
from tradematch.app import create_app
from tradematch.core.config import Settings
from tradematch.kit.ids import new_id
from tradematch.kit.money import pence_to_pounds

PLUMBING_BASE_PENCE = 8_642_086
PRICE_PENCE = PLUMBING_BASE_PENCE * 150 // 100  # urgent: 150 %
PRICE_POUNDS = 129_631.29
PRICE_KEYS = frozenset({"price", "price_pence", "lead_price", "lead_price_pence"})
WINNING = (123.45, 12_345, "£123.45")  # the winner's quote: pounds, pence, text
LOSING = (167.89, 16_789, "£167.89")
NO_LONGER_AVAILABLE = "This job is no longer available"
# Events that would tell a vendor the job went ahead with someone else.
AWARD_EVENTS = frozenset(
    {
        "QUOTE_ACCEPTED",
        "JOB_IN_PROGRESS",
        "ESCROW_CREATED",
        "ESCROW_FUNDED",
        "MILESTONE_SUBMITTED",
        "MILESTONE_APPROVED",
        "PAYMENT_RELEASED",
        "JOB_COMPLETED",
        "REVIEW_POSTED",
        "REVIEW_RESPONDED",
        "REVIEW_REPLIED",
        "JOB_CLOSED",
    }
)
API = "/api/connection"


@dataclass
class Seen:
    viewer: User
    request: str
    status: int
    body: Any
    stage: str


@dataclass
class Flow:
    customer: User
    winner: User
    loser: User
    bystander: User
    admin: User
    job_id: str = ""
    leads: dict[str, str] = field(default_factory=dict)  # vendor user id → lead id
    quotes: dict[str, str] = field(default_factory=dict)  # vendor user id → quote id
    conversations: dict[str, str] = field(default_factory=dict)  # vendor user id → conv id
    escrow_id: str = ""
    milestones: list[str] = field(default_factory=list)
    stage: str = "offered"
    seen: list[Seen] = field(default_factory=list)
    admin_seen: list[Seen] = field(default_factory=list)
    notifications: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)

    @property
    def vendors(self) -> list[User]:
        return [self.winner, self.loser, self.bystander]

    def by(self, user: User, *, after_award: bool = False) -> list[Seen]:
        return [
            s
            for s in self.seen
            if s.viewer.user_id == user.user_id and (not after_award or s.stage != "offered")
        ]


class Recorder:
    def __init__(self, client: httpx.AsyncClient, flow: Flow) -> None:
        self.client = client
        self.flow = flow

    async def __call__(
        self,
        viewer: User,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        expect: int = 200,
    ) -> Any:
        response = await self.client.request(method, path, json=json, headers=viewer.headers)
        assert response.status_code == expect, (viewer.role, method, path, response.text)
        body = response.json()
        seen = Seen(viewer, f"{method} {path}", response.status_code, body, self.flow.stage)
        (self.flow.admin_seen if viewer.role == "admin" else self.flow.seen).append(seen)
        return body


async def vendor_looks_around(record: Recorder, vendor: User) -> None:
    flow = record.flow
    await record(vendor, "GET", f"{API}/leads")
    await record(vendor, "GET", f"{API}/leads/{flow.leads[vendor.user_id]}")
    await record(vendor, "GET", f"{API}/events")
    await record(vendor, "GET", f"{API}/events/{flow.job_id}")
    await record(vendor, "GET", f"{API}/conversations")
    await record(vendor, "GET", f"{API}/wallet")
    if conversation := flow.conversations.get(vendor.user_id):
        await record(vendor, "GET", f"{API}/conversations/{conversation}/messages")
    if quote := flow.quotes.get(vendor.user_id):
        await record(vendor, "GET", f"{API}/quotes/{quote}")
    contracted = flow.stage != "offered" and vendor is flow.winner
    expect = 200 if contracted else 404
    await record(vendor, "GET", f"{API}/jobs/{flow.job_id}/escrow", expect=expect)
    await record(vendor, "GET", f"{API}/jobs/{flow.job_id}/milestones", expect=expect)
    await record(vendor, "GET", f"{API}/jobs/{flow.job_id}/quotes", expect=403)
    response = await record.client.get(f"{API}/notifications", headers=vendor.headers)
    if response.status_code != 404:  # the in-app inbox, where served
        assert response.status_code == 200, response.text
        flow.seen.append(Seen(vendor, f"GET {API}/notifications", 200, response.json(), flow.stage))


async def customer_looks_around(record: Recorder, customer: User) -> None:
    flow = record.flow
    await record(customer, "GET", f"{API}/jobs/{flow.job_id}")
    await record(customer, "GET", f"{API}/jobs/{flow.job_id}/quotes")
    await record(customer, "GET", f"{API}/jobs/{flow.job_id}/vendors")
    await record(customer, "GET", f"{API}/events")
    await record(customer, "GET", f"{API}/events/{flow.job_id}")
    await record(customer, "GET", f"{API}/conversations")
    await record(customer, "GET", f"{API}/wallet")
    for quote in flow.quotes.values():
        await record(customer, "GET", f"{API}/quotes/{quote}")
    for conversation in flow.conversations.values():
        await record(customer, "GET", f"{API}/conversations/{conversation}/messages")
    if flow.stage != "offered":
        await record(customer, "GET", f"{API}/jobs/{flow.job_id}/escrow")
        await record(customer, "GET", f"{API}/jobs/{flow.job_id}/milestones")
    for vendor in flow.vendors:
        await record(customer, "GET", f"{API}/vendors/{vendor.user_id}")
        await record(customer, "GET", f"{API}/vendors/{vendor.user_id}/reviews")


async def everyone_looks_around(record: Recorder) -> None:
    await customer_looks_around(record, record.flow.customer)
    for vendor in record.flow.vendors:
        await vendor_looks_around(record, vendor)


async def admin_looks_around(record: Recorder) -> None:
    flow = record.flow
    await record(flow.admin, "GET", f"/api/admin/jobs/{flow.job_id}")
    await record(flow.admin, "GET", f"/api/admin/events?job_id={flow.job_id}")
    for lead_id in flow.leads.values():
        await record(flow.admin, "GET", f"/api/admin/leads/{lead_id}")
    for quote_id in flow.quotes.values():
        await record(flow.admin, "GET", f"/api/admin/quotes/{quote_id}")
    if flow.stage != "offered":
        await record(flow.admin, "GET", f"/api/admin/jobs/{flow.job_id}/escrow")


@pytest_asyncio.fixture(scope="module")
async def flow(settings: Settings, worker_db: Database) -> AsyncIterator[Flow]:
    priced = settings.model_copy(
        update={"lead_base_price_pence": {"Plumbing": PLUMBING_BASE_PENCE}}
    )
    app: FastAPI = create_app(priced, database_url=worker_db.async_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=30
        ) as client:
            yield await run_flow(Api(client), worker_db)


async def run_flow(api: Api, db: Database) -> Flow:
    area = new_area()
    customer = await api.customer(postcode=postcode_in(area, "2BB"))
    winner, loser, bystander = [
        await api.vendor(postcode=postcode_in(area, f"{i}CC"), radius=3) for i in range(3)
    ]
    admin = await create_admin(api, db.async_url)
    flow = Flow(customer, winner, loser, bystander, admin)
    record = Recorder(api.client, flow)
    job = {
        "title": "Fix leaking kitchen tap",
        "trade_category": "Plumbing",
        "budget_min": 50,
        "budget_max": 250,
        "timeframe": "urgent",
    }
    flow.job_id = (await record(customer, "POST", f"{API}/jobs", json=job, expect=201))["job_id"]
    published = await record(customer, "PATCH", f"{API}/jobs/{flow.job_id}/publish", json={})
    assert published["leads_assigned"] == 3, published
    for vendor in flow.vendors:
        flow.leads[vendor.user_id] = (await api.lead_for(vendor, flow.job_id))["lead_id"]

    # Two vendors accept and quote; the bystander never answers.
    for vendor, (amount, _, _) in ((winner, WINNING), (loser, LOSING)):
        accepted = await record(
            vendor, "POST", f"{API}/leads/{flow.leads[vendor.user_id]}/accept", json={}
        )
        flow.conversations[vendor.user_id] = accepted["conversation_id"]
        quote = {
            "job_id": flow.job_id,
            "amount": amount,
            "description": "New washer installed, tested",
            "estimated_duration": "2 hours",
            "milestones": [
                {"title": "Parts", "amount": 40},
                {"title": "Labour", "amount": round(amount - 40, 2)},
            ],
        }
        sent = await record(vendor, "POST", f"{API}/quotes", json=quote, expect=201)
        flow.quotes[vendor.user_id] = sent["quote_id"]
    await everyone_looks_around(record)
    await admin_looks_around(record)

    # The award. The winner may read the escrow but not fund it.
    flow.stage = "awarded"
    await record(customer, "PATCH", f"{API}/quotes/{flow.quotes[winner.user_id]}/accept", json={})
    await record(winner, "POST", f"{API}/jobs/{flow.job_id}/escrow/fund", json={}, expect=403)
    await everyone_looks_around(record)

    # Funding: refused once for too little balance, then topped up and funded.
    flow.stage = "funded"
    await record(customer, "POST", f"{API}/jobs/{flow.job_id}/escrow/fund", json={}, expect=402)
    await record(customer, "POST", f"{API}/wallet/top-up", json={"amount": 200})
    funded = await record(customer, "POST", f"{API}/jobs/{flow.job_id}/escrow/fund", json={})
    flow.escrow_id = funded["escrow_id"]
    milestones = await record(customer, "GET", f"{API}/jobs/{flow.job_id}/milestones")
    flow.milestones = [m["milestone_id"] for m in milestones["items"]]
    await everyone_looks_around(record)

    # Both milestones submitted and approved: partial release, then the rest.
    evidence = {"completion_evidence": {"photos": [], "description": "Done and tested"}}
    for stage, milestone in zip(("partial", "released"), flow.milestones, strict=True):
        flow.stage = stage
        await record(winner, "POST", f"{API}/milestones/{milestone}/submit", json=evidence)
        await record(customer, "PATCH", f"{API}/milestones/{milestone}/approve", json={})
        await everyone_looks_around(record)

    # The review, the response, the reply.
    flow.stage = "reviewed"
    review = {
        "job_id": flow.job_id,
        "rating": 5,
        "feedback": "Great work, quick and professional!",
        "recommend_yes_no": True,
    }
    posted = await record(customer, "POST", f"{API}/reviews", json=review, expect=201)
    await record(
        winner, "PATCH", f"{API}/reviews/{posted['review_id']}/respond", json={"response": "Ta!"}
    )
    await record(
        customer, "PATCH", f"{API}/reviews/{posted['review_id']}/reply", json={"reply": "Cheers"}
    )
    await everyone_looks_around(record)
    await admin_looks_around(record)

    conn = await db.connect()
    try:
        for user in (customer, *flow.vendors):
            rows = await conn.fetch(
                "SELECT e.type, n.title, n.body FROM notifications n"
                " JOIN event_log e ON e.id = n.event_id WHERE n.user_id = $1 ORDER BY e.seq",
                user.user_id,
            )
            flow.notifications[user.user_id] = [(r["type"], r["title"], r["body"]) for r in rows]
    finally:
        await conn.close()
    return flow


def winner_traces(flow: Flow) -> dict[str, str]:
    winner = flow.winner
    return {
        "winner id": winner.user_id,
        "winner business": winner.body["vendor_profile"]["business_name"],
        "winner name": winner.name,
        "winner email": winner.email,
        "winner phone": winner.phone,
        "winning quote": flow.quotes[winner.user_id],
        "winning amount": WINNING[2],
        "winner's conversation": flow.conversations[winner.user_id],
        "escrow": flow.escrow_id,
        **{f"milestone {i}": m for i, m in enumerate(flow.milestones, 1)},
    }


def amounts_in(body: Any, *amounts: float) -> list[str]:
    """Paths of numbers equal to one of ``amounts`` (sequence numbers and counters aside)."""
    return [
        path
        for path, value in walk(body)
        if isinstance(value, int | float)
        and not isinstance(value, bool)
        and value in amounts
        and not path.endswith((".seq", ".next_after", ".position", "unread_count"))
    ]


def found(traces: dict[str, str], body: Any) -> list[str]:
    text = as_text(body).lower()
    return [label for label, value in traces.items() if value.lower() in text]


# (a) ------------------------------------------------------------------------------------------


def test_the_loser_never_learns_who_won(flow: Flow) -> None:
    traces = winner_traces(flow)
    problems: list[tuple[Any, ...]] = []
    for vendor in (flow.loser, flow.bystander):
        responses = flow.by(vendor, after_award=True)
        assert len(responses) >= 40, len(responses)
        for s in responses:
            if leaked := found(traces, s.body):
                problems.append((vendor.user_id, s.stage, s.request, leaked))
            if where := amounts_in(s.body, *WINNING[:2]):
                problems.append((vendor.user_id, s.stage, s.request, "winning amount", where))
            for path, node in walk(s.body):
                if (
                    isinstance(node, dict)
                    and (kind := node.get("type") or node.get("event_type")) in AWARD_EVENTS
                ):
                    problems.append((vendor.user_id, s.request, path, kind))
        for note in flow.notifications[vendor.user_id]:
            if leaked := found(traces, note) or amounts_in(list(note), *WINNING[:2]):
                problems.append((vendor.user_id, "notification", note, leaked))
    assert not problems, problems


def test_the_lead_closes_with_no_longer_available_and_nothing_more(flow: Flow) -> None:
    for vendor in (flow.loser, flow.bystander):
        lead_id = flow.leads[vendor.user_id]
        [history] = [
            s.body["items"]
            for s in flow.by(vendor)
            if s.request == f"GET {API}/events/{flow.job_id}" and s.stage == "reviewed"
        ]
        closed = [e for e in history if e["type"] == "LEAD_CLOSED"]
        assert [e["payload"] for e in closed] == [
            {"lead_id": lead_id, "message": NO_LONGER_AVAILABLE}
        ]
        assert closed[0]["actor_id"] is None  # not even which user closed it
        # Nothing happened to the job since, as far as this vendor can tell.
        assert history[-1]["type"] == "LEAD_CLOSED"
        [lead] = [
            s.body
            for s in flow.by(vendor)
            if s.request == f"GET {API}/leads/{lead_id}" and s.stage == "reviewed"
        ]
        assert lead["status"] == "closed" and lead["contact_unlocked"] is False
        assert "customer" not in lead
        closing = [n for n in flow.notifications[vendor.user_id] if n[0] == "LEAD_CLOSED"]
        assert closing and all(body == NO_LONGER_AVAILABLE for _, _, body in closing), closing
        after = flow.notifications[vendor.user_id]
        assert after[-len(closing) :] == closing  # and nothing after it
    # The loser's own quote expired; its conversation was locked, not told anything new.
    [quote] = [
        s.body
        for s in flow.by(flow.loser)
        if s.request == f"GET {API}/quotes/{flow.quotes[flow.loser.user_id]}"
        and s.stage == "reviewed"
    ]
    assert quote["status"] == "expired" and quote["amount"] == LOSING[0]
    [inbox] = [
        s.body["items"]
        for s in flow.by(flow.loser)
        if s.request == f"GET {API}/conversations" and s.stage == "reviewed"
    ]
    assert [c["status"] for c in inbox] == ["locked"]
    assert inbox[0]["messaging_enabled"] is False


def test_the_winner_learns_nothing_of_the_loser(flow: Flow) -> None:
    loser = flow.loser
    traces = {
        "loser id": loser.user_id,
        "loser business": loser.body["vendor_profile"]["business_name"],
        "loser email": loser.email,
        "losing quote": flow.quotes[loser.user_id],
        "losing amount": LOSING[2],
        "bystander id": flow.bystander.user_id,
    }
    problems = [
        (s.stage, s.request, leaked)
        for s in flow.by(flow.winner)
        if (leaked := found(traces, s.body) or amounts_in(s.body, *LOSING[:2]))
    ]
    assert not problems, problems


# (b) ------------------------------------------------------------------------------------------


async def test_a_vendor_never_sees_a_competitors_quote(
    flow: Flow, client: httpx.AsyncClient
) -> None:
    ghost = new_id("quote")
    for vendor, other in ((flow.winner, flow.loser), (flow.loser, flow.winner)):
        quote_id = flow.quotes[other.user_id]
        for method, suffix, body in (
            ("GET", "", None),
            ("PATCH", "", {"description": "Cheaper now"}),
            ("PATCH", "/withdraw", {}),
        ):
            foreign = await client.request(
                method, f"{API}/quotes/{quote_id}{suffix}", json=body, headers=vendor.headers
            )
            missing = await client.request(
                method, f"{API}/quotes/{ghost}{suffix}", json=body, headers=vendor.headers
            )
            assert foreign.status_code == 404, (method, suffix, foreign.text)
            assert (
                foreign.json()
                == missing.json()
                == {
                    "error": "Quote not found",
                    "code": "NOT_FOUND",
                }
            )
        listed = await client.get(f"{API}/jobs/{flow.job_id}/quotes", headers=vendor.headers)
        assert listed.status_code == 403
        assert listed.json() == {"error": "Your role may not do this", "code": "FORBIDDEN"}
    # The recorded flow agrees: every vendor asked for the quote list at every stage, and no
    # vendor-facing response ever named the other vendor's quote.
    refused = [s for s in flow.seen if s.request == f"GET {API}/jobs/{flow.job_id}/quotes"]
    assert {s.viewer.role for s in refused} == {"customer", "vendor"}
    assert all(s.status == 403 for s in refused if s.viewer.role == "vendor")
    for vendor in flow.vendors:
        others = [q for v, q in flow.quotes.items() if v != vendor.user_id]
        assert not [s.request for s in flow.by(vendor) for q in others if q in str(s.body)]
    # ...while the customer compared both, with their vendors and amounts.
    compared = next(
        s.body["items"]
        for s in flow.by(flow.customer)
        if s.request == f"GET {API}/jobs/{flow.job_id}/quotes"
    )
    assert {(q["vendor_id"], q["amount"]) for q in compared} == {
        (flow.winner.user_id, WINNING[0]),
        (flow.loser.user_id, LOSING[0]),
    }


# (c) and (d) ------------------------------------------------------------------------------------


def test_no_customer_or_vendor_response_carries_a_lead_price(flow: Flow) -> None:
    assert len(flow.seen) > 200
    requests = {s.request.split("?")[0] for s in flow.seen}
    for route in ("escrow", "milestones", "quotes", "wallet", "reviews"):
        assert any(route in r for r in requests), route
    problems: list[tuple[Any, ...]] = []
    for s in flow.seen:
        if keys := keys_of(s.body) & (PRICE_KEYS | {"admin"}):
            problems.append((s.viewer.role, s.request, "key", sorted(keys)))
        if where := amounts_in(s.body, PRICE_PENCE, PRICE_POUNDS):
            problems.append((s.viewer.role, s.request, "value", where))
        text = as_text(s.body)
        if str(PRICE_PENCE) in text or "129,631.29" in text or "129631.29" in text:
            problems.append((s.viewer.role, s.request, "text"))
    for user_id, notes in flow.notifications.items():
        if [n for n in notes if "129,631" in str(n) or str(PRICE_PENCE) in str(n)]:
            problems.append((user_id, "notification"))
    assert not problems, problems


def test_only_admin_sees_lead_prices(flow: Flow) -> None:
    final = [s for s in flow.admin_seen if s.stage == "reviewed"]
    job = next(s.body for s in final if s.request.startswith("GET /api/admin/jobs/job_"))
    assert sorted(lead["price"] for lead in job["leads"]) == [PRICE_POUNDS] * 3
    assert (job["budget_min"], job["budget_max"], job["status"]) == (50, 250, "closed")
    statuses = {lead["vendor_id"]: lead["status"] for lead in job["leads"]}
    assert statuses == {
        flow.winner.user_id: "quote_accepted",
        flow.loser.user_id: "closed",
        flow.bystander.user_id: "closed",
    }
    leads = [s.body for s in final if s.request.startswith("GET /api/admin/leads/")]
    assert [lead["price"] for lead in leads] == [PRICE_POUNDS] * 3
    # Admin reads every quote, including the loser's, and the escrow unmasked.
    quotes = {
        s.body["vendor_id"]: (s.body["status"], s.body["amount"])
        for s in final
        if s.request.startswith("GET /api/admin/quotes/")
    }
    assert quotes == {
        flow.winner.user_id: ("accepted", WINNING[0]),
        flow.loser.user_id: ("expired", LOSING[0]),
    }
    escrow = next(s.body for s in final if s.request.endswith("/escrow"))
    assert escrow["vendor_id"] == flow.winner.user_id and escrow["customer_id"] == (
        flow.customer.user_id
    )
    assert (escrow["status"], escrow["total"], escrow["released"], escrow["balance"]) == (
        "released",
        WINNING[0],
        WINNING[0],
        0,
    )
    assert [m["amount"] for m in escrow["milestones"]] == [40, round(WINNING[0] - 40, 2)]
    events = next(s.body["items"] for s in final if s.request.startswith("GET /api/admin/events"))
    offered = [e for e in events if e["type"] == "LEAD_OFFERED"]
    assert [e["payload"]["admin"]["price"] for e in offered] == [pence_to_pounds(PRICE_PENCE)] * 3


# (e) ------------------------------------------------------------------------------------------


def test_the_winner_reads_the_escrow_the_customer_reads(flow: Flow) -> None:
    [refused] = [s for s in flow.by(flow.winner) if s.request.endswith("/escrow/fund")]
    assert (refused.stage, refused.status, refused.body["code"]) == ("awarded", 403, "FORBIDDEN")
    path = f"GET {API}/jobs/{flow.job_id}/escrow"
    for stage in ("awarded", "funded", "partial", "released", "reviewed"):
        [customer_view] = [
            s.body for s in flow.by(flow.customer) if s.request == path and s.stage == stage
        ]
        [winner_view] = [
            s.body for s in flow.by(flow.winner) if s.request == path and s.stage == stage
        ]
        assert winner_view == customer_view, stage
    states = [
        s.body["status"] for s in flow.by(flow.winner) if s.request == path and s.stage != "offered"
    ]
    assert states == ["pending", "held", "partial_released", "released", "released"]
    # The loser and the bystander never could.
    for vendor in (flow.loser, flow.bystander):
        denied = [s for s in flow.by(vendor) if s.request == path]
        assert denied and all(s.status == 404 for s in denied)


async def test_the_winner_cannot_move_money(
    flow: Flow, client: httpx.AsyncClient, worker_db: Database
) -> None:
    conn = await worker_db.connect()
    try:
        winner = flow.winner
        attempts = [
            ("POST", f"{API}/jobs/{flow.job_id}/escrow/fund", {}),
            ("POST", f"{API}/wallet/top-up", {"amount": 50}),
            ("PATCH", f"{API}/milestones/{flow.milestones[0]}/approve", {}),
            ("PATCH", f"{API}/milestones/{flow.milestones[0]}/request-changes", {"reason": "x"}),
        ]
        for method, path, body in attempts:
            response = await client.request(method, path, json=body, headers=winner.headers)
            assert response.status_code == 403, (path, response.text)
            assert response.json() == {"error": "Your role may not do this", "code": "FORBIDDEN"}
        escrow = await client.get(f"{API}/jobs/{flow.job_id}/escrow", headers=winner.headers)
        assert escrow.json()["status"] == "released"
        entries = await conn.fetchval(
            "SELECT count(*) FROM ledger_entries e JOIN ledger_transactions t"
            " ON t.id = e.transaction_id WHERE t.job_id = $1",
            flow.job_id,
        )
        assert entries == 3 * 2  # fund, and two releases: nothing from the refused attempts
    finally:
        await conn.close()
