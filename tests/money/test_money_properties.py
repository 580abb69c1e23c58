"""Property: whatever sequence of money operations clients send, through the HTTP API, the
ledger stays balanced and the system does exactly what a reference model of contract §4/§5/§8
says, step by step.

Each example awards a fresh job (random milestone plan, amounts to the penny) and then draws a
random sequence of: top-up, fund, submit / approve / request changes on a random milestone,
dispute (by either party), admin resolution (release, refund, split with a random share,
resume), review, a retry of the previous request with its Idempotency-Key, the previous key
reused for a different request, and a double click (the same request twice at once). After
every step:

- the response is the model's prediction: success, or a 4xx of the documented shape (never a
  5xx), with the exact 402 body when the wallet is short;
- a refused request, and a replayed one, changed no row of any table;
- the job, escrow, milestones and both wallets in the database equal the model's;
- the ledger audit (``support.ledger_problems``) and the application's own
  ``invariant_violations`` find nothing.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import httpx
import pytest_asyncio
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from tests.flows.database import Database, Snapshot, changes, snapshot
from tests.flows.deals import ADMIN, API, EVIDENCE, new_key, ok, pounds
from tests.flows.ledger import money_violations
from tests.flows.users import Api, User, create_admin, new_area, postcode_in

FUNDED = ("held", "partial_released")
REPLAYED = "Idempotent-Replayed"
# Weighted towards the way forward, so examples get deep into the flow (funded, part paid,
# completed) before a dispute or a review cuts them short.
WEIGHTS = {
    "top_up": 2,
    "fund": 3,
    "submit": 5,
    "approve": 5,
    "request_changes": 2,
    "dispute": 3,
    "resolve": 3,
    "review": 1,
    "retry": 3,
    "reuse_key": 1,
    "double_click": 2,
}
ACTIONS = tuple(action for action, weight in WEIGHTS.items() for _ in range(weight))
LEGAL_FOR = {
    "submit": ("pending", "changes_requested"),
    "approve": ("submitted",),
    "request_changes": ("submitted",),
}
DOUBLE_CLICKABLE = ("top_up", "fund", "submit", "approve", "request_changes", "dispute", "resolve")


@dataclass
class Model:
    """What the contract says the job, its escrow, its milestones and the wallets hold."""

    amounts: list[int]
    milestones: list[str]
    customer_wallet: int
    vendor_wallet: int
    job: str = "in_progress"
    escrow: str = "pending"
    funded: int = 0
    released: int = 0
    refunded: int = 0
    open_dispute: str | None = None
    last_dispute: str | None = None

    @property
    def total(self) -> int:
        return sum(self.amounts)

    @property
    def remaining(self) -> int:
        return self.funded - self.released - self.refunded


@dataclass
class Request:
    action: str
    method: str
    path: str
    user: User
    body: dict[str, Any]
    key: str
    milestone: int = 0


@dataclass
class Outcome:
    """The predicted answer: a status; on success the model afterwards; on failure the error
    code, the state it names, or the exact body."""

    status: int
    after: Model | None = None
    code: str | None = None
    current_state: str | None = None
    body: dict[str, Any] | None = None
    dispute_opened: bool = False


def _refused(state: str) -> Outcome:
    return Outcome(409, code="INVALID_STATE_TRANSITION", current_state=state)


def predict(model: Model, request: Request) -> Outcome:
    """The reference model: what the request must do, from contract §4 and §5."""
    m = copy.deepcopy(model)
    action, body = request.action, request.body
    if action == "top_up":
        m.customer_wallet += round(body["amount"] * 100)
        return Outcome(200, m)
    if action == "fund":
        if m.escrow != "pending":
            return _refused(m.escrow)
        if m.job != "in_progress":
            return _refused(m.job)
        if m.customer_wallet < m.total:
            return Outcome(
                402,
                body={
                    "error": "Insufficient funds",
                    "code": "ESCROW_INSUFFICIENT_BALANCE",
                    "required": pounds(m.total),
                    "available": pounds(m.customer_wallet),
                },
            )
        m.customer_wallet -= m.total
        m.funded, m.escrow = m.total, "held"
        return Outcome(200, m)
    if action in ("submit", "approve", "request_changes"):
        index = request.milestone
        if m.escrow not in FUNDED:
            return _refused(m.escrow)
        legal = ("pending", "changes_requested") if action == "submit" else ("submitted",)
        if m.milestones[index] not in legal:
            return _refused(m.milestones[index])
        if action == "submit":
            m.milestones[index] = "submitted"
        elif action == "request_changes":
            m.milestones[index] = "changes_requested"
        else:
            m.milestones[index] = "released"
            m.released += m.amounts[index]
            m.vendor_wallet += m.amounts[index]
            m.escrow = "released" if m.released == m.funded else "partial_released"
            if all(s == "released" for s in m.milestones):
                m.job = "completed"
        return Outcome(200, m)
    if action == "dispute":
        if m.job != "in_progress":
            return _refused(m.job)
        m.job = "disputed"
        if m.escrow in FUNDED:
            m.escrow = "disputed"
        return Outcome(201, m, dispute_opened=True)
    if action == "resolve":
        if m.open_dispute is None or not request.path.endswith(f"/{m.open_dispute}/resolve"):
            return _refused("resolved")
        frozen = m.escrow == "disputed"
        remaining = m.remaining if frozen else 0
        resolution = body["resolution"]
        if resolution in ("release_to_vendor", "split") and not frozen:
            return _refused(m.escrow)  # nothing held, nothing to release: the dispute stays
        m.last_dispute, m.open_dispute = m.open_dispute, None
        if resolution == "resume":
            m.job = "in_progress"
            if frozen:
                m.escrow = "partial_released" if m.released > 0 else "held"
            return Outcome(200, m)
        share = round(body.get("vendor_share", 0) * 100)
        if resolution == "split" and share > remaining:
            return Outcome(422, code="VALIDATION_ERROR")
        to_vendor = {"release_to_vendor": remaining, "refund_customer": 0, "split": share}[
            resolution
        ]
        to_customer = remaining - to_vendor
        if frozen:
            m.released += to_vendor
            m.vendor_wallet += to_vendor
            m.refunded += to_customer
            m.customer_wallet += to_customer
            if m.refunded > 0:
                m.escrow = "settled" if m.released > 0 else "refunded"
            else:
                m.escrow = "released"
        elif m.escrow == "pending":
            m.escrow = "cancelled"
        m.job = "cancelled" if resolution == "refund_customer" else "completed"
        ended = "cancelled" if m.job == "cancelled" else "settled"
        m.milestones = [s if s == "released" else ended for s in m.milestones]
        return Outcome(200, m)
    if action == "review":
        if m.job != "completed":
            return _refused(m.job)
        m.job = "closed"
        return Outcome(201, m)
    raise AssertionError(action)


@dataclass
class Run:
    """One test's fixed cast (a customer, a vendor in an area of their own, an admin) and the
    connections the checks use; each example gives the customer a new job."""

    api: Api
    app: FastAPI
    conn: Any
    admin: User
    customer: User
    vendor: User
    postcode: str
    history: list[tuple[Request, httpx.Response]] = field(default_factory=list)

    async def send(self, request: Request) -> httpx.Response:
        headers = {**request.user.headers, "Idempotency-Key": request.key}
        return await self.api.client.request(
            request.method, request.path, json=request.body, headers=headers
        )

    async def new_deal(self, plan: list[int]) -> tuple[str, list[str], Model]:
        api = self.api
        job = await api.create_job(self.customer, postcode=self.postcode)
        published = await api.publish(self.customer, job["job_id"])
        assert published["leads_assigned"] == 1, published
        lead = await api.lead_for(self.vendor, job["job_id"])
        await api.accept(self.vendor, lead["lead_id"])
        quote = {
            "job_id": job["job_id"],
            "amount": pounds(sum(plan)),
            "milestones": [{"title": f"Part {i}", "amount": pounds(p)} for i, p in enumerate(plan)],
        }
        sent = ok(
            await api.client.post(f"{API}/quotes", json=quote, headers=self.vendor.headers), 201
        )
        ok(
            await api.client.patch(
                f"{API}/quotes/{sent['quote_id']}/accept", json={}, headers=self.customer.headers
            )
        )
        found = ok(
            await api.client.get(
                f"{API}/jobs/{job['job_id']}/milestones", headers=self.customer.headers
            )
        )
        milestone_ids = [m["milestone_id"] for m in found["items"]]
        wallets = await self.wallets()
        model = Model(
            amounts=list(plan),
            milestones=["pending"] * len(plan),
            customer_wallet=wallets[0],
            vendor_wallet=wallets[1],
        )
        return job["job_id"], milestone_ids, model

    async def wallets(self) -> tuple[int, int]:
        rows = dict(
            await self.conn.fetch(
                "SELECT kind, balance_pence FROM ledger_accounts WHERE (kind, owner_ref) IN"
                " (('customer_wallet', $1), ('vendor_wallet', $2))",
                self.customer.user_id,
                self.vendor.user_id,
            )
        )
        return int(rows.get("customer_wallet", 0)), int(rows.get("vendor_wallet", 0))

    async def observe(self, job_id: str) -> dict[str, Any]:
        job = await self.conn.fetchval("SELECT status FROM jobs WHERE id = $1", job_id)
        escrow = await self.conn.fetchrow(
            "SELECT status, funded_pence, released_pence, refunded_pence FROM escrow_accounts"
            " WHERE job_id = $1",
            job_id,
        )
        milestones = await self.conn.fetch(
            "SELECT status FROM milestones WHERE job_id = $1 ORDER BY position", job_id
        )
        open_dispute = await self.conn.fetchval(
            "SELECT id FROM disputes WHERE job_id = $1 AND status = 'open'", job_id
        )
        return {
            "job": job,
            "escrow": tuple(escrow),
            "milestones": [r["status"] for r in milestones],
            "wallets": await self.wallets(),
            "open_dispute": open_dispute,
        }


def expected_view(model: Model) -> dict[str, Any]:
    return {
        "job": model.job,
        "escrow": (model.escrow, model.funded, model.released, model.refunded),
        "milestones": model.milestones,
        "wallets": (model.customer_wallet, model.vendor_wallet),
        "open_dispute": model.open_dispute,
    }


def assert_documented(response: httpx.Response) -> None:
    """Success, or a 4xx in the one error shape; never a 5xx."""
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("error"), str) and body["error"], body
        assert isinstance(body.get("code"), str) and body["code"].isupper(), body
        assert response.status_code in (402, 409, 422), response.text


def assert_as_predicted(response: httpx.Response, outcome: Outcome) -> None:
    assert_documented(response)
    assert response.status_code == outcome.status, (response.status_code, response.text)
    if outcome.body is not None:
        assert response.json() == outcome.body
    if outcome.code is not None:
        assert response.json()["code"] == outcome.code, response.text
    if outcome.current_state is not None:
        assert response.json()["current_state"] == outcome.current_state, response.text


class Choice(NamedTuple):
    """One step's random numbers, drawn up front and independent of the state (the wallets
    carry over from example to example), and interpreted against the model."""

    forward: int  # < 5: take an action that moves the deal forward, if there is one
    pick: int  # which action
    which: int  # which milestone, resolution, party, or kind of amount
    amount: int  # pence, where an amount is needed
    flag: int  # 0-3: a milestone the action fits (> 0) or any


CHOICES = st.builds(
    Choice,
    st.integers(0, 9),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    st.integers(1, 1_000_000),
    st.integers(0, 3),
)


def build_request(
    run: Run, model: Model, deal: tuple[str, list[str]], action: str, choice: Choice
) -> Request:
    job_id, milestone_ids = deal
    customer, vendor, key = run.customer, run.vendor, new_key()
    if action == "top_up":
        short = max(1, model.total - model.customer_wallet)  # exactly enough to fund
        kinds = [short, max(1, short - 1), model.total * 2, 1 + choice.amount % model.total]
        pence = kinds[choice.which % len(kinds)]
        body: dict[str, Any] = {"amount": pounds(pence)}
        return Request(action, "POST", f"{API}/wallet/top-up", customer, body, key)
    if action == "fund":
        return Request(action, "POST", f"{API}/jobs/{job_id}/escrow/fund", customer, {}, key)
    if action in ("submit", "approve", "request_changes"):
        fitting = [i for i, s in enumerate(model.milestones) if s in LEGAL_FOR[action]]
        if fitting and choice.flag > 0:
            index = fitting[choice.which % len(fitting)]
        else:
            index = choice.which % len(milestone_ids)
        path = f"{API}/milestones/{milestone_ids[index]}/{action.replace('_', '-')}"
        bodies: dict[str, dict[str, Any]] = {
            "submit": {"completion_evidence": EVIDENCE},
            "approve": {},
            "request_changes": {"reason": "The tap still drips"},
        }
        body = bodies[action]
        method = "POST" if action == "submit" else "PATCH"
        user = vendor if action == "submit" else customer
        return Request(action, method, path, user, body, key, milestone=index)
    if action == "dispute":
        by = (customer, vendor)[choice.which % 2]
        body = {"reason": "Work not finished as agreed"}
        return Request(action, "POST", f"{API}/jobs/{job_id}/dispute", by, body, key)
    if action == "resolve":
        dispute_id = model.open_dispute or model.last_dispute
        assert dispute_id is not None
        resolutions = ("release_to_vendor", "refund_customer", "split", "resume")
        body = {"resolution": resolutions[choice.which % len(resolutions)]}
        if body["resolution"] == "split":
            most = model.remaining if model.escrow == "disputed" else 1
            shares = [most, 1, 1 + choice.amount % (most + 100), most + 1]
            body["vendor_share"] = pounds(max(1, shares[choice.flag]))
        path = f"{ADMIN}/disputes/{dispute_id}/resolve"
        return Request(action, "PATCH", path, run.admin, body, key)
    if action == "review":
        body = {"job_id": job_id, "rating": 4, "feedback": "Tidy work", "recommend_yes_no": True}
        return Request(action, "POST", f"{API}/reviews", customer, body, key)
    raise AssertionError(action)


async def apply(model: Model, request: Request, response: httpx.Response) -> Model:
    """Check the answer against the prediction; the model afterwards."""
    outcome = predict(model, request)
    assert_as_predicted(response, outcome)
    event(f"{request.action} -> {response.status_code}")  # --hypothesis-show-statistics
    if outcome.after is None:
        return model
    if outcome.dispute_opened:
        outcome.after.open_dispute = response.json()["dispute_id"]
    return outcome.after


async def assert_nothing_changed(run: Run, before: Snapshot) -> None:
    assert changes(before, await snapshot(run.conn)) == {}


async def send_new(
    run: Run, model: Model, deal: tuple[str, list[str]], action: str, choice: Choice
) -> Model:
    if action == "resolve" and model.open_dispute is None and model.last_dispute is None:
        action = "dispute"
    request = build_request(run, model, deal, action, choice)
    before = await snapshot(run.conn)
    response = await run.send(request)
    note(f"{request.action} {request.body} -> {response.status_code}")
    model = await apply(model, request, response)
    if response.status_code >= 400:
        await assert_nothing_changed(run, before)
    run.history.append((request, response))
    return model


async def retry(run: Run, model: Model) -> Model:
    """The previous request again, same key: a stored success is replayed byte for byte and
    nothing runs; a failure stored nothing, so the request runs again."""
    request, answered = run.history[-1]
    before = await snapshot(run.conn)
    response = await run.send(request)
    note(f"retry {request.action} -> {response.status_code}")
    assert_documented(response)
    if answered.status_code < 300:
        event("retry -> replayed")
        assert response.status_code == answered.status_code
        assert response.headers.get(REPLAYED) == "true"
        assert response.content == answered.content
        await assert_nothing_changed(run, before)
        return model
    assert REPLAYED not in response.headers
    model = await apply(model, request, response)
    if response.status_code >= 400:
        await assert_nothing_changed(run, before)
    run.history[-1] = (request, response)
    return model


async def reuse_key(run: Run, model: Model, deal: tuple[str, list[str]], choice: Choice) -> Model:
    """The previous request's key on a different request (a top-up by the customer)."""
    previous, answered = run.history[-1]
    request = build_request(run, model, deal, "top_up", choice)
    if previous.action == "top_up" and previous.body == request.body:
        request.body = {"amount": pounds(round(request.body["amount"] * 100) + 1)}
    request.key = previous.key
    before = await snapshot(run.conn)
    response = await run.send(request)
    note(f"top-up {request.body} with the key of {previous.action} -> {response.status_code}")
    # Keys are per user, and only a success is stored.
    if previous.user is run.customer and answered.status_code < 300:
        event("reused key -> 422")
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
        await assert_nothing_changed(run, before)
        return model
    model = await apply(model, request, response)
    run.history.append((request, response))
    return model


async def double_click(
    run: Run, model: Model, deal: tuple[str, list[str]], choice: Choice
) -> Model:
    """The same request twice at once (same key): a success runs exactly once; the other
    answer is its replay or 409 IDEMPOTENCY_REQUEST_IN_PROGRESS."""
    action = DOUBLE_CLICKABLE[choice.pick % len(DOUBLE_CLICKABLE)]
    if action == "resolve" and model.open_dispute is None and model.last_dispute is None:
        action = "dispute"
    request = build_request(run, model, deal, action, choice)
    before = await snapshot(run.conn)
    answers = await asyncio.gather(run.send(request), run.send(request))
    note(f"double {request.action} -> {[a.status_code for a in answers]}")
    for answer in answers:
        assert_documented(answer)
    ran = [
        a
        for a in answers
        if REPLAYED not in a.headers
        and not (a.status_code == 409 and a.json()["code"] == "IDEMPOTENCY_REQUEST_IN_PROGRESS")
    ]
    assert ran, [a.text for a in answers]
    outcome = predict(model, request)
    if outcome.after is not None:
        assert len(ran) == 1, [a.text for a in answers]
    event(f"double click -> {sorted(a.status_code for a in answers)}")
    for answer in answers:
        if answer.headers.get(REPLAYED) == "true":
            assert (answer.status_code, answer.content) == (ran[0].status_code, ran[0].content)
    for answer in ran[1:]:  # a failure may run twice: the same failure, twice
        assert_as_predicted(answer, outcome)
    model = await apply(model, request, ran[0])
    if ran[0].status_code >= 400:
        await assert_nothing_changed(run, before)
    run.history.append((request, ran[0]))
    return model


def productive(model: Model) -> list[str]:
    """The actions that move this deal forward (the model says they succeed)."""
    if model.job == "disputed":
        return ["resolve"]
    if model.job == "completed":
        return ["review"]
    if model.escrow == "pending" and model.job == "in_progress":
        # Short of money, funding is worth a try too: the 402.
        return ["fund"] if model.customer_wallet >= model.total else ["top_up", "fund"]
    if model.escrow in FUNDED:
        return [a for a, legal in LEGAL_FOR.items() if set(model.milestones) & set(legal)]
    return []


async def step(run: Run, model: Model, deal: tuple[str, list[str]], choice: Choice) -> Model:
    forward = productive(model)
    if forward and choice.forward < 5:
        action = forward[choice.pick % len(forward)]
    else:
        action = ACTIONS[choice.pick % len(ACTIONS)]
    if action in ("retry", "reuse_key") and not run.history:
        action = "top_up"
    if action == "retry":
        model = await retry(run, model)
    elif action == "reuse_key":
        model = await reuse_key(run, model, deal, choice)
    elif action == "double_click":
        model = await double_click(run, model, deal, choice)
    else:
        model = await send_new(run, model, deal, action, choice)
    assert await run.observe(deal[0]) == expected_view(model)
    violations = await money_violations(run.conn, run.app.state.sessionmaker)
    assert violations == {}, violations
    return model


@pytest_asyncio.fixture
async def cast(fresh_api: Api, fresh_db: Database) -> AsyncIterator[dict[str, Any]]:
    """The users live across examples (registering is slow); each example has its own job."""
    area = new_area()
    conn = await fresh_db.connect()
    try:
        yield {
            "conn": conn,
            "admin": await create_admin(fresh_api, fresh_db.async_url),
            "customer": await fresh_api.customer(postcode=postcode_in(area, "2BB")),
            "vendor": await fresh_api.vendor(postcode=postcode_in(area, "3CC"), radius=3),
            "postcode": postcode_in(area, "4DD"),
        }
    finally:
        await conn.close()


# Modest on purpose (each example is a second or two of real HTTP and SQL), and no shrinking:
# a failure prints the example's notes, the sequence of steps and answers that broke it.
@settings(
    max_examples=20,
    deadline=None,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=(HealthCheck.function_scoped_fixture, HealthCheck.too_slow),
)
@given(
    plan=st.lists(st.integers(1, 30_000), min_size=1, max_size=3),
    choices=st.lists(CHOICES, min_size=5, max_size=25),
)
async def test_random_money_sequences_keep_the_ledger_and_the_model_in_step(
    fresh_api: Api,
    fresh_app: FastAPI,
    cast: dict[str, Any],
    plan: list[int],
    choices: list[Choice],
) -> None:
    run = Run(
        fresh_api,
        fresh_app,
        cast["conn"],
        cast["admin"],
        cast["customer"],
        cast["vendor"],
        cast["postcode"],
    )
    job_id, milestone_ids, model = await run.new_deal(plan)
    note(f"plan {plan} on {job_id}")
    for choice in choices:
        model = await step(run, model, (job_id, milestone_ids), choice)
