"""The seed's step 9: posting a review leaves the system message "Review posted" in the
conversation between the customer and the vendor — at once for a published review, and for a
held one only when a moderator publishes it (the vendor must not learn of a held review)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.flows.database import Database
from tests.flows.deals import completed_job, messages, post_review
from tests.flows.users import Api, User, create_admin


@pytest.fixture
async def admin(api: Api, worker_db: Database) -> User:
    return await create_admin(api, worker_db.async_url)


def _system_bodies(items: list[dict[str, Any]]) -> list[str]:
    return [m["body"] for m in items if m["type"] == "system"]


async def test_a_published_review_posts_the_system_message(api: Api) -> None:
    job = await completed_job(api)

    posted = await post_review(api, job.customer, job.job_id)

    assert posted.status_code == 201, posted.text
    for user in (job.customer, job.winner):
        bodies = _system_bodies(await messages(api, user, job.conversation_id))
        assert bodies[-1] == "Review posted", bodies
        assert bodies.count("Review posted") == 1


async def test_a_held_review_posts_it_only_once_published(api: Api, admin: User) -> None:
    job = await completed_job(api)
    posted = await post_review(
        api, job.customer, job.job_id, feedback="Good job. Call me on 07700 900123"
    )
    assert posted.json()["status"] == "held", posted.text
    assert "Review posted" not in _system_bodies(
        await messages(api, job.winner, job.conversation_id)
    )

    approved = await api.client.patch(
        f"/api/admin/reviews/{posted.json()['review_id']}/moderate",
        json={"decision": "approve"},
        headers=admin.headers,
    )

    assert approved.status_code == 200, approved.text
    bodies = _system_bodies(await messages(api, job.winner, job.conversation_id))
    assert bodies[-1] == "Review posted" and bodies.count("Review posted") == 1
