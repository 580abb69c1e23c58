"""Every transition table, through the API: each entity is driven into each state it can
reach, and every HTTP action its table does not allow from there is attempted. Each answers 409
``INVALID_STATE_TRANSITION`` naming the current state, and changes nothing: no row of any table
(events, idempotency records and notifications included) differs afterwards.

Which actions are illegal is read from the tables in ``<domain>/states.py`` (the unit tests in
``test_transition_tables.py`` hold those to the contract), so the two cannot drift apart. When a
request is refused by a guard on the job (say, accepting an expired quote of a job that is
already in progress), the 409 names the job's state; both are accepted, but a 409 that names
the entity under test must name its real state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.flows.database import Database, unchanged
from tests.flows.deals import (
    ADMIN,
    API,
    EVIDENCE,
    Deal,
    assert_invalid_transition,
    awarded_deal,
    call,
    funded_deal,
    live_deal,
    new_key,
    ok,
    quoted_deal,
)
from tests.flows.users import Api, User, create_admin
from tradematch.core.config import Settings
from tradematch.disputes.states import DISPUTE
from tradematch.escrow.states import ESCROW
from tradematch.events.unit_of_work import unit_of_work
from tradematch.jobs import tasks as job_tasks
from tradematch.jobs.states import JOB
from tradematch.kit import clock
from tradematch.kit.states import StateMachine
from tradematch.leads.states import LEAD
from tradematch.milestones.states import MILESTONE
from tradematch.quotes.states import QUOTE
from tradematch.reviews.states import REVIEW


@dataclass
class Stage:
    """What builders need: the API, an admin, and the app (for the scheduler's tasks)."""

    api: Api
    app: FastAPI
    settings: Settings
    db: Database
    _admin: User | None = None

    async def admin(self) -> User:
        if self._admin is None:  # only some scenes need one, and registering is slow
            self._admin = await create_admin(self.api, self.db.async_url)
        return self._admin


@dataclass
class Scene:
    """A deal with one entity of interest in a known state."""

    stage: Stage
    deal: Deal
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def customer(self) -> User:
        return self.deal.customer

    def vendor(self, index: int = 0) -> User:
        return self.deal.vendors[index]

    async def status_of(self, table: str, row_id: str) -> str:
        conn = await self.stage.db.connect()
        try:
            return str(await conn.fetchval(f"SELECT status FROM {table} WHERE id = $1", row_id))
        finally:
            await conn.close()


Builder = Callable[[Stage], Awaitable[Scene]]
Attempt = Callable[[Scene, str], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Action:
    """An HTTP action and the table action it performs on the entity under test."""

    name: str
    machine_action: str
    attempt: Attempt
    needs: str | None = None  # an id the scene must have for the action to be attempted


# --- shared builders ---------------------------------------------------------------------


async def _completed(stage: Stage, *, vendors: int = 2) -> Deal:
    deal = await awarded_deal(stage.api, vendors=vendors, plan=(12000,))
    await deal.top_up(12000)
    ok(await deal.fund())
    ok(await deal.submit(0))
    ok(await deal.approve(0))
    return deal


async def _expire_job(stage: Stage, job_id: str) -> None:
    """The scheduler's expiry, run as the worker runs it (events written, then COMMIT)."""
    clock.advance(timedelta(hours=stage.settings.job_ttl_hours + 1))
    async with unit_of_work(stage.app.state.sessionmaker) as session:
        done = await job_tasks.expire(session, stage.settings, job_id, clock.now())
    assert done["job_expired"] == 1, done


async def _set_lead_expired(stage: Stage, lead_id: str) -> None:
    # Lead expiry belongs to the scheduler's lead task; only the state matters here.
    conn = await stage.db.connect()
    try:
        await conn.execute("UPDATE leads SET status = 'expired' WHERE id = $1", lead_id)
    finally:
        await conn.close()


async def _scene(stage: Stage, deal: Deal, **ids: str) -> Scene:
    quotes = {
        f"quote_{i}": deal.quotes[v.user_id]
        for i, v in enumerate(deal.vendors)
        if v.user_id in deal.quotes
    }
    return Scene(stage, deal, {"job": deal.job_id, **quotes, **ids})


# --- jobs --------------------------------------------------------------------------------


async def job_draft(stage: Stage) -> Scene:
    customer = await stage.api.customer()
    job = await stage.api.create_job(customer)
    return Scene(stage, Deal(stage.api, customer, [], job["job_id"], {}), {"job": job["job_id"]})


async def job_live(stage: Stage) -> Scene:
    return await _scene(stage, await quoted_deal(stage.api, vendors=2))


async def job_in_progress(stage: Stage) -> Scene:
    return await _scene(stage, await awarded_deal(stage.api, vendors=2, plan=(12000,)))


async def job_disputed(stage: Stage) -> Scene:
    deal = await awarded_deal(stage.api, vendors=2, plan=(12000,))
    ok(await deal.dispute(), 201)
    return await _scene(stage, deal)


async def job_completed(stage: Stage) -> Scene:
    return await _scene(stage, await _completed(stage))


async def job_closed(stage: Stage) -> Scene:
    deal = await _completed(stage)
    ok(await deal.review(), 201)
    return await _scene(stage, deal)


async def job_cancelled(stage: Stage) -> Scene:
    deal = await quoted_deal(stage.api, vendors=2)
    ok(await call(stage.api, "PATCH", f"{API}/jobs/{deal.job_id}/cancel", deal.customer))
    return await _scene(stage, deal)


async def job_expired(stage: Stage) -> Scene:
    deal = await live_deal(stage.api, vendors=1)
    await _expire_job(stage, deal.job_id)
    return await _scene(stage, deal)


JOB_STATES: dict[str, Builder] = {
    "draft": job_draft,
    "live": job_live,
    "in_progress": job_in_progress,
    "disputed": job_disputed,
    "completed": job_completed,
    "closed": job_closed,
    "cancelled": job_cancelled,
    "expired": job_expired,
}


async def _edit_job(s: Scene, key: str) -> httpx.Response:
    body = {"title": "Fix the leaking bathroom tap"}
    return await call(s.deal.api, "PATCH", f"{API}/jobs/{s.ids['job']}", s.customer, body, key=key)


async def _publish(s: Scene, key: str) -> httpx.Response:
    path = f"{API}/jobs/{s.ids['job']}/publish"
    return await call(s.deal.api, "PATCH", path, s.customer, key=key)


async def _cancel(s: Scene, key: str) -> httpx.Response:
    path = f"{API}/jobs/{s.ids['job']}/cancel"
    return await call(s.deal.api, "PATCH", path, s.customer, key=key)


async def _award(s: Scene, key: str, quote: str = "quote_1") -> httpx.Response:
    path = f"{API}/quotes/{s.ids[quote]}/accept"
    return await call(s.deal.api, "PATCH", path, s.customer, key=key)


async def _dispute(s: Scene, key: str) -> httpx.Response:
    path = f"{API}/jobs/{s.ids['job']}/dispute"
    return await call(s.deal.api, "POST", path, s.customer, {"reason": "Not done"}, key=key)


async def _review(s: Scene, key: str) -> httpx.Response:
    body = {"job_id": s.ids["job"], "rating": 5, "feedback": "Great", "recommend_yes_no": True}
    return await call(s.deal.api, "POST", f"{API}/reviews", s.customer, body, key=key)


JOB_ACTIONS = (
    Action("edit", "edit", _edit_job),
    Action("publish", "publish", _publish),
    Action("cancel", "cancel", _cancel),
    Action("award", "award", _award, needs="quote_1"),
    Action("dispute", "dispute", _dispute),
    Action("review", "close", _review),
)

# --- leads -------------------------------------------------------------------------------


async def lead_offered(stage: Stage) -> Scene:
    deal = await live_deal(stage.api, vendors=1)
    return await _scene(stage, deal, lead=deal.leads[deal.vendors[0].user_id])


async def lead_accepted(stage: Stage) -> Scene:
    scene = await lead_offered(stage)
    await stage.api.accept(scene.vendor(), scene.ids["lead"])
    return scene


async def lead_declined(stage: Stage) -> Scene:
    scene = await lead_offered(stage)
    path = f"{API}/leads/{scene.ids['lead']}/decline"
    ok(await call(stage.api, "POST", path, scene.vendor(), {"reason": "Too far"}))
    return scene


async def lead_expired(stage: Stage) -> Scene:
    scene = await lead_offered(stage)
    await _set_lead_expired(stage, scene.ids["lead"])
    return scene


async def lead_quote_sent(stage: Stage) -> Scene:
    deal = await quoted_deal(stage.api, vendors=1)
    return await _scene(stage, deal, lead=deal.leads[deal.vendors[0].user_id])


async def lead_quote_accepted(stage: Stage) -> Scene:
    deal = await awarded_deal(stage.api, vendors=2)
    return await _scene(stage, deal, lead=deal.leads[deal.vendors[0].user_id])


async def lead_closed(stage: Stage) -> Scene:
    deal = await awarded_deal(stage.api, vendors=2)
    scene = await _scene(stage, deal, lead=deal.leads[deal.vendors[1].user_id])
    scene.deal.vendors.reverse()  # the actions below act as vendor 0: the loser
    return scene


LEAD_STATES: dict[str, Builder] = {
    "offered": lead_offered,
    "accepted": lead_accepted,
    "declined": lead_declined,
    "expired": lead_expired,
    "quote_sent": lead_quote_sent,
    "quote_accepted": lead_quote_accepted,
    "closed": lead_closed,
}


async def _accept_lead(s: Scene, key: str) -> httpx.Response:
    return await call(
        s.deal.api, "POST", f"{API}/leads/{s.ids['lead']}/accept", s.vendor(), key=key
    )


async def _decline_lead(s: Scene, key: str) -> httpx.Response:
    path = f"{API}/leads/{s.ids['lead']}/decline"
    return await call(s.deal.api, "POST", path, s.vendor(), {"reason": "Busy"}, key=key)


async def _send_quote(s: Scene, key: str) -> httpx.Response:
    body = {"job_id": s.ids["job"], "amount": 95.5, "estimated_duration": "1 hour"}
    return await call(s.deal.api, "POST", f"{API}/quotes", s.vendor(), body, key=key)


LEAD_ACTIONS = (
    Action("accept", "accept", _accept_lead),
    Action("decline", "decline", _decline_lead),
    Action("send_quote", "send_quote", _send_quote),
)

# --- quotes ------------------------------------------------------------------------------


async def quote_pending(stage: Stage) -> Scene:
    deal = await quoted_deal(stage.api, vendors=1)
    return await _scene(stage, deal, quote=deal.quotes[deal.vendors[0].user_id])


async def quote_accepted(stage: Stage) -> Scene:
    deal = await awarded_deal(stage.api, vendors=2)
    return await _scene(stage, deal, quote=deal.quote_id)


async def quote_rejected(stage: Stage) -> Scene:
    scene = await quote_pending(stage)
    path = f"{API}/quotes/{scene.ids['quote']}/reject"
    ok(await call(stage.api, "PATCH", path, scene.customer, {"reason": "Too dear"}))
    return scene


async def quote_withdrawn(stage: Stage) -> Scene:
    scene = await quote_pending(stage)
    path = f"{API}/quotes/{scene.ids['quote']}/withdraw"
    ok(await call(stage.api, "PATCH", path, scene.vendor()))
    return scene


async def quote_expired(stage: Stage) -> Scene:
    deal = await awarded_deal(stage.api, vendors=2)
    scene = await _scene(stage, deal, quote=deal.quotes[deal.vendors[1].user_id])
    scene.deal.vendors.reverse()  # the vendor actions below are the loser's
    return scene


QUOTE_STATES: dict[str, Builder] = {
    "pending": quote_pending,
    "accepted": quote_accepted,
    "rejected": quote_rejected,
    "withdrawn": quote_withdrawn,
    "expired": quote_expired,
}


async def _edit_quote(s: Scene, key: str) -> httpx.Response:
    path = f"{API}/quotes/{s.ids['quote']}"
    return await call(s.deal.api, "PATCH", path, s.vendor(), {"amount": 99}, key=key)


async def _accept_quote(s: Scene, key: str) -> httpx.Response:
    return await _award(s, key, quote="quote")


async def _reject_quote(s: Scene, key: str) -> httpx.Response:
    path = f"{API}/quotes/{s.ids['quote']}/reject"
    return await call(s.deal.api, "PATCH", path, s.customer, key=key)


async def _withdraw_quote(s: Scene, key: str) -> httpx.Response:
    path = f"{API}/quotes/{s.ids['quote']}/withdraw"
    return await call(s.deal.api, "PATCH", path, s.vendor(), key=key)


QUOTE_ACTIONS = (
    Action("edit", "edit", _edit_quote),
    Action("accept", "accept", _accept_quote),
    Action("reject", "reject", _reject_quote),
    Action("withdraw", "withdraw", _withdraw_quote),
)

# --- escrow ------------------------------------------------------------------------------
# Two milestones: £40 then £80.


async def escrow_pending(stage: Stage) -> Scene:
    return await _scene(stage, await awarded_deal(stage.api, vendors=1))


async def escrow_held(stage: Stage) -> Scene:
    return await _scene(stage, await funded_deal(stage.api))


async def escrow_partial_released(stage: Stage) -> Scene:
    deal = await funded_deal(stage.api)
    ok(await deal.submit(0))
    ok(await deal.approve(0))
    return await _scene(stage, deal)


async def escrow_released(stage: Stage) -> Scene:
    deal = await funded_deal(stage.api)
    for index in (0, 1):
        ok(await deal.submit(index))
        ok(await deal.approve(index))
    return await _scene(stage, deal)


async def escrow_disputed(stage: Stage) -> Scene:
    deal = await funded_deal(stage.api)
    ok(await deal.submit(0))
    ok(await deal.dispute(deal.vendor), 201)
    return await _scene(stage, deal)


async def escrow_refunded(stage: Stage) -> Scene:
    scene = await escrow_disputed(stage)
    dispute = await _open_dispute(scene)
    ok(await scene.deal.resolve(await stage.admin(), dispute, "refund_customer"))
    return scene


async def escrow_settled(stage: Stage) -> Scene:
    """Paid £40 before the dispute, the £80 left refunded by the ruling."""
    scene = await escrow_partial_released(stage)
    ok(await scene.deal.dispute(scene.deal.vendor), 201)
    dispute = await _open_dispute(scene)
    ok(await scene.deal.resolve(await stage.admin(), dispute, "refund_customer"))
    return scene


async def escrow_cancelled(stage: Stage) -> Scene:
    """Disputed before it was funded; the ruling cancelled the job."""
    scene = await escrow_pending(stage)
    ok(await scene.deal.dispute(scene.deal.vendor), 201)
    dispute = await _open_dispute(scene)
    ok(await scene.deal.resolve(await stage.admin(), dispute, "refund_customer"))
    return scene


ESCROW_STATES: dict[str, Builder] = {
    "settled": escrow_settled,
    "cancelled": escrow_cancelled,
    "pending": escrow_pending,
    "held": escrow_held,
    "partial_released": escrow_partial_released,
    "released": escrow_released,
    "disputed": escrow_disputed,
    "refunded": escrow_refunded,
}


async def _fund(s: Scene, key: str) -> httpx.Response:
    path = f"{API}/jobs/{s.ids['job']}/escrow/fund"
    return await call(s.deal.api, "POST", path, s.customer, key=key)


def _on_milestone(action: str, index: int = 0) -> Attempt:
    async def attempt(s: Scene, key: str) -> httpx.Response:
        milestone = s.deal.milestone_ids[index]
        path = f"{API}/milestones/{milestone}/{action.replace('_', '-')}"
        if action == "submit":
            body: dict[str, Any] = {"completion_evidence": EVIDENCE}
            return await call(s.deal.api, "POST", path, s.deal.vendor, body, key=key)
        body = {"reason": "Still dripping"} if action == "request_changes" else {}
        return await call(s.deal.api, "PATCH", path, s.customer, body, key=key)

    return attempt


# Submitting, approving or asking for changes needs a funded escrow (held or partly released):
# in any other escrow state they are refused whatever the milestone's own state.
ESCROW_ACTIONS = (
    Action("fund", "fund", _fund),
    Action("submit", "pay_out", _on_milestone("submit", 1)),
    Action("approve", "pay_out", _on_milestone("approve", 0)),
    Action("request_changes", "pay_out", _on_milestone("request_changes", 0)),
)
PAYABLE_ESCROW = StateMachine(
    entity="escrow",
    states=ESCROW.states,
    transitions={
        **ESCROW.transitions,
        **{(s, "pay_out"): s for s in ESCROW.sources("release_part")},
    },
)

# --- milestones --------------------------------------------------------------------------
# The first of two milestones, on a funded escrow (so the escrow never blocks). ``approved``
# is never seen outside a transaction: approval releases the money in the same one.


async def milestone_pending(stage: Stage) -> Scene:
    return await _scene(stage, await funded_deal(stage.api))


async def milestone_submitted(stage: Stage) -> Scene:
    scene = await milestone_pending(stage)
    ok(await scene.deal.submit(0))
    return scene


async def milestone_changes_requested(stage: Stage) -> Scene:
    scene = await milestone_submitted(stage)
    ok(await scene.deal.request_changes(0))
    return scene


async def milestone_released(stage: Stage) -> Scene:
    scene = await milestone_submitted(stage)
    ok(await scene.deal.approve(0))
    return scene


MILESTONE_STATES: dict[str, Builder] = {
    "pending": milestone_pending,
    "submitted": milestone_submitted,
    "changes_requested": milestone_changes_requested,
    "released": milestone_released,
}
MILESTONE_ACTIONS = (
    Action("submit", "submit", _on_milestone("submit")),
    Action("approve", "approve", _on_milestone("approve")),
    Action("request_changes", "request_changes", _on_milestone("request_changes")),
)

# --- reviews -----------------------------------------------------------------------------


async def _reviewed(stage: Stage, feedback: str) -> Scene:
    deal = await _completed(stage, vendors=1)
    posted = ok(await deal.review(feedback), 201)
    return await _scene(stage, deal, review=posted["review_id"])


async def review_published(stage: Stage) -> Scene:
    return await _reviewed(stage, "Quick, tidy and fairly priced")


async def review_held(stage: Stage) -> Scene:
    return await _reviewed(stage, "Great job, call me on 07700 900123 for the next one")


async def review_rejected(stage: Stage) -> Scene:
    scene = await review_held(stage)
    path = f"{ADMIN}/reviews/{scene.ids['review']}/moderate"
    ok(await call(stage.api, "PATCH", path, await stage.admin(), {"decision": "reject"}))
    return scene


REVIEW_STATES: dict[str, Builder] = {
    "published": review_published,
    "held": review_held,
    "rejected": review_rejected,
}


def _moderate(decision: str) -> Attempt:
    async def attempt(s: Scene, key: str) -> httpx.Response:
        path = f"{ADMIN}/reviews/{s.ids['review']}/moderate"
        admin = await s.stage.admin()
        return await call(s.deal.api, "PATCH", path, admin, {"decision": decision}, key=key)

    return attempt


REVIEW_ACTIONS = (
    Action("approve", "approve", _moderate("approve")),
    Action("reject", "reject", _moderate("reject")),
)

# --- disputes ----------------------------------------------------------------------------


async def _open_dispute(scene: Scene) -> str:
    admin = await scene.stage.admin()
    listed = ok(await call(scene.deal.api, "GET", f"{ADMIN}/disputes", admin))
    found = [d["dispute_id"] for d in listed["items"] if d["job_id"] == scene.ids["job"]]
    return str(found[0])


async def dispute_open(stage: Stage) -> Scene:
    deal = await funded_deal(stage.api)
    raised = ok(await deal.dispute(), 201)
    return await _scene(stage, deal, dispute=raised["dispute_id"])


async def dispute_resolved(stage: Stage) -> Scene:
    scene = await dispute_open(stage)
    ok(await scene.deal.resolve(await stage.admin(), scene.ids["dispute"], "release_to_vendor"))
    return scene


DISPUTE_STATES: dict[str, Builder] = {"open": dispute_open, "resolved": dispute_resolved}


def _resolve(resolution: str) -> Attempt:
    async def attempt(s: Scene, key: str) -> httpx.Response:
        path = f"{ADMIN}/disputes/{s.ids['dispute']}/resolve"
        body = {"resolution": resolution}
        return await call(s.deal.api, "PATCH", path, await s.stage.admin(), body, key=key)

    return attempt


DISPUTE_ACTIONS = tuple(
    Action(f"resolve_{r}", "resolve", _resolve(r))
    for r in ("release_to_vendor", "refund_customer", "resume")
)

# --- the test ----------------------------------------------------------------------------

ENTITIES: dict[str, tuple[StateMachine, str, dict[str, Builder], tuple[Action, ...]]] = {
    # entity: (its table, the row whose state is checked, states → builders, HTTP actions)
    "job": (JOB, "jobs:job", JOB_STATES, JOB_ACTIONS),
    "lead": (LEAD, "leads:lead", LEAD_STATES, LEAD_ACTIONS),
    "quote": (QUOTE, "quotes:quote", QUOTE_STATES, QUOTE_ACTIONS),
    "escrow": (PAYABLE_ESCROW, "escrow_accounts:job", ESCROW_STATES, ESCROW_ACTIONS),
    "milestone": (MILESTONE, "milestones:milestone", MILESTONE_STATES, MILESTONE_ACTIONS),
    "review": (REVIEW, "reviews:review", REVIEW_STATES, REVIEW_ACTIONS),
    "dispute": (DISPUTE, "disputes:dispute", DISPUTE_STATES, DISPUTE_ACTIONS),
}
# Every (entity, state) with at least one HTTP action its table refuses there (in a pending
# quote, a held review and an open dispute every action is allowed).
CASES = [
    (entity, state)
    for entity, (machine, _row, states, actions) in ENTITIES.items()
    for state in states
    if not all(machine.can(state, a.machine_action) for a in actions)
]


def test_every_state_of_every_table_is_visited() -> None:
    """Each state an HTTP client can bring about has a case (``approved`` milestones exist only
    inside the approving transaction; a ``settled`` or ``cancelled`` milestone sits on a
    settled escrow, whose own guard refuses first: tests/money/test_disputes.py has them)."""
    for entity, (machine, _row, states, _actions) in ENTITIES.items():
        unreachable = {"approved", "settled", "cancelled"} if entity == "milestone" else set()
        assert set(states) == set(machine.states) - unreachable, entity


async def _current(scene: Scene, row: str) -> str:
    table, id_name = row.split(":")
    if table == "escrow_accounts":
        conn = await scene.stage.db.connect()
        try:
            status = await conn.fetchval(
                "SELECT status FROM escrow_accounts WHERE job_id = $1", scene.ids["job"]
            )
        finally:
            await conn.close()
        return str(status)
    if table == "milestones":
        scene.ids.setdefault("milestone", scene.deal.milestone_ids[0])
    return await scene.status_of(table, scene.ids[id_name])


# The states in which the vendor acting is out of the job (its lead declined, expired or closed;
# a quote expires when its lead closes): its actions answer only NO_LONGER_AVAILABLE.
OUT_OF_JOB = {"lead": {"declined", "expired", "closed"}, "quote": {"expired"}}


@pytest.mark.parametrize(("entity", "state"), CASES, ids=[f"{e}-{s}" for e, s in CASES])
async def test_every_illegal_action_is_a_409_that_changes_nothing(
    api: Api,
    app: FastAPI,
    settings: Settings,
    worker_db: Database,
    entity: str,
    state: str,
) -> None:
    machine, row, states, actions = ENTITIES[entity]
    stage = Stage(api, app, settings, worker_db)
    scene = await states[state](stage)
    assert await _current(scene, row) == state
    job_state = await scene.status_of("jobs", scene.ids["job"])

    illegal = [
        a
        for a in actions
        if not machine.can(state, a.machine_action) and (a.needs is None or a.needs in scene.ids)
    ]
    assert illegal, "nothing to try"
    if entity in ("review", "dispute"):
        await stage.admin()  # their actions are the admin's: registered before the snapshots
    for action in illegal:
        key = new_key()  # a refused request must not store its key either
        async with unchanged(worker_db):
            response = await action.attempt(scene, key)
        body = response.json()
        if body.get("code") == "NO_LONGER_AVAILABLE":
            # A vendor out of the job learns only that (contract §6): no state at all.
            assert state in OUT_OF_JOB.get(entity, ()), (action.name, body)
            assert response.status_code == 409, (action.name, response.text)
            assert body == {"error": "This job is no longer available", "code": body["code"]}
            assert await _current(scene, row) == state, action.name
            continue
        assert_invalid_transition(response, (state, job_state))
        if body["entity"] == entity:
            assert body["current_state"] == state, (action.name, body)
        else:  # refused by the job's own guard
            assert (body["entity"], body["current_state"]) == ("job", job_state), body
        assert await _current(scene, row) == state, action.name
