"""Shared pieces of the money tests: deals driven through the API, an independent audit of the
ledger, and whole-database snapshots for "nothing changed" checks."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import Database
from tests.helpers import Api, User, new_area, postcode_in
from tradematch.core.database import create_engine
from tradematch.escrow.ledger import invariant_violations
from tradematch.sessions import create_sessionmaker

API = "/api/connection"
ADMIN = "/api/admin"
EVIDENCE = {"photos": ["https://example.com/after.jpg"], "description": "Washer replaced, tested"}

# Every table a request of the flow can write (static reference data and login bookkeeping
# left out). A snapshot is the text of every row, so any change to any column shows.
SNAPSHOT_TABLES = (
    "users",
    "vendor_profiles",
    "vendor_trades",
    "jobs",
    "leads",
    "quotes",
    "conversations",
    "messages",
    "conversation_reads",
    "escrow_accounts",
    "ledger_accounts",
    "ledger_transactions",
    "ledger_entries",
    "milestones",
    "disputes",
    "reviews",
    "event_log",
    "event_audience",
    "notifications",
    "idempotency_keys",
)

Snapshot = dict[str, list[str]]


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


# --- the ledger audit ------------------------------------------------------------------------

FUNDED_BY = "escrow_fund"
RELEASED_BY = ("milestone_release", "dispute_release")
REFUNDED_BY = "dispute_refund"


def escrow_state_fits(status: str, total: int, funded: int, released: int, refunded: int) -> bool:
    """Contract §4/§5: what an escrow in each state holds. Funding is all or nothing, refunds
    only ever come from a dispute resolution, which ends the escrow."""
    left = funded - released - refunded
    whole = funded == total
    return {
        "pending": funded == 0,
        "held": whole and released == 0 and refunded == 0,
        "partial_released": whole and released > 0 and left > 0 and refunded == 0,
        "released": whole and released == funded and refunded == 0,
        "refunded": whole and refunded > 0 and left == 0,
        "disputed": whole and left > 0 and refunded == 0,
    }.get(status, False)


async def ledger_problems(conn: Any) -> dict[str, list[str]]:
    """Rebuild every balance from the entries, in Python, and check contract §5 and more: each
    transaction balances; stored balances equal their entries; no wallet or escrow below zero;
    no money created; every escrow's counters equal its ledger movements; released + refunded ≤
    funded; its state matches its balance; money moves only between the escrow and its own
    customer and vendor; money sits in escrow only while the job runs."""
    problems: dict[str, list[str]] = defaultdict(list)
    accounts = {
        r["id"]: (r["kind"], r["owner_ref"], int(r["balance_pence"]))
        for r in await conn.fetch("SELECT id, kind, owner_ref, balance_pence FROM ledger_accounts")
    }
    transactions = {
        r["id"]: (r["kind"], r["job_id"])
        for r in await conn.fetch("SELECT id, kind, job_id FROM ledger_transactions")
    }
    entries_of: dict[str, list[tuple[int, int]]] = defaultdict(list)
    rebuilt: dict[int, int] = defaultdict(int)
    for r in await conn.fetch(
        "SELECT transaction_id, account_id, amount_pence FROM ledger_entries"
    ):
        entries_of[r["transaction_id"]].append((r["account_id"], int(r["amount_pence"])))
        rebuilt[r["account_id"]] += int(r["amount_pence"])

    for txn_id in transactions:
        moves = entries_of.get(txn_id, [])
        if len(moves) < 2:
            problems["transaction with fewer than two entries"].append(txn_id)
        if sum(amount for _, amount in moves) != 0:
            problems["unbalanced transaction"].append(txn_id)
    for account_id, (kind, owner, stored) in accounts.items():
        if stored != rebuilt.get(account_id, 0):
            problems["stored balance differs from its entries"].append(f"{kind}:{owner}")
        if kind != "provider" and stored < 0:
            problems["negative wallet or escrow balance"].append(f"{kind}:{owner}")
    if sum(rebuilt.values()) != 0:
        problems["money created or destroyed"].append(str(sum(rebuilt.values())))

    account_id_of = {(kind, owner): a for a, (kind, owner, _) in accounts.items()}
    escrows = await conn.fetch(
        "SELECT x.id, x.job_id, x.customer_id, x.vendor_id, x.status, x.total_pence,"
        " x.funded_pence, x.released_pence, x.refunded_pence, j.status AS job_status"
        " FROM escrow_accounts x JOIN jobs j ON j.id = x.job_id"
    )
    milestone_rows = await conn.fetch("SELECT escrow_id, amount_pence, status FROM milestones")
    planned: dict[str, int] = defaultdict(int)
    paid_milestones: dict[str, int] = defaultdict(int)
    for m in milestone_rows:
        planned[m["escrow_id"]] += int(m["amount_pence"])
        if m["status"] == "released":
            paid_milestones[m["escrow_id"]] += int(m["amount_pence"])

    escrow_ids = {x["id"] for x in escrows}
    for (kind, owner), _account in account_id_of.items():
        if kind == "escrow" and owner not in escrow_ids:
            problems["ledger escrow account without an escrow"].append(owner)

    for x in escrows:
        esc = x["id"]
        total, funded = int(x["total_pence"]), int(x["funded_pence"])
        released, refunded = int(x["released_pence"]), int(x["refunded_pence"])
        account = account_id_of.get(("escrow", esc))
        balance = accounts[account][2] if account is not None else 0
        customer_wallet = account_id_of.get(("customer_wallet", x["customer_id"]))
        vendor_wallet = account_id_of.get(("vendor_wallet", x["vendor_id"]))
        flows: dict[str, int] = defaultdict(int)
        for txn_id, moves in entries_of.items():
            mine = [amount for acc, amount in moves if acc == account]
            if account is None or not mine:
                continue
            kind, job_id = transactions[txn_id]
            flows[kind] += sum(mine)
            if job_id != x["job_id"]:
                problems["escrow movement recorded against another job"].append(txn_id)
            counterpart = {acc for acc, _ in moves if acc != account}
            expected = {
                FUNDED_BY: customer_wallet,
                REFUNDED_BY: customer_wallet,
                **dict.fromkeys(RELEASED_BY, vendor_wallet),
            }.get(kind)
            if expected is None or counterpart != {expected}:
                problems["escrow money moved to or from a stranger"].append(txn_id)
        if flows[FUNDED_BY] != funded:
            problems["funded differs from the ledger"].append(esc)
        if -sum(flows[k] for k in RELEASED_BY) != released:
            problems["released differs from the ledger"].append(esc)
        if -flows[REFUNDED_BY] != refunded:
            problems["refunded differs from the ledger"].append(esc)
        if balance != funded - released - refunded:
            problems["escrow balance differs from funded - released - refunded"].append(esc)
        if not 0 <= released + refunded <= funded <= total:
            problems["released + refunded exceed funded (or funded exceeds total)"].append(esc)
        if not escrow_state_fits(x["status"], total, funded, released, refunded):
            problems["escrow state does not match its balance"].append(f"{esc}:{x['status']}")
        if planned[esc] != total:
            problems["milestones do not add up to the escrow"].append(esc)
        if -flows["milestone_release"] != paid_milestones[esc]:
            problems["milestone releases differ from released milestones"].append(esc)
        job_status = x["job_status"]
        if balance > 0 and job_status not in ("in_progress", "disputed"):
            problems["money left in escrow of a finished job"].append(f"{esc}:{job_status}")
        if x["status"] in ("held", "partial_released") and job_status != "in_progress":
            problems["funded escrow on a job not in progress"].append(f"{esc}:{job_status}")
        if x["status"] == "disputed" and job_status != "disputed":
            problems["disputed escrow on an undisputed job"].append(f"{esc}:{job_status}")
    return dict(problems)


async def money_violations(
    conn: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> dict[str, list[str]]:
    """The application's own invariant check and the independent audit, merged."""
    async with sessionmaker() as session:
        found = await invariant_violations(session)
    for name, rows in (await ledger_problems(conn)).items():
        found.setdefault(name, []).extend(rows)
    return found


async def database_violations(db: Database) -> dict[str, list[str]]:
    engine = create_engine(db.async_url, pool_size=1)
    conn = await db.connect()
    try:
        return await money_violations(conn, create_sessionmaker(engine))
    finally:
        await conn.close()
        await engine.dispose()


# --- snapshots -------------------------------------------------------------------------------


async def snapshot(conn: Any) -> Snapshot:
    taken: Snapshot = {}
    for table in SNAPSHOT_TABLES:
        rows = await conn.fetch(f"SELECT t::text AS row FROM {table} t")
        taken[table] = sorted(r["row"] for r in rows)
    return taken


def changes(before: Snapshot, after: Snapshot) -> dict[str, dict[str, list[str]]]:
    """Per table, the rows that disappeared and the rows that appeared (or changed)."""
    found = {}
    for table in SNAPSHOT_TABLES:
        gone = sorted(set(before[table]) - set(after[table]))
        new = sorted(set(after[table]) - set(before[table]))
        if gone or new:
            found[table] = {"before": gone, "after": new}
    return found


@asynccontextmanager
async def unchanged(db: Database) -> AsyncIterator[None]:
    """Assert the block changed no row of any table."""
    conn = await db.connect()
    try:
        before = await snapshot(conn)
        yield
        changed = changes(before, await snapshot(conn))
        assert not changed, changed
    finally:
        await conn.close()
