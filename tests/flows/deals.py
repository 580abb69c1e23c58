"""Jobs taken through quote, award, funding, milestones, reviews and disputes over the API, as
the real clients would, and small readers for the state tests assert on (API views first).

Two styles, for two kinds of test: step helpers over a ``Marketplace`` (``quoting_job``,
``awarded_job``, ``completed_job``, and each single request), and ``Deal``, which keeps a
job's ids as it goes and speaks pence (the money tests' property-based sequences).

Every helper that must succeed asserts the status of the step it drives, so a broken step fails
where it happens, not three calls later.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.flows.users import Api, Marketplace, User, marketplace, new_area, postcode_in

API = "/api/connection"
ADMIN = "/api/admin"
QUOTE_DESCRIPTION = "New washer installed, tested"
EVIDENCE = {"photos": ["https://example.com/after.jpg"], "description": "Washer replaced, tested"}


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
        f"{API}/quotes", json=quote_body(job_id, amount, **extra), headers=vendor.headers
    )


async def quoted(api: Api, vendor: User, job_id: str, amount: Any = 120, **extra: Any) -> str:
    """Send a quote that must succeed; its id."""
    response = await send_quote(api, vendor, job_id, amount, **extra)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "pending" and body["event_id"].startswith("evt_"), body
    return str(body["quote_id"])


async def get_quote(api: Api, user: User, quote_id: str) -> httpx.Response:
    return await api.client.get(f"{API}/quotes/{quote_id}", headers=user.headers)


async def accept_quote(api: Api, customer: User, quote_id: str) -> httpx.Response:
    return await api.client.patch(
        f"{API}/quotes/{quote_id}/accept", json={}, headers=customer.headers
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
        f"{API}/wallet/top-up", json={"amount": amount}, headers=customer.headers
    )
    assert response.status_code == 200, response.text


async def fund_escrow(api: Api, customer: User, job_id: str, amount: int | float) -> None:
    """Top up ``amount`` and fund the job's escrow with it."""
    await top_up(api, customer, amount)
    response = await api.client.post(
        f"{API}/jobs/{job_id}/escrow/fund", json={}, headers=customer.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "held", response.text


# ------------------------------------------------------------------------------- milestones


async def list_milestones(api: Api, user: User, job_id: str) -> httpx.Response:
    return await api.client.get(f"{API}/jobs/{job_id}/milestones", headers=user.headers)


async def milestones_of(api: Api, user: User, job_id: str) -> dict[str, dict[str, Any]]:
    response = await list_milestones(api, user, job_id)
    assert response.status_code == 200, response.text
    return {m["milestone_id"]: m for m in response.json()["items"]}


async def submit(
    api: Api, vendor: User, milestone_id: str, evidence: dict[str, Any] | None = None
) -> httpx.Response:
    return await api.client.post(
        f"{API}/milestones/{milestone_id}/submit",
        json={"completion_evidence": EVIDENCE if evidence is None else evidence},
        headers=vendor.headers,
    )


async def approve(api: Api, customer: User, milestone_id: str) -> httpx.Response:
    return await api.client.patch(
        f"{API}/milestones/{milestone_id}/approve", json={}, headers=customer.headers
    )


async def request_changes(
    api: Api, customer: User, milestone_id: str, reason: Any = "The tap still drips"
) -> httpx.Response:
    return await api.client.patch(
        f"{API}/milestones/{milestone_id}/request-changes",
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
    return await api.client.post(f"{API}/reviews", json=body, headers=customer.headers)


async def vendor_profile(api: Api, viewer: User, vendor_id: str) -> dict[str, Any]:
    response = await api.client.get(f"{API}/vendors/{vendor_id}", headers=viewer.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def published_reviews(api: Api, viewer: User, vendor_id: str) -> list[dict[str, Any]]:
    response = await api.client.get(f"{API}/vendors/{vendor_id}/reviews", headers=viewer.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


# --------------------------------------------------------------------------------- disputes


async def raise_dispute(
    api: Api, user: User, job_id: str, reason: Any = "The tap still leaks"
) -> httpx.Response:
    return await api.client.post(
        f"{API}/jobs/{job_id}/dispute", json={"reason": reason}, headers=user.headers
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
    response = await api.client.get(f"{API}/jobs/{job_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def lead_status(api: Api, vendor: User, lead_id: str) -> str:
    response = await api.client.get(f"{API}/leads/{lead_id}", headers=vendor.headers)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def escrow_of(api: Api, user: User, job_id: str) -> dict[str, Any]:
    response = await api.client.get(f"{API}/jobs/{job_id}/escrow", headers=user.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def wallet_balance(api: Api, user: User) -> int | float:
    response = await api.client.get(f"{API}/wallet", headers=user.headers)
    assert response.status_code == 200, response.text
    balance = response.json()["balance"]
    assert isinstance(balance, int | float)
    return balance


async def job_events(api: Api, user: User, job_id: str) -> list[dict[str, Any]]:
    """The job's events in order, as ``user`` may see them."""
    response = await api.client.get(f"{API}/events/{job_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def event_types(api: Api, user: User, job_id: str) -> list[str]:
    return [e["type"] for e in await job_events(api, user, job_id)]


async def events_of(api: Api, user: User, job_id: str, type: str) -> list[dict[str, Any]]:
    return [e for e in await job_events(api, user, job_id) if e["type"] == type]


async def messages(api: Api, user: User, conversation_id: str) -> list[dict[str, Any]]:
    response = await api.client.get(
        f"{API}/conversations/{conversation_id}/messages",
        params={"order": "oldest_first", "limit": 100},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def post_message(
    client: Api | httpx.AsyncClient, user: User, conversation_id: str, body: str
) -> httpx.Response:
    http = client.client if isinstance(client, Api) else client
    return await http.post(
        f"{API}/conversations/{conversation_id}/messages", json={"body": body}, headers=user.headers
    )


async def send_message(
    client: Api | httpx.AsyncClient, user: User, conversation_id: str, body: str
) -> dict[str, Any]:
    """A message that must be accepted; the API's answer."""
    response = await post_message(client, user, conversation_id, body)
    assert response.status_code == 201, response.text
    return dict(response.json())


# ------------------------------------------------------------------------------- deals


def pounds(pence: int) -> int | float:
    """The API's money: whole pounds as an integer, otherwise pounds and pence."""
    return pence // 100 if pence % 100 == 0 else pence / 100


def new_key() -> str:
    return f"money-{uuid.uuid4()}"


async def call(
    api: Api,
    method: str,
    path: str,
    user: User,
    body: dict[str, Any] | None = None,
    *,
    key: str | None = None,
) -> httpx.Response:
    headers = dict(user.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    if method == "GET":
        return await api.client.get(path, headers=headers)
    return await api.client.request(
        method, path, json={} if body is None else body, headers=headers
    )


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    return dict(response.json())


def assert_invalid_transition(
    response: httpx.Response, current_state: str | Sequence[str], entity: str | None = None
) -> None:
    """409 ``INVALID_STATE_TRANSITION`` naming the state the entity is in."""
    assert response.status_code == 409, (response.status_code, response.text)
    body = response.json()
    assert body["code"] == "INVALID_STATE_TRANSITION", body
    assert isinstance(body["error"], str) and body["error"], body
    states = (current_state,) if isinstance(current_state, str) else tuple(current_state)
    assert body["current_state"] in states, body
    if entity is not None:
        assert body["entity"] == entity, body


# --- deals: a job taken through quote, award, funding and milestones over the API -----------


@dataclass
class Deal:
    api: Api
    customer: User
    vendors: list[User]
    job_id: str
    leads: dict[str, str]  # vendor user_id → lead_id
    quotes: dict[str, str] = field(default_factory=dict)  # vendor user_id → quote_id
    winner: User | None = None
    milestone_ids: list[str] = field(default_factory=list)

    @property
    def vendor(self) -> User:
        assert self.winner is not None
        return self.winner

    @property
    def quote_id(self) -> str:
        return self.quotes[self.vendor.user_id]

    async def send_quote(self, vendor: User, plan: Sequence[int]) -> str:
        body = {
            "job_id": self.job_id,
            "amount": pounds(sum(plan)),
            "description": "New washer, tested for leaks",
            "estimated_duration": "2 hours",
            "milestones": [
                {"title": f"Stage {i}", "amount": pounds(p)} for i, p in enumerate(plan, 1)
            ],
        }
        sent = ok(await call(self.api, "POST", f"{API}/quotes", vendor, body), 201)
        self.quotes[vendor.user_id] = sent["quote_id"]
        return str(sent["quote_id"])

    async def award(self, vendor: User) -> dict[str, Any]:
        quote_id = self.quotes[vendor.user_id]
        body = ok(await call(self.api, "PATCH", f"{API}/quotes/{quote_id}/accept", self.customer))
        self.winner = vendor
        self.milestone_ids = [m["milestone_id"] for m in await self.milestones()]
        return body

    async def top_up(self, pence: int) -> dict[str, Any]:
        body = {"amount": pounds(pence)}
        return ok(await call(self.api, "POST", f"{API}/wallet/top-up", self.customer, body))

    async def fund(self) -> httpx.Response:
        return await call(self.api, "POST", f"{API}/jobs/{self.job_id}/escrow/fund", self.customer)

    async def submit(self, index: int) -> httpx.Response:
        path = f"{API}/milestones/{self.milestone_ids[index]}/submit"
        return await call(self.api, "POST", path, self.vendor, {"completion_evidence": EVIDENCE})

    async def approve(self, index: int) -> httpx.Response:
        path = f"{API}/milestones/{self.milestone_ids[index]}/approve"
        return await call(self.api, "PATCH", path, self.customer)

    async def request_changes(self, index: int) -> httpx.Response:
        path = f"{API}/milestones/{self.milestone_ids[index]}/request-changes"
        return await call(self.api, "PATCH", path, self.customer, {"reason": "Still dripping"})

    async def dispute(self, by: User | None = None) -> httpx.Response:
        path = f"{API}/jobs/{self.job_id}/dispute"
        return await call(self.api, "POST", path, by or self.customer, {"reason": "Not finished"})

    async def resolve(
        self, admin: User, dispute_id: str, resolution: str, vendor_share: int | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"resolution": resolution}
        if vendor_share is not None:
            body["vendor_share"] = pounds(vendor_share)
        path = f"{ADMIN}/disputes/{dispute_id}/resolve"
        return await call(self.api, "PATCH", path, admin, body)

    async def review(self, feedback: str = "Great work, quick and tidy") -> httpx.Response:
        body = {"job_id": self.job_id, "rating": 5, "feedback": feedback, "recommend_yes_no": True}
        return await call(self.api, "POST", f"{API}/reviews", self.customer, body)

    async def milestones(self) -> list[dict[str, Any]]:
        found = ok(
            await call(self.api, "GET", f"{API}/jobs/{self.job_id}/milestones", self.customer)
        )
        return list(found["items"])

    async def escrow(self) -> dict[str, Any]:
        return ok(await call(self.api, "GET", f"{API}/jobs/{self.job_id}/escrow", self.customer))

    async def job(self) -> dict[str, Any]:
        return ok(await call(self.api, "GET", f"{API}/jobs/{self.job_id}", self.customer))


async def live_deal(api: Api, *, vendors: int = 2) -> Deal:
    """A customer's published job in an area of its own, offered to ``vendors`` vendors there
    (``tests.helpers.marketplace`` without the bystanders: registering is slow)."""
    area = new_area()
    customer = await api.customer(postcode=postcode_in(area, "2BB"))
    offered = [
        await api.vendor(postcode=postcode_in(area, f"{i}CC"), radius=3) for i in range(vendors)
    ]
    job = await api.create_job(customer)
    published = await api.publish(customer, job["job_id"])
    assert published["leads_assigned"] == vendors, published
    leads = {v.user_id: (await api.lead_for(v, job["job_id"]))["lead_id"] for v in offered}
    return Deal(api, customer, offered, job["job_id"], leads)


async def quoted_deal(
    api: Api, *, vendors: int = 2, plans: Sequence[Sequence[int]] | None = None
) -> Deal:
    """A live job offered to ``vendors`` vendors who all accepted and sent a pending quote."""
    deal = await live_deal(api, vendors=vendors)
    for index, vendor in enumerate(deal.vendors):
        await api.accept(vendor, deal.leads[vendor.user_id])
        plan = plans[index] if plans is not None else (4000, 8000 + index * 100)
        await deal.send_quote(vendor, plan)
    return deal


async def awarded_deal(api: Api, *, vendors: int = 2, plan: Sequence[int] = (4000, 8000)) -> Deal:
    """The first vendor's quote (with milestones ``plan``, in pence) accepted; escrow pending."""
    plans = [plan, *[(15000,)] * (vendors - 1)]
    deal = await quoted_deal(api, vendors=vendors, plans=plans)
    await deal.award(deal.vendors[0])
    return deal


async def funded_deal(api: Api, *, vendors: int = 1, plan: Sequence[int] = (4000, 8000)) -> Deal:
    deal = await awarded_deal(api, vendors=vendors, plan=plan)
    await deal.top_up(sum(plan))
    ok(await deal.fund())
    return deal


# ------------------------------------------------------------------ on a marketplace of one's own


async def accepted_conversation(api: Api, market: Marketplace) -> str:
    """The first vendor accepts its lead; the conversation it opens."""
    vendor = market.vendors[0]
    accepted = await api.accept(vendor, market.leads[vendor.user_id])
    return str(accepted["conversation_id"])


async def award_and_fund(api: Api, market: Marketplace, amount: int = 120) -> User:
    """The first vendor accepts, quotes ``amount`` as one milestone, wins, and the escrow is
    funded. Returns the winning vendor."""
    winner = market.vendors[0]
    await api.accept(winner, market.leads[winner.user_id])
    quote_id = await quoted(api, winner, market.job_id, amount)
    accepted = await accept_quote(api, market.customer, quote_id)
    assert accepted.status_code == 200, accepted.text
    await fund_escrow(api, market.customer, market.job_id, amount)
    return winner


async def submit_milestones(api: Api, market: Marketplace, vendor: User) -> list[str]:
    """The vendor submits every milestone of the market's job; their ids."""
    ids = list(await milestones_of(api, vendor, market.job_id))
    for milestone_id in ids:
        submitted = await submit(api, vendor, milestone_id)
        assert submitted.status_code == 200, submitted.text
    return ids


async def approve_milestones(api: Api, market: Marketplace, milestone_ids: list[str]) -> None:
    for milestone_id in milestone_ids:
        approved = await approve(api, market.customer, milestone_id)
        assert approved.status_code == 200, approved.text
