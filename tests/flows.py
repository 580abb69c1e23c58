"""Shared setup for the money-flow tests: a job taken through quote, award, funding and
milestones over the API, as the real clients would, plus small readers for the state the tests
assert on (API views first; SQL only where the API has no view).

Every helper asserts the status of each step it drives, so a broken step fails where it
happens, not three calls later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import Database
from tests.helpers import Api, Marketplace, User, marketplace, postcode_in

BASE = "/api/connection"
QUOTE_DESCRIPTION = "New washer installed, tested"
EVIDENCE = {"photos": ["https://example.com/after.jpg"], "description": "Washer replaced"}


# ------------------------------------------------------------------------------------ quoting


@dataclass
class Quoting:
    """A live job and the vendors it was offered to; those in ``conversations`` accepted their
    leads (none has quoted yet)."""

    market: Marketplace
    customer: User
    vendors: list[User]
    job_id: str
    leads: dict[str, str]  # vendor user_id → lead_id
    conversations: dict[str, str]  # vendor user_id → conversation_id

    @property
    def other_customer(self) -> User:
        return self.market.other_customer

    @property
    def outsider(self) -> User:
        return self.market.outsider_vendor


async def quoting_job(api: Api, *, vendors: int = 2, accept: int | None = None) -> Quoting:
    """A published job offered to ``vendors`` vendors; the first ``accept`` (default: all)
    accepted their leads."""
    market = await marketplace(api, vendors=vendors)
    conversations = {}
    for vendor in market.vendors[: vendors if accept is None else accept]:
        accepted = await api.accept(vendor, market.leads[vendor.user_id])
        conversations[vendor.user_id] = accepted["conversation_id"]
    return Quoting(
        market=market,
        customer=market.customer,
        vendors=market.vendors,
        job_id=market.job_id,
        leads=market.leads,
        conversations=conversations,
    )


def quote_body(job_id: str, amount: Any = 120, **extra: Any) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "amount": amount,
        "description": QUOTE_DESCRIPTION,
        "estimated_duration": "2 hours",
        **extra,
    }


async def send_quote(
    api: Api, vendor: User, job_id: str, amount: Any = 120, **extra: Any
) -> httpx.Response:
    return await api.client.post(
        f"{BASE}/quotes", json=quote_body(job_id, amount, **extra), headers=vendor.headers
    )


async def quoted(api: Api, vendor: User, job_id: str, amount: Any = 120, **extra: Any) -> str:
    """Send a quote that must succeed; its id."""
    response = await send_quote(api, vendor, job_id, amount, **extra)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "pending" and body["event_id"].startswith("evt_"), body
    return str(body["quote_id"])


async def get_quote(api: Api, user: User, quote_id: str) -> httpx.Response:
    return await api.client.get(f"{BASE}/quotes/{quote_id}", headers=user.headers)


async def accept_quote(api: Api, customer: User, quote_id: str) -> httpx.Response:
    return await api.client.patch(
        f"{BASE}/quotes/{quote_id}/accept", json={}, headers=customer.headers
    )


# -------------------------------------------------------------------------------- the award


@dataclass
class Awarded:
    """A job awarded to ``winner`` (``loser`` quoted too and lost); escrow funded or not."""

    quoting: Quoting
    customer: User
    winner: User
    loser: User
    job_id: str
    quote_id: str
    loser_quote_id: str
    milestone_ids: list[str]
    amounts: list[int | float]
    conversation_id: str  # the winner's
    funded: bool

    @property
    def other_customer(self) -> User:
        return self.quoting.other_customer

    @property
    def outsider(self) -> User:
        return self.quoting.outsider


async def awarded_job(
    api: Api,
    *,
    amount: int | float = 120,
    milestones: list[dict[str, Any]] | None = None,
    funded: bool = True,
) -> Awarded:
    """Two vendors quote (the loser £30 more), the customer accepts the winner's quote and,
    with ``funded``, tops up exactly the amount and funds the escrow (wallet left at 0)."""
    quoting = await quoting_job(api, vendors=2)
    winner, loser = quoting.vendors
    extra = {"milestones": milestones} if milestones is not None else {}
    quote_id = await quoted(api, winner, quoting.job_id, amount, **extra)
    loser_quote_id = await quoted(api, loser, quoting.job_id, amount + 30)
    accepted = await accept_quote(api, quoting.customer, quote_id)
    assert accepted.status_code == 200, accepted.text
    if funded:
        await fund_escrow(api, quoting.customer, quoting.job_id, amount)
    listed = await list_milestones(api, quoting.customer, quoting.job_id)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    expected = [m["amount"] for m in milestones] if milestones else [amount]
    assert [m["amount"] for m in items] == expected, items
    return Awarded(
        quoting=quoting,
        customer=quoting.customer,
        winner=winner,
        loser=loser,
        job_id=quoting.job_id,
        quote_id=quote_id,
        loser_quote_id=loser_quote_id,
        milestone_ids=[m["milestone_id"] for m in items],
        amounts=expected,
        conversation_id=quoting.conversations[winner.user_id],
        funded=funded,
    )


async def top_up(api: Api, customer: User, amount: int | float) -> None:
    response = await api.client.post(
        f"{BASE}/wallet/top-up", json={"amount": amount}, headers=customer.headers
    )
    assert response.status_code == 200, response.text


async def fund_escrow(api: Api, customer: User, job_id: str, amount: int | float) -> None:
    """Top up ``amount`` and fund the job's escrow with it."""
    await top_up(api, customer, amount)
    response = await api.client.post(
        f"{BASE}/jobs/{job_id}/escrow/fund", json={}, headers=customer.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "held", response.text


# ------------------------------------------------------------------------------- milestones


async def list_milestones(api: Api, user: User, job_id: str) -> httpx.Response:
    return await api.client.get(f"{BASE}/jobs/{job_id}/milestones", headers=user.headers)


async def milestones_of(api: Api, user: User, job_id: str) -> dict[str, dict[str, Any]]:
    response = await list_milestones(api, user, job_id)
    assert response.status_code == 200, response.text
    return {m["milestone_id"]: m for m in response.json()["items"]}


async def submit(
    api: Api, vendor: User, milestone_id: str, evidence: dict[str, Any] | None = None
) -> httpx.Response:
    return await api.client.post(
        f"{BASE}/milestones/{milestone_id}/submit",
        json={"completion_evidence": EVIDENCE if evidence is None else evidence},
        headers=vendor.headers,
    )


async def approve(api: Api, customer: User, milestone_id: str) -> httpx.Response:
    return await api.client.patch(
        f"{BASE}/milestones/{milestone_id}/approve", json={}, headers=customer.headers
    )


async def request_changes(
    api: Api, customer: User, milestone_id: str, reason: Any = "The tap still drips"
) -> httpx.Response:
    return await api.client.patch(
        f"{BASE}/milestones/{milestone_id}/request-changes",
        json={"reason": reason},
        headers=customer.headers,
    )


async def submitted_and_approved(api: Api, job: Awarded, milestone_id: str) -> None:
    response = await submit(api, job.winner, milestone_id)
    assert response.status_code == 200, response.text
    response = await approve(api, job.customer, milestone_id)
    assert response.status_code == 200, response.text


async def completed_job(
    api: Api,
    *,
    amount: int | float = 120,
    milestones: list[dict[str, Any]] | None = None,
) -> Awarded:
    """An awarded, funded job whose every milestone was submitted and approved."""
    job = await awarded_job(api, amount=amount, milestones=milestones)
    for milestone_id in job.milestone_ids:
        await submitted_and_approved(api, job, milestone_id)
    assert await job_status(api, job.customer, job.job_id) == "completed"
    return job


@dataclass
class Completed:
    customer: User
    vendor: User
    job_id: str
    quote_id: str
    conversation_id: str


async def another_completed_job(api: Api, vendor: User, *, amount: int | float = 100) -> Completed:
    """A further job, from a new customer in ``vendor``'s own outcode, won and completed by
    ``vendor`` (for tests about one vendor over several jobs)."""
    customer = await api.customer(postcode=postcode_in(vendor.postcode.split()[0], "9ZZ"))
    job_id = (await api.create_job(customer, title="Replace radiator valve"))["job_id"]
    await api.publish(customer, job_id)
    lead_id = (await api.lead_for(vendor, job_id))["lead_id"]
    conversation_id = (await api.accept(vendor, lead_id))["conversation_id"]
    quote_id = await quoted(api, vendor, job_id, amount)
    accepted = await accept_quote(api, customer, quote_id)
    assert accepted.status_code == 200, accepted.text
    await fund_escrow(api, customer, job_id, amount)
    for milestone_id in await milestones_of(api, customer, job_id):
        assert (await submit(api, vendor, milestone_id)).status_code == 200
        assert (await approve(api, customer, milestone_id)).status_code == 200
    assert await job_status(api, customer, job_id) == "completed"
    return Completed(customer, vendor, job_id, quote_id, conversation_id)


# ---------------------------------------------------------------------------------- reviews


async def post_review(api: Api, customer: User, job_id: str, **fields: Any) -> httpx.Response:
    body = {
        "job_id": job_id,
        "rating": 5,
        "feedback": "Great work, quick and professional!",
        "recommend_yes_no": True,
        **fields,
    }
    return await api.client.post(f"{BASE}/reviews", json=body, headers=customer.headers)


async def vendor_profile(api: Api, viewer: User, vendor_id: str) -> dict[str, Any]:
    response = await api.client.get(f"{BASE}/vendors/{vendor_id}", headers=viewer.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def published_reviews(api: Api, viewer: User, vendor_id: str) -> list[dict[str, Any]]:
    response = await api.client.get(f"{BASE}/vendors/{vendor_id}/reviews", headers=viewer.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


# --------------------------------------------------------------------------------- disputes


async def raise_dispute(
    api: Api, user: User, job_id: str, reason: Any = "The tap still leaks"
) -> httpx.Response:
    return await api.client.post(
        f"{BASE}/jobs/{job_id}/dispute", json={"reason": reason}, headers=user.headers
    )


async def disputed(api: Api, user: User, job_id: str, reason: str = "The tap still leaks") -> str:
    """Raise a dispute that must succeed; its id."""
    response = await raise_dispute(api, user, job_id, reason)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "open", response.text
    return str(response.json()["dispute_id"])


async def resolve_dispute(
    api: Api, admin: User, dispute_id: str, resolution: str, **extra: Any
) -> httpx.Response:
    return await api.client.patch(
        f"/api/admin/disputes/{dispute_id}/resolve",
        json={"resolution": resolution, **extra},
        headers=admin.headers,
    )


# ---------------------------------------------------------------------------------- readers


async def job_status(api: Api, user: User, job_id: str) -> str:
    response = await api.client.get(f"{BASE}/jobs/{job_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def lead_status(api: Api, vendor: User, lead_id: str) -> str:
    response = await api.client.get(f"{BASE}/leads/{lead_id}", headers=vendor.headers)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def escrow_of(api: Api, user: User, job_id: str) -> dict[str, Any]:
    response = await api.client.get(f"{BASE}/jobs/{job_id}/escrow", headers=user.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def wallet_balance(api: Api, user: User) -> int | float:
    response = await api.client.get(f"{BASE}/wallet", headers=user.headers)
    assert response.status_code == 200, response.text
    balance = response.json()["balance"]
    assert isinstance(balance, int | float)
    return balance


async def event_types(api: Api, user: User, job_id: str) -> list[str]:
    """The job's event types in order, as ``user`` may see them."""
    response = await api.client.get(f"{BASE}/events/{job_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    return [e["type"] for e in response.json()["items"]]


async def events_of(api: Api, user: User, job_id: str, type: str) -> list[dict[str, Any]]:
    response = await api.client.get(f"{BASE}/events/{job_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    return [e for e in response.json()["items"] if e["type"] == type]


async def messages(api: Api, user: User, conversation_id: str) -> list[dict[str, Any]]:
    response = await api.client.get(
        f"{BASE}/conversations/{conversation_id}/messages",
        params={"order": "oldest_first", "limit": 100},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def send_message(api: Api, user: User, conversation_id: str, body: str) -> httpx.Response:
    return await api.client.post(
        f"{BASE}/conversations/{conversation_id}/messages",
        json={"body": body},
        headers=user.headers,
    )


async def fetch(db: Database, query: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of a read-only SQL query against the test's database."""
    conn = await db.connect()
    try:
        return [dict(row) for row in await conn.fetch(query, *args)]
    finally:
        await conn.close()


async def fetchval(db: Database, query: str, *args: Any) -> Any:
    conn = await db.connect()
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def ledger_violations(db: Database) -> dict[str, list[str]]:
    """The contract §5 invariants, rebuilt from the ledger entries (empty when all hold)."""
    from tradematch.core.database import create_engine
    from tradematch.escrow.ledger import invariant_violations
    from tradematch.sessions import create_sessionmaker

    engine = create_engine(db.async_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            return await invariant_violations(session)
    finally:
        await engine.dispose()


async def run_auto_approval(db: Database, settings: Any, *, batch: int = 20) -> int:
    """One run of the 14-day auto-approval, as the scheduler does it: the service function in a
    transaction of its own, events written just before COMMIT."""
    from tradematch.core.database import create_engine
    from tradematch.events.unit_of_work import unit_of_work
    from tradematch.milestones.service import auto_approve_due
    from tradematch.sessions import create_sessionmaker

    engine = create_engine(db.async_url, pool_size=1)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            approved = await auto_approve_due(session, settings, batch=batch)
        return approved
    finally:
        await engine.dispose()
