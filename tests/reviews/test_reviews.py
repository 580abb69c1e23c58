"""Reviews: the job's customer, once, after completion; bad input; moderation of contact details
and abuse (held reviews are invisible and uncounted until an admin publishes them); the vendor's
one response and the customer's one reply; the rating aggregate; the job closes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.flows.database import Database, fetchval
from tests.flows.deals import (
    API,
    another_completed_job,
    awarded_job,
    completed_job,
    event_types,
    events_of,
    job_status,
    post_review,
    published_reviews,
    vendor_profile,
)
from tests.flows.users import Api, User, create_admin


@pytest.fixture
async def admin(api: Api, worker_db: Database) -> User:
    return await create_admin(api, worker_db.async_url)


async def _review_rows(db: Database, job_id: str) -> int:
    return int(await fetchval(db, "SELECT count(*) FROM reviews WHERE job_id = $1", job_id))


async def _respond(api: Api, user: User, review_id: str, text: Any) -> Any:
    return await api.client.patch(
        f"{API}/reviews/{review_id}/respond", json={"response": text}, headers=user.headers
    )


async def _reply(api: Api, user: User, review_id: str, text: Any) -> Any:
    return await api.client.patch(
        f"{API}/reviews/{review_id}/reply", json={"reply": text}, headers=user.headers
    )


async def _moderate(api: Api, user: User, review_id: str, **body: Any) -> Any:
    return await api.client.patch(
        f"/api/admin/reviews/{review_id}/moderate", json=body, headers=user.headers
    )


async def _rating(api: Api, viewer: User, vendor_id: str) -> tuple[Any, Any]:
    profile = await vendor_profile(api, viewer, vendor_id)
    return profile["rating_average"], profile["rating_count"]


# ------------------------------------------------------------------------------------ posting


async def test_a_review_is_published_closes_the_job_and_counts(
    api: Api, worker_db: Database
) -> None:
    job = await completed_job(api)
    assert await _rating(api, job.customer, job.winner.user_id) == (None, 0)

    posted = await post_review(api, job.customer, job.job_id, rating=5)

    assert posted.status_code == 201, posted.text
    body = posted.json()
    assert body["review_id"].startswith("rev_")
    assert (body["status"], body["message"]) == ("published", "Review posted")
    assert await job_status(api, job.customer, job.job_id) == "closed"
    types = await event_types(api, job.customer, job.job_id)
    assert types.count("REVIEW_POSTED") == 1 and types.count("JOB_CLOSED") == 1
    review_events = await events_of(api, job.winner, job.job_id, "REVIEW_POSTED")
    assert [e["event_id"] for e in review_events] == [body["event_id"]]
    assert [e["type"] for e in await events_of(api, job.winner, job.job_id, "JOB_CLOSED")] == [
        "JOB_CLOSED"
    ]

    listed = await published_reviews(api, job.other_customer, job.winner.user_id)
    assert [r["review_id"] for r in listed] == [body["review_id"]]
    review = listed[0]
    assert (review["rating"], review["recommend_yes_no"]) == (5, True)
    # Public reviews name no job: a vendor who lost a job must not find it in the winner's reviews.
    assert "job_id" not in review
    assert review["feedback"] == "Great work, quick and professional!"
    assert review["vendor_response"] is None and review["customer_reply"] is None
    assert "customer_id" not in review
    assert await _rating(api, job.other_customer, job.winner.user_id) == (5.0, 1)

    again = await post_review(api, job.customer, job.job_id, rating=1)
    assert again.status_code == 409, again.text
    assert await _review_rows(worker_db, job.job_id) == 1
    assert await _rating(api, job.customer, job.winner.user_id) == (5.0, 1)


async def test_only_the_jobs_customer_after_completion(
    api: Api, worker_db: Database, admin: User
) -> None:
    running = await awarded_job(api)
    early = await post_review(api, running.customer, running.job_id)
    assert early.status_code == 409, early.text
    assert early.json()["current_state"] == "in_progress"
    assert await job_status(api, running.customer, running.job_id) == "in_progress"

    done = await completed_job(api)
    assert (await post_review(api, done.winner, done.job_id)).status_code == 403
    assert (await post_review(api, admin, done.job_id)).status_code == 403
    assert (await post_review(api, done.other_customer, done.job_id)).status_code == 404
    missing = await post_review(api, done.customer, "job_01JZZZZZZZZZZZZZZZZZZZZZZZ")
    assert missing.status_code == 404
    anonymous = await api.client.post(
        f"{API}/reviews", json={"job_id": done.job_id, "rating": 5, "recommend_yes_no": True}
    )
    assert anonymous.status_code == 401

    assert await _review_rows(worker_db, running.job_id) == 0
    assert await _review_rows(worker_db, done.job_id) == 0
    assert await job_status(api, done.customer, done.job_id) == "completed"


async def test_bad_reviews_are_422_and_store_nothing(api: Api, worker_db: Database) -> None:
    job = await completed_job(api)
    valid = {"job_id": job.job_id, "rating": 4, "feedback": "Good", "recommend_yes_no": True}
    bad: list[dict[str, Any]] = [
        valid | {"rating": 0},
        valid | {"rating": 6},
        valid | {"rating": -1},
        valid | {"rating": 4.5},
        valid | {"rating": "5"},
        valid | {"rating": True},
        valid | {"rating": None},
        {k: v for k, v in valid.items() if k != "rating"},
        {k: v for k, v in valid.items() if k != "job_id"},
        valid | {"job_id": ""},
        valid | {"job_id": None},
        {k: v for k, v in valid.items() if k != "recommend_yes_no"},
        valid | {"recommend_yes_no": "maybe"},
        valid | {"feedback": "x" * 5001},
        valid | {"feedback": ""},
        valid | {"vendor_id": job.winner.user_id},
        valid | {"status": "published"},
    ]
    for body in bad:
        response = await api.client.post(f"{API}/reviews", json=body, headers=job.customer.headers)
        assert response.status_code == 422, (body, response.text)
        assert {"error", "code"} <= set(response.json())

    assert await _review_rows(worker_db, job.job_id) == 0
    assert await job_status(api, job.customer, job.job_id) == "completed"
    assert await _rating(api, job.customer, job.winner.user_id) == (None, 0)
    assert "REVIEW_POSTED" not in await event_types(api, job.customer, job.job_id)

    # Bounds are inclusive, and feedback is optional.
    posted = await api.client.post(
        f"{API}/reviews",
        json={"job_id": job.job_id, "rating": 1, "recommend_yes_no": False},
        headers=job.customer.headers,
    )
    assert posted.status_code == 201, posted.text
    assert await _rating(api, job.customer, job.winner.user_id) == (1.0, 1)


# --------------------------------------------------------------------------------- moderation


async def test_contact_details_hold_a_review_until_an_admin_publishes_it(
    api: Api, admin: User
) -> None:
    job = await completed_job(api)

    posted = await post_review(
        api, job.customer, job.job_id, rating=4, feedback="Good job. Call me on 07700 900123"
    )

    assert posted.status_code == 201, posted.text
    review_id = posted.json()["review_id"]
    assert posted.json()["status"] == "held"
    assert "moderator" in posted.json()["message"]
    assert await job_status(api, job.customer, job.job_id) == "closed"
    assert await published_reviews(api, job.customer, job.winner.user_id) == []
    assert await _rating(api, job.customer, job.winner.user_id) == (None, 0)
    assert (await _respond(api, job.winner, review_id, "Thanks")).status_code == 404
    assert (await _reply(api, job.customer, review_id, "Hello")).status_code == 409

    held = await api.client.get("/api/admin/reviews/held", headers=admin.headers)
    assert held.status_code == 200, held.text
    mine = [r for r in held.json()["items"] if r["review_id"] == review_id]
    assert len(mine) == 1 and mine[0]["moderation_reason"] == "contains contact details"
    assert mine[0]["feedback"] == "Good job. Call me on 07700 900123"
    for user in (job.customer, job.winner):
        response = await _moderate(api, user, review_id, decision="approve")
        assert response.status_code == 403, response.text
        assert (
            await api.client.get("/api/admin/reviews/held", headers=user.headers)
        ).status_code == 403
    for body in ({"decision": "publish"}, {}, {"decision": "approve", "rating": 5}):
        response = await api.client.patch(
            f"/api/admin/reviews/{review_id}/moderate", json=body, headers=admin.headers
        )
        assert response.status_code == 422, (body, response.text)
    assert await _rating(api, job.customer, job.winner.user_id) == (None, 0)

    approved = await _moderate(api, admin, review_id, decision="approve")

    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "published"
    listed = await published_reviews(api, job.other_customer, job.winner.user_id)
    assert [(r["review_id"], r["rating"]) for r in listed] == [(review_id, 4)]
    assert await _rating(api, job.customer, job.winner.user_id) == (4.0, 1)
    twice = await _moderate(api, admin, review_id, decision="approve")
    assert twice.status_code == 409, twice.text
    assert await _rating(api, job.customer, job.winner.user_id) == (4.0, 1)
    assert (await _respond(api, job.winner, review_id, "Thank you")).status_code == 200


async def test_abuse_is_held_and_a_rejected_review_never_counts(api: Api, admin: User) -> None:
    job = await completed_job(api)

    posted = await post_review(api, job.customer, job.job_id, rating=1, feedback="Useless idiot")

    assert posted.status_code == 201, posted.text
    review_id = posted.json()["review_id"]
    assert posted.json()["status"] == "held"
    held = (await api.client.get("/api/admin/reviews/held", headers=admin.headers)).json()["items"]
    assert [r["moderation_reason"] for r in held if r["review_id"] == review_id] == [
        "contains abusive language"
    ]

    rejected = await _moderate(api, admin, review_id, decision="reject", reason="Abusive")

    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert await published_reviews(api, job.customer, job.winner.user_id) == []
    assert await _rating(api, job.customer, job.winner.user_id) == (None, 0)
    assert (await _moderate(api, admin, review_id, decision="approve")).status_code == 409
    assert await _rating(api, job.customer, job.winner.user_id) == (None, 0)
    held = (await api.client.get("/api/admin/reviews/held", headers=admin.headers)).json()["items"]
    assert review_id not in {r["review_id"] for r in held}
    # One review per job, even a rejected one.
    assert (await post_review(api, job.customer, job.job_id)).status_code == 409


# --------------------------------------------------------------------------- response, reply


async def test_the_vendor_responds_once_and_the_customer_replies_once(api: Api) -> None:
    job = await completed_job(api)
    review_id = (await post_review(api, job.customer, job.job_id)).json()["review_id"]

    early = await _reply(api, job.customer, review_id, "Anything to say?")
    assert early.status_code == 409, early.text
    assert (await _respond(api, job.loser, review_id, "Not mine")).status_code == 404
    assert (await _respond(api, job.customer, review_id, "Not mine")).status_code == 403
    for text in ("", "x" * 5001, None, "Email me at plumber@example.com"):
        response = await _respond(api, job.winner, review_id, text)
        assert response.status_code == 422, (text, response.text)
    assert (await published_reviews(api, job.customer, job.winner.user_id))[0][
        "vendor_response"
    ] is None

    responded = await _respond(api, job.winner, review_id, "Thank you!")

    assert responded.status_code == 200, responded.text
    events = await events_of(api, job.customer, job.job_id, "REVIEW_RESPONDED")
    assert [e["event_id"] for e in events] == [responded.json()["event_id"]]
    again = await _respond(api, job.winner, review_id, "Thanks again!")
    assert again.status_code == 409, again.text

    assert (await _reply(api, job.winner, review_id, "Me")).status_code == 403
    assert (await _reply(api, job.other_customer, review_id, "Me")).status_code == 404
    assert (await _reply(api, job.customer, review_id, "")).status_code == 422
    replied = await _reply(api, job.customer, review_id, "You're welcome")
    assert replied.status_code == 200, replied.text
    assert (await _reply(api, job.customer, review_id, "And again")).status_code == 409

    review = (await published_reviews(api, job.other_customer, job.winner.user_id))[0]
    assert (review["vendor_response"], review["customer_reply"]) == (
        "Thank you!",
        "You're welcome",
    )


# ------------------------------------------------------------------------------- aggregate


async def test_the_rating_aggregate_over_two_jobs(api: Api) -> None:
    first = await completed_job(api)
    vendor = first.winner
    second = await another_completed_job(api, vendor)
    first_posted = await post_review(api, first.customer, first.job_id, rating=5)
    assert first_posted.status_code == 201
    first_review_id = first_posted.json()["review_id"]
    assert await _rating(api, second.customer, vendor.user_id) == (5.0, 1)

    posted = await post_review(
        api, second.customer, second.job_id, rating=4, recommend_yes_no=False
    )

    assert posted.status_code == 201, posted.text
    assert await _rating(api, first.customer, vendor.user_id) == (4.5, 2)
    listed = await published_reviews(api, first.other_customer, vendor.user_id)
    assert [(r["review_id"], r["rating"]) for r in listed] == [
        (posted.json()["review_id"], 4),
        (first_review_id, 5),
    ]
    paged = await api.client.get(
        f"{API}/vendors/{vendor.user_id}/reviews", params={"limit": 1}, headers=vendor.headers
    )
    assert paged.status_code == 200, paged.text
    assert [r["rating"] for r in paged.json()["items"]] == [4]
    rest = await api.client.get(
        f"{API}/vendors/{vendor.user_id}/reviews",
        params={"limit": 1, "cursor": paged.json()["next_cursor"]},
        headers=vendor.headers,
    )
    assert [r["rating"] for r in rest.json()["items"]] == [5]
    assert rest.json()["next_cursor"] is None
    # The loser of the first job has no reviews at all; and it is a competitor: 404 to a vendor.
    assert await published_reviews(api, first.customer, first.loser.user_id) == []
    competitor = await api.client.get(
        f"{API}/vendors/{first.loser.user_id}/reviews", headers=vendor.headers
    )
    assert competitor.status_code == 404, competitor.text
    unknown = await api.client.get(
        f"{API}/vendors/usr_01JZZZZZZZZZZZZZZZZZZZZZZZ/reviews", headers=vendor.headers
    )
    assert unknown.status_code == 404
