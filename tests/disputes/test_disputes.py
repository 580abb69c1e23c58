"""Disputes: either party of an in-progress job freezes the job and its escrow; admins list and
resolve them (release to the vendor, refund the customer, split, resume), each resolution moving
the money and the states exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.flows.database import Database, fetchval
from tests.flows.deals import (
    API,
    Awarded,
    approve,
    awarded_job,
    completed_job,
    disputed,
    escrow_of,
    event_types,
    events_of,
    job_status,
    messages,
    milestones_of,
    post_message,
    quoting_job,
    raise_dispute,
    request_changes,
    resolve_dispute,
    submit,
    submitted_and_approved,
    top_up,
    wallet_balance,
)
from tests.flows.ledger import database_violations
from tests.flows.users import Api, User, create_admin

TWO = [{"title": "Parts", "amount": 40}, {"title": "Labour", "amount": 80}]


@pytest.fixture
async def admin(api: Api, worker_db: Database) -> User:
    return await create_admin(api, worker_db.async_url)


async def _disputes(api: Api, user: User, **params: Any) -> Any:
    return await api.client.get("/api/admin/disputes", params=params, headers=user.headers)


async def _dispute(api: Api, admin: User, dispute_id: str) -> dict[str, Any]:
    response = await _disputes(api, admin)
    assert response.status_code == 200, response.text
    found = [d for d in response.json()["items"] if d["dispute_id"] == dispute_id]
    assert len(found) == 1, dispute_id
    return dict(found[0])


async def _dispute_rows(db: Database, job_id: str) -> int:
    return int(await fetchval(db, "SELECT count(*) FROM disputes WHERE job_id = $1", job_id))


async def _fund(api: Api, customer: User, job_id: str) -> Any:
    return await api.client.post(
        f"{API}/jobs/{job_id}/escrow/fund", json={}, headers=customer.headers
    )


async def _partly_released(api: Api) -> Awarded:
    """Parts (£40) released to the winner, Labour (£80) submitted: £80 left in escrow."""
    job = await awarded_job(api, milestones=TWO)
    await submitted_and_approved(api, job, job.milestone_ids[0])
    assert (await submit(api, job.winner, job.milestone_ids[1])).status_code == 200
    return job


async def _money(api: Api, job: Awarded) -> tuple[Any, ...]:
    escrow = await escrow_of(api, job.customer, job.job_id)
    return (
        await wallet_balance(api, job.winner),
        await wallet_balance(api, job.customer),
        escrow["status"],
        escrow["released"],
        escrow["refunded"],
        escrow["balance"],
    )


# ------------------------------------------------------------------------------------ raising


async def test_the_customer_raises_a_dispute_and_everything_freezes(api: Api) -> None:
    job = await _partly_released(api)
    first, second = job.milestone_ids

    raised = await raise_dispute(api, job.customer, job.job_id, "The tap still leaks")

    assert raised.status_code == 201, raised.text
    body = raised.json()
    assert body["dispute_id"].startswith("dsp_") and body["job_id"] == job.job_id
    assert body["status"] == "open"
    assert await job_status(api, job.customer, job.job_id) == "disputed"
    escrow = await escrow_of(api, job.winner, job.job_id)
    assert (escrow["status"], escrow["released"], escrow["balance"]) == ("disputed", 40, 80)
    for viewer in (job.customer, job.winner):
        events = await events_of(api, viewer, job.job_id, "DISPUTE_RAISED")
        assert [e["event_id"] for e in events] == [body["event_id"]]
        assert events[0]["payload"]["reason"] == "The tap still leaks"
    last = (await messages(api, job.winner, job.conversation_id))[-1]
    assert last["type"] == "system" and "dispute" in last["body"].lower()

    # Frozen: no approval, no changes, no resubmission, no second dispute, no funding.
    for response in (
        await approve(api, job.customer, second),
        await request_changes(api, job.customer, second),
        await raise_dispute(api, job.winner, job.job_id),
        await raise_dispute(api, job.customer, job.job_id),
        await _fund(api, job.customer, job.job_id),
    ):
        assert response.status_code == 409, response.text
    statuses = {
        k: m["status"] for k, m in (await milestones_of(api, job.customer, job.job_id)).items()
    }
    assert statuses == {first: "released", second: "submitted"}
    assert await _money(api, job) == (40, 0, "disputed", 40, 0, 80)


async def test_submitting_is_frozen_too(api: Api) -> None:
    job = await awarded_job(api)
    await disputed(api, job.customer, job.job_id)

    response = await submit(api, job.winner, job.milestone_ids[0])

    assert response.status_code == 409, response.text
    assert response.json()["entity"] == "escrow"
    assert response.json()["current_state"] == "disputed"
    milestone = (await milestones_of(api, job.winner, job.job_id))[job.milestone_ids[0]]
    assert milestone["status"] == "pending" and milestone["evidence"] is None


async def test_the_winning_vendor_may_raise_one_and_no_one_else(
    api: Api, worker_db: Database, admin: User
) -> None:
    job = await awarded_job(api)

    for stranger in (job.loser, job.outsider, job.other_customer):
        response = await raise_dispute(api, stranger, job.job_id)
        assert response.status_code == 404, response.text
    assert (await raise_dispute(api, admin, job.job_id)).status_code == 403
    anonymous = await api.client.post(f"{API}/jobs/{job.job_id}/dispute", json={"reason": "x"})
    assert anonymous.status_code == 401
    for body in ({}, {"reason": ""}, {"reason": "r" * 5001}, {"reason": "x", "refund": True}):
        response = await api.client.post(
            f"{API}/jobs/{job.job_id}/dispute", json=body, headers=job.winner.headers
        )
        assert response.status_code == 422, (body, response.text)
    assert await _dispute_rows(worker_db, job.job_id) == 0
    assert await job_status(api, job.customer, job.job_id) == "in_progress"
    assert (await escrow_of(api, job.customer, job.job_id))["status"] == "held"
    assert "DISPUTE_RAISED" not in await event_types(api, job.customer, job.job_id)

    dispute_id = await disputed(api, job.winner, job.job_id, "Customer will not let me finish")

    listed = await _dispute(api, admin, dispute_id)
    assert listed["raised_by"] == job.winner.user_id
    assert listed["reason"] == "Customer will not let me finish"
    assert await job_status(api, job.customer, job.job_id) == "disputed"


async def test_only_an_in_progress_job_can_be_disputed(api: Api, worker_db: Database) -> None:
    live = await quoting_job(api, vendors=1)
    response = await raise_dispute(api, live.customer, live.job_id)
    assert response.status_code == 409, response.text
    assert response.json()["current_state"] == "live"
    vendor_view = await raise_dispute(api, live.vendors[0], live.job_id)
    assert vendor_view.status_code == 404, vendor_view.text  # not (yet) in contract with them

    done = await completed_job(api)
    response = await raise_dispute(api, done.customer, done.job_id)
    assert response.status_code == 409, response.text
    assert response.json()["current_state"] == "completed"

    assert await _dispute_rows(worker_db, live.job_id) == 0
    assert await _dispute_rows(worker_db, done.job_id) == 0


async def test_unfunded_escrow_stays_pending_and_cannot_be_funded_while_disputed(
    api: Api, admin: User
) -> None:
    job = await awarded_job(api, funded=False)
    await top_up(api, job.customer, 500)
    dispute_id = await disputed(api, job.customer, job.job_id)

    assert await job_status(api, job.customer, job.job_id) == "disputed"
    assert (await escrow_of(api, job.customer, job.job_id))["status"] == "pending"
    during = await _fund(api, job.customer, job.job_id)
    assert during.status_code == 409, during.text
    assert await wallet_balance(api, job.customer) == 500
    assert (await escrow_of(api, job.customer, job.job_id))["funded"] == 0

    resumed = await resolve_dispute(api, admin, dispute_id, "resume")
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["job_status"] == "in_progress"
    assert resumed.json()["escrow_status"] == "pending"
    funded = await _fund(api, job.customer, job.job_id)
    assert funded.status_code == 200, funded.text
    assert await wallet_balance(api, job.customer) == 380


async def test_a_cancelled_job_cannot_be_funded(api: Api, admin: User) -> None:
    job = await awarded_job(api, funded=False)
    await top_up(api, job.customer, 500)
    dispute_id = await disputed(api, job.winner, job.job_id)

    refunded = await resolve_dispute(api, admin, dispute_id, "refund_customer")

    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["job_status"] == "cancelled"
    late = await _fund(api, job.customer, job.job_id)
    assert late.status_code == 409, late.text
    assert await wallet_balance(api, job.customer) == 500
    assert (await submit(api, job.winner, job.milestone_ids[0])).status_code == 409


# ---------------------------------------------------------------------------- admin listing


async def test_admins_list_disputes_and_no_one_else_may(api: Api, admin: User) -> None:
    job = await awarded_job(api)
    dispute_id = await disputed(api, job.customer, job.job_id, "Work not started")

    listed = await _dispute(api, admin, dispute_id)
    assert listed["job_id"] == job.job_id and listed["status"] == "open"
    assert listed["raised_by"] == job.customer.user_id
    assert listed["resolution"] is None and listed["resolved_at"] is None
    open_ones = await _disputes(api, admin, status="open")
    assert dispute_id in {d["dispute_id"] for d in open_ones.json()["items"]}
    resolved = await _disputes(api, admin, status="resolved")
    assert dispute_id not in {d["dispute_id"] for d in resolved.json()["items"]}
    assert (await _disputes(api, admin, status="closed")).status_code == 422

    for user in (job.customer, job.winner, job.loser):
        response = await _disputes(api, user)
        assert response.status_code == 403, response.text
    assert (await api.client.get("/api/admin/disputes")).status_code == 401


async def test_only_admins_resolve(api: Api, admin: User) -> None:
    job = await awarded_job(api)
    dispute_id = await disputed(api, job.customer, job.job_id)

    for user in (job.customer, job.winner):
        response = await resolve_dispute(api, user, dispute_id, "refund_customer")
        assert response.status_code == 403, response.text
    for body in (
        {"resolution": "refund"},
        {"resolution": "split"},
        {"resolution": "split", "vendor_share": 0},
        {"resolution": "split", "vendor_share": -5},
        {"resolution": "split", "vendor_share": 10.005},
        {"resolution": "release_to_vendor", "vendor_share": 10},
        {"resolution": "resume", "note": "n" * 5001},
        {"resolution": "resume", "status": "resolved"},
        {},
    ):
        response = await api.client.patch(
            f"/api/admin/disputes/{dispute_id}/resolve", json=body, headers=admin.headers
        )
        assert response.status_code == 422, (body, response.text)
    missing = await resolve_dispute(api, admin, "dsp_01JZZZZZZZZZZZZZZZZZZZZZZZ", "resume")
    assert missing.status_code == 404

    assert (await _dispute(api, admin, dispute_id))["status"] == "open"
    assert await job_status(api, job.customer, job.job_id) == "disputed"
    assert await _money(api, job) == (0, 0, "disputed", 0, 0, 120)
    assert "DISPUTE_RESOLVED" not in await event_types(api, job.customer, job.job_id)


# -------------------------------------------------------------------------------- resolving


async def test_release_to_vendor_pays_out_what_is_left_and_completes_the_job(
    api: Api, worker_db: Database, admin: User
) -> None:
    job = await _partly_released(api)
    dispute_id = await disputed(api, job.winner, job.job_id)

    resolved = await resolve_dispute(api, admin, dispute_id, "release_to_vendor", note="Done")

    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert (body["resolution"], body["job_status"], body["escrow_status"]) == (
        "release_to_vendor",
        "completed",
        "released",
    )
    assert await _money(api, job) == (120, 0, "released", 120, 0, 0)
    assert await job_status(api, job.customer, job.job_id) == "completed"
    events = await events_of(api, job.customer, job.job_id, "DISPUTE_RESOLVED")
    assert [e["event_id"] for e in events] == [body["event_id"]]
    assert events[0]["payload"]["resolution"] == "release_to_vendor"
    assert "JOB_COMPLETED" in await event_types(api, job.winner, job.job_id)
    listed = await _dispute(api, admin, dispute_id)
    assert (listed["status"], listed["resolution"], listed["resolution_note"]) == (
        "resolved",
        "release_to_vendor",
        "Done",
    )
    blocked = await post_message(api, job.winner, job.conversation_id, "Thanks")
    assert blocked.status_code == 403 and blocked.json()["code"] == "MESSAGING_DISABLED"

    again = await resolve_dispute(api, admin, dispute_id, "refund_customer")
    assert again.status_code == 409, again.text
    assert await _money(api, job) == (120, 0, "released", 120, 0, 0)
    assert len(await events_of(api, job.customer, job.job_id, "DISPUTE_RESOLVED")) == 1
    assert await database_violations(worker_db) == {}


async def test_refund_customer_returns_the_money_and_cancels_the_job(
    api: Api, worker_db: Database, admin: User
) -> None:
    job = await awarded_job(api)
    dispute_id = await disputed(api, job.customer, job.job_id)

    resolved = await resolve_dispute(api, admin, dispute_id, "refund_customer")

    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["job_status"], resolved.json()["escrow_status"]) == (
        "cancelled",
        "refunded",
    )
    assert await _money(api, job) == (0, 120, "refunded", 0, 120, 0)
    assert await job_status(api, job.customer, job.job_id) == "cancelled"
    types = await event_types(api, job.customer, job.job_id)
    assert types.count("DISPUTE_RESOLVED") == 1 and "JOB_CANCELLED" in types
    assert "PAYMENT_RELEASED" not in types
    for participant in (job.customer, job.winner):
        blocked = await post_message(api, participant, job.conversation_id, "Hello?")
        assert blocked.status_code == 403 and blocked.json()["code"] == "MESSAGING_DISABLED"
    review = await api.client.post(
        f"{API}/reviews",
        json={"job_id": job.job_id, "rating": 1, "recommend_yes_no": False},
        headers=job.customer.headers,
    )
    assert review.status_code == 409, review.text
    assert (await resolve_dispute(api, admin, dispute_id, "resume")).status_code == 409
    assert await database_violations(worker_db) == {}


async def test_split_gives_the_vendor_its_share_and_refunds_the_rest(
    api: Api, worker_db: Database, admin: User
) -> None:
    job = await _partly_released(api)  # £80 left
    dispute_id = await disputed(api, job.customer, job.job_id)

    too_much = await resolve_dispute(api, admin, dispute_id, "split", vendor_share=80.01)
    assert too_much.status_code == 422, too_much.text
    assert (await _dispute(api, admin, dispute_id))["status"] == "open"
    assert await _money(api, job) == (40, 0, "disputed", 40, 0, 80)
    assert await job_status(api, job.customer, job.job_id) == "disputed"

    split = await resolve_dispute(api, admin, dispute_id, "split", vendor_share=30.5)

    assert split.status_code == 200, split.text
    assert split.json()["job_status"] == "completed"
    assert await _money(api, job) == (70.5, 49.5, "settled", 70.5, 49.5, 0)
    listed = await _dispute(api, admin, dispute_id)
    assert (listed["resolution"], listed["vendor_share"]) == ("split", 30.5)
    resolved = await events_of(api, job.winner, job.job_id, "DISPUTE_RESOLVED")
    assert [e["payload"]["resolution"] for e in resolved] == ["split"]
    assert (
        await resolve_dispute(api, admin, dispute_id, "split", vendor_share=1)
    ).status_code == 409
    assert await _money(api, job) == (70.5, 49.5, "settled", 70.5, 49.5, 0)
    assert await database_violations(worker_db) == {}


async def test_split_of_everything_left_is_a_release(api: Api, admin: User) -> None:
    job = await awarded_job(api)
    dispute_id = await disputed(api, job.customer, job.job_id)

    split = await resolve_dispute(api, admin, dispute_id, "split", vendor_share=120)

    assert split.status_code == 200, split.text
    assert await _money(api, job) == (120, 0, "released", 120, 0, 0)


async def test_resume_unfreezes_the_job_and_its_escrow(
    api: Api, worker_db: Database, admin: User
) -> None:
    held = await awarded_job(api)
    partial = await _partly_released(api)
    held_dispute = await disputed(api, held.customer, held.job_id)
    partial_dispute = await disputed(api, partial.winner, partial.job_id)

    for job, dispute_id, escrow_status in (
        (held, held_dispute, "held"),
        (partial, partial_dispute, "partial_released"),
    ):
        resumed = await resolve_dispute(api, admin, dispute_id, "resume")
        assert resumed.status_code == 200, resumed.text
        assert (resumed.json()["job_status"], resumed.json()["escrow_status"]) == (
            "in_progress",
            escrow_status,
        )
        assert await job_status(api, job.customer, job.job_id) == "in_progress"
        assert (await escrow_of(api, job.winner, job.job_id))["status"] == escrow_status
        events = await events_of(api, job.customer, job.job_id, "DISPUTE_RESOLVED")
        assert [e["payload"]["resolution"] for e in events] == ["resume"]
        assert (await resolve_dispute(api, admin, dispute_id, "resume")).status_code == 409

    assert await _money(api, held) == (0, 0, "held", 0, 0, 120)
    assert await _money(api, partial) == (40, 0, "partial_released", 40, 0, 80)

    # Work goes on where it stopped, and a new dispute can be raised later.
    await submitted_and_approved(api, held, held.milestone_ids[0])
    assert (await approve(api, partial.customer, partial.milestone_ids[1])).status_code == 200
    for job in (held, partial):
        assert await job_status(api, job.customer, job.job_id) == "completed"
        assert await _money(api, job) == (120, 0, "released", 120, 0, 0)
    again = await awarded_job(api)
    first = await disputed(api, again.customer, again.job_id)
    assert (await resolve_dispute(api, admin, first, "resume")).status_code == 200
    second = await disputed(api, again.winner, again.job_id)
    assert second != first
    assert await database_violations(worker_db) == {}
