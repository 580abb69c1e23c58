"""Milestones: who sees them, submission only into funded escrow, evidence rules (https, ≤ 10
photos, fixed once submitted — by the API and by the database trigger), changes requested and
resubmission, approval releasing money (escrow held → partial_released → released), completion
of the job with the last release, and the 14-day auto-approval."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from tests.flows.database import Database, fetch, run_auto_approval
from tests.flows.deals import (
    EVIDENCE,
    approve,
    awarded_job,
    escrow_of,
    event_types,
    events_of,
    fund_escrow,
    job_status,
    list_milestones,
    messages,
    milestones_of,
    post_message,
    request_changes,
    submit,
    wallet_balance,
)
from tests.flows.ledger import database_violations
from tests.flows.users import Api, create_admin
from tradematch.core.config import Settings
from tradematch.kit import clock


def shown(evidence: dict[str, Any]) -> dict[str, Any]:
    """Evidence as the API shows it: what was sent, plus its uploads (none here)."""
    return {**evidence, "photo_upload_ids": [], "photo_uploads": []}


TWO = [{"title": "Parts", "amount": 40}, {"title": "Labour", "amount": 80}]


async def _milestone(api: Api, user: Any, job_id: str, milestone_id: str) -> dict[str, Any]:
    return (await milestones_of(api, user, job_id))[milestone_id]


async def _evidence_in_db(db: Database, milestone_id: str) -> Any:
    rows = await fetch(db, "SELECT status, evidence FROM milestones WHERE id = $1", milestone_id)
    evidence = rows[0]["evidence"]
    return rows[0]["status"], (json.loads(evidence) if evidence is not None else None)


# ------------------------------------------------------------------------------------ reading


async def test_the_customer_the_winner_and_admins_see_the_milestones(
    api: Api, worker_db: Database
) -> None:
    job = await awarded_job(api, milestones=TWO, funded=False)
    admin = await create_admin(api, worker_db.async_url)

    for viewer in (job.customer, job.winner, admin):
        response = await list_milestones(api, viewer, job.job_id)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert [(m["position"], m["title"], m["amount"], m["status"]) for m in items] == [
            (1, "Parts", 40, "pending"),
            (2, "Labour", 80, "pending"),
        ]
        assert all(m["evidence"] is None for m in items)
    for stranger in (job.loser, job.outsider, job.other_customer):
        response = await list_milestones(api, stranger, job.job_id)
        assert response.status_code == 404, response.text
    assert (
        await api.client.get(f"/api/connection/jobs/{job.job_id}/milestones")
    ).status_code == 401


async def test_one_milestone_for_the_whole_amount_by_default(api: Api) -> None:
    job = await awarded_job(api, amount=95.5, funded=False)

    items = list((await milestones_of(api, job.customer, job.job_id)).values())

    assert [(m["amount"], m["status"]) for m in items] == [(95.5, "pending")]
    assert (await escrow_of(api, job.customer, job.job_id))["total"] == 95.5


# --------------------------------------------------------------------------------- submitting


async def test_submitting_needs_funded_escrow(api: Api, worker_db: Database) -> None:
    job = await awarded_job(api, funded=False)
    milestone_id = job.milestone_ids[0]

    early = await submit(api, job.winner, milestone_id)

    assert early.status_code == 409, early.text
    assert early.json()["code"] == "INVALID_STATE_TRANSITION"
    assert early.json()["entity"] == "escrow" and early.json()["current_state"] == "pending"
    assert await _evidence_in_db(worker_db, milestone_id) == ("pending", None)
    assert "MILESTONE_SUBMITTED" not in await event_types(api, job.customer, job.job_id)

    await fund_escrow(api, job.customer, job.job_id, 120)
    submitted = await submit(api, job.winner, milestone_id)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"
    assert submitted.json()["message"] == "Vendor submitted milestone for approval"
    milestone = await _milestone(api, job.customer, job.job_id, milestone_id)
    assert milestone["status"] == "submitted" and milestone["submitted_at"] is not None
    assert milestone["evidence"] == shown(EVIDENCE)
    submitted_events = await events_of(api, job.customer, job.job_id, "MILESTONE_SUBMITTED")
    assert [e["event_id"] for e in submitted_events] == [submitted.json()["event_id"]]
    last = (await messages(api, job.customer, job.conversation_id))[-1]
    assert last["type"] == "system" and last["body"] == "Vendor submitted milestone for approval"


async def test_only_the_winning_vendor_submits(api: Api) -> None:
    job = await awarded_job(api)
    milestone_id = job.milestone_ids[0]

    assert (await submit(api, job.loser, milestone_id)).status_code == 404
    assert (await submit(api, job.outsider, milestone_id)).status_code == 404
    assert (await submit(api, job.customer, milestone_id)).status_code == 403
    assert (await submit(api, job.winner, "ms_01JZZZZZZZZZZZZZZZZZZZZZZZ")).status_code == 404
    assert (await _milestone(api, job.winner, job.job_id, milestone_id))["status"] == "pending"


async def test_bad_evidence_is_422_and_stores_nothing(api: Api, worker_db: Database) -> None:
    job = await awarded_job(api)
    milestone_id = job.milestone_ids[0]
    photo = "https://example.com/p.jpg"
    for evidence in (
        {"photos": ["http://example.com/p.jpg"], "description": "Done"},
        {"photos": ["ftp://example.com/p.jpg"], "description": "Done"},
        {"photos": ["javascript:alert(1)"], "description": "Done"},
        {"photos": ["not a url"], "description": "Done"},
        {"photos": [photo] * 11, "description": "Done"},
        {"photos": photo, "description": "Done"},
        {"photos": [photo]},
        {"photos": [photo], "description": ""},
        {"photos": [photo], "description": "x" * 5001},
        {"photos": [photo], "description": "Done", "approved": True},
    ):
        response = await submit(api, job.winner, milestone_id, evidence)
        assert response.status_code == 422, (evidence, response.text)
    for body in ({}, {"evidence": EVIDENCE}, {"completion_evidence": EVIDENCE, "status": "x"}):
        response = await api.client.post(
            f"/api/connection/milestones/{milestone_id}/submit",
            json=body,
            headers=job.winner.headers,
        )
        assert response.status_code == 422, (body, response.text)

    assert await _evidence_in_db(worker_db, milestone_id) == ("pending", None)
    assert "MILESTONE_SUBMITTED" not in await event_types(api, job.customer, job.job_id)

    ten = {"photos": [f"https://cdn.example.com/{i}.jpg" for i in range(10)], "description": "Done"}
    response = await submit(api, job.winner, milestone_id, ten)
    assert response.status_code == 200, response.text
    assert (await _milestone(api, job.winner, job.job_id, milestone_id))["evidence"] == shown(ten)


async def test_evidence_cannot_change_after_submission_through_the_api(
    api: Api, worker_db: Database
) -> None:
    job = await awarded_job(api)
    milestone_id = job.milestone_ids[0]
    assert (await submit(api, job.winner, milestone_id)).status_code == 200

    replaced = {"photos": ["https://example.com/other.jpg"], "description": "Something else"}
    again = await submit(api, job.winner, milestone_id, replaced)

    assert again.status_code == 409, again.text
    assert again.json()["current_state"] == "submitted"
    assert await _evidence_in_db(worker_db, milestone_id) == ("submitted", EVIDENCE)
    assert len(await events_of(api, job.customer, job.job_id, "MILESTONE_SUBMITTED")) == 1


async def test_the_database_rejects_changing_submitted_evidence(
    api: Api, worker_db: Database
) -> None:
    job = await awarded_job(api, milestones=TWO)
    submitted_id, released_id = job.milestone_ids
    assert (await submit(api, job.winner, submitted_id)).status_code == 200
    assert (await submit(api, job.winner, released_id)).status_code == 200
    assert (await approve(api, job.customer, released_id)).status_code == 200
    other = json.dumps({"photos": ["https://evil.example.com/x.jpg"], "description": "Forged"})

    conn = await worker_db.connect()
    try:
        for milestone_id in (submitted_id, released_id):
            with pytest.raises(asyncpg.RestrictViolationError, match="cannot change"):
                await conn.execute(
                    "UPDATE milestones SET evidence = $2::jsonb WHERE id = $1", milestone_id, other
                )
            # Not even together with a status change (except the resubmission path below).
            with pytest.raises(asyncpg.RestrictViolationError):
                await conn.execute(
                    "UPDATE milestones SET evidence = $2::jsonb, status = 'pending' WHERE id = $1",
                    milestone_id,
                    other,
                )
        with pytest.raises(asyncpg.RestrictViolationError):
            await conn.execute(
                'UPDATE milestones SET evidence = evidence || \'{"description": "x"}\'::jsonb'
                " WHERE id = $1",
                submitted_id,
            )

        # The one way evidence may change: a resubmission after the customer asked for changes.
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(
                "UPDATE milestones SET status = 'changes_requested' WHERE id = $1", submitted_id
            )
            with pytest.raises(asyncpg.RestrictViolationError):
                await conn.execute(
                    "UPDATE milestones SET evidence = $2::jsonb WHERE id = $1", submitted_id, other
                )
        finally:
            await transaction.rollback()
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(
                "UPDATE milestones SET status = 'changes_requested' WHERE id = $1", submitted_id
            )
            await conn.execute(
                "UPDATE milestones SET status = 'submitted', evidence = $2::jsonb WHERE id = $1",
                submitted_id,
                other,
            )
        finally:
            await transaction.rollback()
        # Other columns of a submitted milestone are not frozen by this trigger.
        await conn.execute("UPDATE milestones SET title = title WHERE id = $1", submitted_id)
    finally:
        await conn.close()

    assert await _evidence_in_db(worker_db, submitted_id) == ("submitted", EVIDENCE)
    assert await _evidence_in_db(worker_db, released_id) == ("released", EVIDENCE)


# ------------------------------------------------------------------------ changes requested


async def test_request_changes_then_resubmit(api: Api, worker_db: Database) -> None:
    job = await awarded_job(api)
    milestone_id = job.milestone_ids[0]

    not_yet = await request_changes(api, job.customer, milestone_id)
    assert not_yet.status_code == 409 and not_yet.json()["current_state"] == "pending"
    assert (await submit(api, job.winner, milestone_id)).status_code == 200
    for reason in ("", "r" * 501, None):
        response = await request_changes(api, job.customer, milestone_id, reason)
        assert response.status_code == 422, (reason, response.text)
    missing = await api.client.patch(
        f"/api/connection/milestones/{milestone_id}/request-changes",
        json={},
        headers=job.customer.headers,
    )
    assert missing.status_code == 422
    assert (await request_changes(api, job.winner, milestone_id)).status_code == 403
    assert (await request_changes(api, job.other_customer, milestone_id)).status_code == 404
    assert (await _milestone(api, job.customer, job.job_id, milestone_id))["status"] == "submitted"

    asked = await request_changes(api, job.customer, milestone_id, "The tap still drips")

    assert asked.status_code == 200, asked.text
    assert asked.json()["status"] == "changes_requested"
    milestone = await _milestone(api, job.winner, job.job_id, milestone_id)
    assert milestone["status"] == "changes_requested"
    assert milestone["changes_reason"] == "The tap still drips"
    assert milestone["evidence"] == shown(EVIDENCE)
    last = (await messages(api, job.winner, job.conversation_id))[-1]
    assert last["body"] == "Customer asked for changes: The tap still drips"
    changes = await events_of(api, job.winner, job.job_id, "MILESTONE_CHANGES_REQUESTED")
    assert [e["payload"]["reason"] for e in changes] == ["The tap still drips"]

    # Nothing is paid for a milestone that was sent back; asking twice is a conflict.
    assert (await approve(api, job.customer, milestone_id)).status_code == 409
    assert (await request_changes(api, job.customer, milestone_id)).status_code == 409
    assert await wallet_balance(api, job.winner) == 0

    fixed = {"photos": ["https://example.com/fixed.jpg"], "description": "New cartridge fitted"}
    resubmitted = await submit(api, job.winner, milestone_id, fixed)
    assert resubmitted.status_code == 200, resubmitted.text
    milestone = await _milestone(api, job.customer, job.job_id, milestone_id)
    assert milestone["status"] == "submitted" and milestone["evidence"] == shown(fixed)
    assert milestone["changes_reason"] is None
    assert await _evidence_in_db(worker_db, milestone_id) == ("submitted", fixed)
    assert (await approve(api, job.customer, milestone_id)).status_code == 200
    assert await wallet_balance(api, job.winner) == 120


# -------------------------------------------------------------------------- approval, money


async def test_approval_releases_each_milestone_and_the_last_completes_the_job(
    api: Api, worker_db: Database
) -> None:
    job = await awarded_job(api, milestones=TWO)
    first, second = job.milestone_ids
    assert (await escrow_of(api, job.winner, job.job_id))["status"] == "held"
    assert (await approve(api, job.customer, first)).status_code == 409  # not submitted yet
    assert (await submit(api, job.winner, first)).status_code == 200
    assert (await approve(api, job.winner, first)).status_code == 403
    assert (await approve(api, job.other_customer, first)).status_code == 404

    approved = await approve(api, job.customer, first)

    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "released"
    assert approved.json()["message"] == "Milestone approved. Payment releasing."
    assert await wallet_balance(api, job.winner) == 40
    assert await wallet_balance(api, job.customer) == 0
    escrow = await escrow_of(api, job.customer, job.job_id)
    assert (escrow["status"], escrow["released"], escrow["balance"]) == ("partial_released", 40, 80)
    milestone = await _milestone(api, job.customer, job.job_id, first)
    assert milestone["status"] == "released" and milestone["released_at"] is not None
    assert await job_status(api, job.customer, job.job_id) == "in_progress"
    again = await approve(api, job.customer, first)
    assert again.status_code == 409 and again.json()["current_state"] == "released"
    assert await wallet_balance(api, job.winner) == 40
    assert (
        await post_message(api, job.winner, job.conversation_id, "Labour next")
    ).status_code == 201

    assert (await submit(api, job.winner, second)).status_code == 200
    last = await approve(api, job.customer, second)

    assert last.status_code == 200, last.text
    assert await wallet_balance(api, job.winner) == 120
    escrow = await escrow_of(api, job.winner, job.job_id)
    assert (escrow["status"], escrow["released"], escrow["balance"]) == ("released", 120, 0)
    assert await job_status(api, job.customer, job.job_id) == "completed"
    for participant in (job.customer, job.winner):
        closed = await post_message(api, participant, job.conversation_id, "Thanks!")
        assert closed.status_code == 403, closed.text
        assert closed.json()["code"] == "MESSAGING_DISABLED"
    types = await event_types(api, job.customer, job.job_id)
    assert types.count("MILESTONE_APPROVED") == 2
    assert types.count("PAYMENT_RELEASED") == 2
    assert types.count("JOB_COMPLETED") == 1
    assert types.index("JOB_COMPLETED") > max(
        i for i, t in enumerate(types) if t == "PAYMENT_RELEASED"
    )
    released = await events_of(api, job.winner, job.job_id, "PAYMENT_RELEASED")
    assert [e["payload"]["amount"] for e in released] == [40, 80]
    assert await database_violations(worker_db) == {}


async def test_nothing_moves_after_completion(api: Api) -> None:
    job = await awarded_job(api)
    milestone_id = job.milestone_ids[0]
    assert (await submit(api, job.winner, milestone_id)).status_code == 200
    assert (await approve(api, job.customer, milestone_id)).status_code == 200

    for response in (
        await submit(api, job.winner, milestone_id),
        await approve(api, job.customer, milestone_id),
        await request_changes(api, job.customer, milestone_id),
        await api.client.post(
            f"/api/connection/jobs/{job.job_id}/escrow/fund", json={}, headers=job.customer.headers
        ),
    ):
        assert response.status_code == 409, response.text
    assert await wallet_balance(api, job.winner) == 120


# --------------------------------------------------------------------------- auto-approval


async def test_auto_approval_after_14_days(
    fresh_api: Api, fresh_db: Database, settings: Settings
) -> None:
    api = fresh_api
    plan = [
        {"title": "Parts", "amount": 30},
        {"title": "Labour", "amount": 40},
        {"title": "Tidy", "amount": 50},
    ]
    job = await awarded_job(api, milestones=plan)
    first, second, third = job.milestone_ids
    assert (await submit(api, job.winner, first)).status_code == 200
    assert (await submit(api, job.winner, third)).status_code == 200
    assert (await request_changes(api, job.customer, third)).status_code == 200
    clock.advance(timedelta(days=13))
    assert (await submit(api, job.winner, second)).status_code == 200

    assert await run_auto_approval(fresh_db, settings) == 0  # 13 days: not yet
    assert await wallet_balance(api, job.winner) == 0

    clock.advance(timedelta(days=1, minutes=1))
    assert await run_auto_approval(fresh_db, settings) == 1

    statuses = {
        k: m["status"] for k, m in (await milestones_of(api, job.customer, job.job_id)).items()
    }
    assert statuses == {first: "released", second: "submitted", third: "changes_requested"}
    assert await wallet_balance(api, job.winner) == 30
    escrow = await escrow_of(api, job.customer, job.job_id)
    assert (escrow["status"], escrow["released"]) == ("partial_released", 30)
    automatic = await events_of(api, job.customer, job.job_id, "MILESTONE_APPROVED")
    assert [(e["actor_role"], e["payload"]["milestone_id"]) for e in automatic] == [
        ("system", first)
    ]
    assert automatic[0]["payload"]["automatic"] is True
    assert await run_auto_approval(fresh_db, settings) == 0  # already done: nothing paid twice
    assert await wallet_balance(api, job.winner) == 30

    # The resubmitted milestone starts its own 14 days.
    fixed = {"photos": ["https://example.com/tidy.jpg"], "description": "Cleaned up"}
    assert (await submit(api, job.winner, third, fixed)).status_code == 200
    clock.advance(timedelta(days=13))
    assert await run_auto_approval(fresh_db, settings) == 1  # the second (27 days old)
    assert await job_status(api, job.customer, job.job_id) == "in_progress"
    clock.advance(timedelta(days=1, minutes=1))
    assert await run_auto_approval(fresh_db, settings) == 1  # the third

    assert await wallet_balance(api, job.winner) == 120
    escrow = await escrow_of(api, job.customer, job.job_id)
    assert (escrow["status"], escrow["released"], escrow["balance"]) == ("released", 120, 0)
    assert await job_status(api, job.customer, job.job_id) == "completed"
    assert (await event_types(api, job.customer, job.job_id)).count("JOB_COMPLETED") == 1
    blocked = await post_message(api, job.customer, job.conversation_id, "Thanks")
    assert blocked.status_code == 403 and blocked.json()["code"] == "MESSAGING_DISABLED"
    assert await database_violations(fresh_db) == {}


async def test_frozen_milestones_are_not_auto_approved_and_hold_up_no_one(
    fresh_api: Api, fresh_db: Database, settings: Settings
) -> None:
    api = fresh_api
    disputed = await awarded_job(api)
    assert (await submit(api, disputed.winner, disputed.milestone_ids[0])).status_code == 200
    raised = await api.client.post(
        f"/api/connection/jobs/{disputed.job_id}/dispute",
        json={"reason": "The tap still leaks"},
        headers=disputed.customer.headers,
    )
    assert raised.status_code == 201, raised.text
    clock.advance(timedelta(hours=1))
    waiting = await awarded_job(api)
    assert (await submit(api, waiting.winner, waiting.milestone_ids[0])).status_code == 200
    clock.advance(timedelta(days=15))

    # One at a time: the older, frozen milestone must not take the only slot forever.
    assert await run_auto_approval(fresh_db, settings, batch=1) == 1
    assert await run_auto_approval(fresh_db, settings, batch=1) == 0

    assert await wallet_balance(api, waiting.winner) == 120
    assert await job_status(api, waiting.customer, waiting.job_id) == "completed"
    frozen = await _milestone(api, disputed.customer, disputed.job_id, disputed.milestone_ids[0])
    assert frozen["status"] == "submitted"
    assert await wallet_balance(api, disputed.winner) == 0
    escrow = await escrow_of(api, disputed.customer, disputed.job_id)
    assert (escrow["status"], escrow["balance"]) == ("disputed", 120)
    assert await database_violations(fresh_db) == {}
