"""Quotes: sending (needs an accepted lead), the quote reference message, QUOTE_SENT and the
customer's notification, milestone plans, one pending quote per vendor, edit / withdraw / reject
(the lead returns to `accepted` and the vendor may quote again), visibility, and bad input."""

from __future__ import annotations

from typing import Any

from tests.flows.database import Database, fetch, fetchval
from tests.flows.deals import (
    API,
    QUOTE_DESCRIPTION,
    Quoting,
    accept_quote,
    event_types,
    events_of,
    get_quote,
    lead_status,
    messages,
    quote_body,
    quoted,
    quoting_job,
    send_quote,
)
from tests.flows.users import Api, User, create_admin

REFERENCE = f"Vendor sent quote: £120\nEstimated duration: 2 hours\nMessage: {QUOTE_DESCRIPTION}"


async def _quote_count(db: Database, job_id: str) -> int:
    return int(await fetchval(db, "SELECT count(*) FROM quotes WHERE job_id = $1", job_id))


async def _edit(api: Api, user: User, quote_id: str, body: dict[str, Any]) -> Any:
    return await api.client.patch(f"{API}/quotes/{quote_id}", json=body, headers=user.headers)


async def _withdraw(api: Api, user: User, quote_id: str) -> Any:
    return await api.client.patch(
        f"{API}/quotes/{quote_id}/withdraw", json={}, headers=user.headers
    )


async def _reject(api: Api, user: User, quote_id: str, body: dict[str, Any] | None = None) -> Any:
    return await api.client.patch(
        f"{API}/quotes/{quote_id}/reject", json=body or {}, headers=user.headers
    )


async def _quote(api: Api, user: User, quote_id: str) -> dict[str, Any]:
    response = await get_quote(api, user, quote_id)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _job_still_live(api: Api, job: Quoting) -> bool:
    response = await api.client.get(f"{API}/jobs/{job.job_id}", headers=job.customer.headers)
    return bool(response.json()["status"] == "live")


# ------------------------------------------------------------------------------------ sending


async def test_sending_moves_the_lead_posts_the_reference_and_notifies_the_customer(
    api: Api, worker_db: Database
) -> None:
    job = await quoting_job(api, vendors=2)
    vendor, rival = job.vendors

    response = await send_quote(api, vendor, job.job_id, 120)

    assert response.status_code == 201, response.text
    sent = response.json()
    assert sent["quote_id"].startswith("quote_") and sent["status"] == "pending"
    assert await lead_status(api, vendor, job.leads[vendor.user_id]) == "quote_sent"
    assert await lead_status(api, rival, job.leads[rival.user_id]) == "accepted"

    # The seed's quote_reference system message, in this vendor's conversation only.
    conversation = job.conversations[vendor.user_id]
    for participant in (job.customer, vendor):
        reference = (await messages(api, participant, conversation))[-1]
        assert reference["type"] == "quote_reference"
        assert reference["sender_role"] == "system" and reference["sender_id"] is None
        assert reference["body"] == REFERENCE
        assert reference["quote_id"] == sent["quote_id"]
    rival_messages = await messages(api, rival, job.conversations[rival.user_id])
    assert all(m["type"] != "quote_reference" for m in rival_messages)

    # QUOTE_SENT, whose id the response carried.
    quote_events = await events_of(api, job.customer, job.job_id, "QUOTE_SENT")
    assert [e["event_id"] for e in quote_events] == [sent["event_id"]]
    assert quote_events[0]["payload"]["quote_id"] == sent["quote_id"]

    # The customer's notification, queued in the same transaction.
    rows = await fetch(
        worker_db,
        "SELECT user_id, channel, body FROM notifications WHERE event_id = $1",
        sent["event_id"],
    )
    in_app = [r for r in rows if r["channel"] == "in_app"]
    assert [(r["user_id"], r["body"]) for r in in_app] == [
        (job.customer.user_id, "Quote received: £120")
    ]
    assert {r["user_id"] for r in rows} == {job.customer.user_id}

    # The quote itself: the default plan is one milestone for the whole amount.
    quote = await _quote(api, vendor, sent["quote_id"])
    assert quote["amount"] == 120 and quote["status"] == "pending"
    assert quote["job_id"] == job.job_id and quote["vendor_id"] == vendor.user_id
    assert quote["estimated_duration"] == "2 hours" and quote["description"] == QUOTE_DESCRIPTION
    assert [m["amount"] for m in quote["milestones"]] == [120]


async def test_pence_are_kept_and_shown_to_the_penny(api: Api) -> None:
    job = await quoting_job(api, vendors=1)
    vendor = job.vendors[0]

    quote_id = await quoted(api, vendor, job.job_id, 120.5, estimated_duration=None)

    assert (await _quote(api, job.customer, quote_id))["amount"] == 120.5
    reference = (await messages(api, vendor, job.conversations[vendor.user_id]))[-1]
    assert reference["body"] == f"Vendor sent quote: £120.50\nMessage: {QUOTE_DESCRIPTION}"


async def test_sending_needs_an_accepted_lead(api: Api, worker_db: Database) -> None:
    job = await quoting_job(api, vendors=2, accept=1)
    holder, offered = job.vendors

    not_accepted = await send_quote(api, offered, job.job_id)
    assert not_accepted.status_code == 409, not_accepted.text
    assert not_accepted.json()["code"] == "INVALID_STATE_TRANSITION"
    assert not_accepted.json()["current_state"] == "offered"
    assert await lead_status(api, offered, job.leads[offered.user_id]) == "offered"

    no_lead = await send_quote(api, job.outsider, job.job_id)
    assert no_lead.status_code == 404, no_lead.text
    unknown_job = await send_quote(api, holder, "job_01JZZZZZZZZZZZZZZZZZZZZZZZ")
    assert unknown_job.status_code == 404, unknown_job.text
    as_customer = await send_quote(api, job.customer, job.job_id)
    assert as_customer.status_code == 403, as_customer.text
    anonymous = await api.client.post(f"{API}/quotes", json=quote_body(job.job_id))
    assert anonymous.status_code == 401, anonymous.text

    assert await _quote_count(worker_db, job.job_id) == 0
    assert "QUOTE_SENT" not in await event_types(api, job.customer, job.job_id)


async def test_a_draft_job_cannot_be_quoted(api: Api, worker_db: Database) -> None:
    job = await quoting_job(api, vendors=1)
    draft = await api.create_job(job.customer, title="Replace bathroom extractor fan")

    response = await send_quote(api, job.vendors[0], draft["job_id"])

    assert response.status_code == 404, response.text
    assert await _quote_count(worker_db, draft["job_id"]) == 0


async def test_bad_amounts_and_bodies_are_422_and_store_nothing(
    api: Api, worker_db: Database
) -> None:
    job = await quoting_job(api, vendors=1)
    vendor = job.vendors[0]
    lead_id = job.leads[vendor.user_id]
    conversation = job.conversations[vendor.user_id]
    before = len(await messages(api, vendor, conversation))
    bad_bodies: list[dict[str, Any]] = [
        quote_body(job.job_id, 0),
        quote_body(job.job_id, -5),
        quote_body(job.job_id, 120.505),
        quote_body(job.job_id, 1_000_000.01),
        quote_body(job.job_id, 10_000_000),
        quote_body(job.job_id, "lots"),
        quote_body(job.job_id, None),
        quote_body(job.job_id, True),
        quote_body(job.job_id, "Infinity"),
        {k: v for k, v in quote_body(job.job_id).items() if k != "amount"},
        {k: v for k, v in quote_body(job.job_id).items() if k != "job_id"},
        quote_body(job.job_id, description="x" * 5001),
        quote_body(job.job_id, description=""),
        quote_body(job.job_id, estimated_duration="d" * 121),
        quote_body(job.job_id, lead_price=5),
        # Milestone plans: must add up, be non-empty, at most 10, each amount valid.
        quote_body(job.job_id, milestones=[{"title": "Parts", "amount": 40}]),
        quote_body(
            job.job_id,
            milestones=[{"title": "Parts", "amount": 40}, {"title": "Labour", "amount": 90}],
        ),
        quote_body(job.job_id, milestones=[]),
        quote_body(
            job.job_id,
            milestones=[{"title": "Parts", "amount": 0}, {"title": "Labour", "amount": 120}],
        ),
        quote_body(
            job.job_id,
            milestones=[{"title": "Parts", "amount": -20}, {"title": "Labour", "amount": 140}],
        ),
        quote_body(job.job_id, milestones=[{"title": "Parts", "amount": 120.005}]),
        quote_body(job.job_id, milestones=[{"title": "", "amount": 120}]),
        quote_body(job.job_id, milestones=[{"title": "Part", "amount": 120, "extra": 1}]),
        quote_body(
            job.job_id, 110, milestones=[{"title": f"Step {i}", "amount": 10} for i in range(11)]
        ),
    ]
    for body in bad_bodies:
        response = await api.client.post(f"{API}/quotes", json=body, headers=vendor.headers)
        assert response.status_code == 422, (body, response.text)
        assert "code" in response.json() and "error" in response.json()

    assert await _quote_count(worker_db, job.job_id) == 0
    assert await lead_status(api, vendor, lead_id) == "accepted"
    assert len(await messages(api, vendor, conversation)) == before
    assert "QUOTE_SENT" not in await event_types(api, job.customer, job.job_id)

    # The upper bound itself is allowed, and a plan that adds up is kept as given.
    plan = [{"title": "Deposit", "amount": 250_000.5}, {"title": "Balance", "amount": 749_999.5}]
    quote_id = await quoted(api, vendor, job.job_id, 1_000_000, milestones=plan)
    assert (await _quote(api, vendor, quote_id))["milestones"] == plan


async def test_at_most_one_pending_quote_per_vendor_per_job(api: Api, worker_db: Database) -> None:
    job = await quoting_job(api, vendors=2)
    vendor, rival = job.vendors
    await quoted(api, vendor, job.job_id, 120)

    again = await send_quote(api, vendor, job.job_id, 99)

    assert again.status_code == 409, again.text
    assert again.json()["current_state"] == "quote_sent"
    assert await _quote_count(worker_db, job.job_id) == 1
    await quoted(api, rival, job.job_id, 150)  # the rival is not affected
    assert await _quote_count(worker_db, job.job_id) == 2


# ----------------------------------------------------------------- edit, withdraw, reject


async def test_edit_a_pending_quote(api: Api, worker_db: Database) -> None:
    job = await quoting_job(api, vendors=2)
    vendor, rival = job.vendors
    quote_id = await quoted(api, vendor, job.job_id, 120)
    await quoted(api, rival, job.job_id, 130)

    edited = await _edit(api, vendor, quote_id, {"amount": 150, "estimated_duration": "3 hours"})

    assert edited.status_code == 200, edited.text
    assert edited.json()["status"] == "pending"
    quote = await _quote(api, job.customer, quote_id)
    assert quote["amount"] == 150 and quote["estimated_duration"] == "3 hours"
    assert [m["amount"] for m in quote["milestones"]] == [150]
    reference = (await messages(api, job.customer, job.conversations[vendor.user_id]))[-1]
    assert reference["type"] == "quote_reference" and reference["quote_id"] == quote_id
    assert reference["body"].startswith("Vendor updated quote: £150\nEstimated duration: 3 hours")

    plan = [{"title": "Parts", "amount": 50}, {"title": "Labour", "amount": 100}]
    assert (await _edit(api, vendor, quote_id, {"milestones": plan})).status_code == 200
    assert (await _quote(api, vendor, quote_id))["milestones"] == plan

    # Bad edits: 422 and the quote is unchanged.
    for body in (
        {},
        {"milestones": [{"title": "Parts", "amount": 10}]},
        {"amount": 200, "milestones": plan},
        {"amount": 0},
        {"amount": 120.505},
        {"amount": None},
        {"status": "accepted"},
    ):
        response = await _edit(api, vendor, quote_id, body)
        assert response.status_code == 422, (body, response.text)
    unchanged = await _quote(api, vendor, quote_id)
    assert unchanged["amount"] == 150 and unchanged["milestones"] == plan

    # Only the quote's own vendor edits it.
    assert (await _edit(api, rival, quote_id, {"amount": 1})).status_code == 404
    assert (await _edit(api, job.customer, quote_id, {"amount": 1})).status_code == 403
    assert (await _quote(api, vendor, quote_id))["amount"] == 150


async def test_withdraw_returns_the_lead_to_accepted_and_the_vendor_may_quote_again(
    api: Api, worker_db: Database
) -> None:
    job = await quoting_job(api, vendors=2)
    vendor, rival = job.vendors
    quote_id = await quoted(api, vendor, job.job_id, 120)

    assert (await _withdraw(api, rival, quote_id)).status_code == 404
    assert (await _withdraw(api, job.customer, quote_id)).status_code == 403
    withdrawn = await _withdraw(api, vendor, quote_id)

    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    assert (await _quote(api, job.customer, quote_id))["status"] == "withdrawn"
    assert await lead_status(api, vendor, job.leads[vendor.user_id]) == "accepted"
    assert [
        e["event_id"] for e in await events_of(api, job.customer, job.job_id, "QUOTE_WITHDRAWN")
    ] == [withdrawn.json()["event_id"]]

    # A withdrawn quote can no longer change, nor be accepted.
    again = await _withdraw(api, vendor, quote_id)
    assert again.status_code == 409 and again.json()["current_state"] == "withdrawn"
    assert (await _edit(api, vendor, quote_id, {"amount": 99})).status_code == 409
    assert (await accept_quote(api, job.customer, quote_id)).status_code == 409
    assert await _job_still_live(api, job)

    second = await quoted(api, vendor, job.job_id, 110)
    assert second != quote_id
    assert await lead_status(api, vendor, job.leads[vendor.user_id]) == "quote_sent"
    assert await _quote_count(worker_db, job.job_id) == 2


async def test_reject_returns_the_lead_to_accepted_and_the_vendor_may_quote_again(
    api: Api,
) -> None:
    job = await quoting_job(api, vendors=2)
    vendor, _rival = job.vendors
    quote_id = await quoted(api, vendor, job.job_id, 120)

    assert (await _reject(api, vendor, quote_id)).status_code == 403
    assert (await _reject(api, job.other_customer, quote_id)).status_code == 404
    assert (await _reject(api, job.customer, quote_id, {"reason": "r" * 501})).status_code == 422
    assert (await _quote(api, vendor, quote_id))["status"] == "pending"
    rejected = await _reject(api, job.customer, quote_id, {"reason": "Too expensive"})

    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert (await _quote(api, vendor, quote_id))["status"] == "rejected"
    assert await lead_status(api, vendor, job.leads[vendor.user_id]) == "accepted"
    events = await events_of(api, vendor, job.job_id, "QUOTE_REJECTED")
    assert [e["event_id"] for e in events] == [rejected.json()["event_id"]]

    twice = await _reject(api, job.customer, quote_id)
    assert twice.status_code == 409 and twice.json()["current_state"] == "rejected"
    assert (await accept_quote(api, job.customer, quote_id)).status_code == 409
    assert (await _withdraw(api, vendor, quote_id)).status_code == 409

    new_quote = await quoted(api, vendor, job.job_id, 100)
    accepted = await accept_quote(api, job.customer, new_quote)
    assert accepted.status_code == 200, accepted.text
    assert (await _quote(api, vendor, quote_id))["status"] == "rejected"


async def test_after_the_award_quotes_are_final(api: Api) -> None:
    job = await quoting_job(api, vendors=2)
    winner, loser = job.vendors
    won = await quoted(api, winner, job.job_id, 120)
    lost = await quoted(api, loser, job.job_id, 150)
    assert (await accept_quote(api, job.customer, won)).status_code == 200

    assert (await _quote(api, loser, lost))["status"] == "expired"
    for response in (
        await _edit(api, winner, won, {"amount": 200}),
        await _withdraw(api, winner, won),
        await _reject(api, job.customer, won),
        await _withdraw(api, loser, lost),
        await send_quote(api, loser, job.job_id, 100),
        await send_quote(api, winner, job.job_id, 100),
    ):
        assert response.status_code == 409, response.text
    assert (await _quote(api, winner, won))["amount"] == 120
    assert (await _quote(api, winner, won))["status"] == "accepted"


# ---------------------------------------------------------------------------- visibility


async def test_who_sees_a_quote(api: Api, worker_db: Database) -> None:
    job = await quoting_job(api, vendors=2)
    vendor, rival = job.vendors
    quote_id = await quoted(api, vendor, job.job_id, 120)
    rival_quote = await quoted(api, rival, job.job_id, 135)
    admin = await create_admin(api, worker_db.async_url)

    for viewer in (vendor, job.customer, admin):
        assert (await _quote(api, viewer, quote_id))["quote_id"] == quote_id
    for stranger in (rival, job.other_customer, job.outsider):
        response = await get_quote(api, stranger, quote_id)
        assert response.status_code == 404, response.text
    missing = await get_quote(api, vendor, "quote_01JZZZZZZZZZZZZZZZZZZZZZZZ")
    assert missing.status_code == 404
    assert (await api.client.get(f"{API}/quotes/{quote_id}")).status_code == 401

    listing = await api.client.get(f"{API}/jobs/{job.job_id}/quotes", headers=job.customer.headers)
    assert listing.status_code == 200, listing.text
    items = {q["quote_id"]: q for q in listing.json()["items"]}
    assert set(items) == {quote_id, rival_quote}
    assert items[rival_quote]["amount"] == 135 and items[rival_quote]["vendor_id"] == rival.user_id
    assert all("price" not in key for q in items.values() for key in q)

    as_admin = await api.client.get(f"{API}/jobs/{job.job_id}/quotes", headers=admin.headers)
    assert {q["quote_id"] for q in as_admin.json()["items"]} == {quote_id, rival_quote}
    other = await api.client.get(
        f"{API}/jobs/{job.job_id}/quotes", headers=job.other_customer.headers
    )
    assert other.status_code == 404
    for vendor_user in (vendor, rival):
        forbidden = await api.client.get(
            f"{API}/jobs/{job.job_id}/quotes", headers=vendor_user.headers
        )
        assert forbidden.status_code == 403
