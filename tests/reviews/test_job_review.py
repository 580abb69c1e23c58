"""``GET /api/connection/jobs/{job_id}/review``: the customer reads their review with its
moderation status; the vendor reads it once published (a held review stays out of sight);
anyone else gets 404."""

from __future__ import annotations

from tests.flows.deals import completed_job, post_review
from tests.flows.users import Api


async def test_the_review_of_a_job_for_each_party(api: Api) -> None:
    published = await completed_job(api, amount=90)
    posted = await post_review(api, published.customer, published.job_id, rating=4)
    assert posted.status_code == 201, posted.text
    path = f"/api/connection/jobs/{published.job_id}/review"

    for user in (published.customer, published.winner):
        response = await api.client.get(path, headers=user.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["review_id"] == posted.json()["review_id"]
        assert (body["rating"], body["status"], body["job_id"]) == (
            4,
            "published",
            published.job_id,
        )
    for user in (published.loser, published.other_customer, published.outsider):
        assert (await api.client.get(path, headers=user.headers)).status_code == 404

    held = await completed_job(api, amount=90)
    posted = await post_review(
        api, held.customer, held.job_id, feedback="Lovely, text him on 07700 900123"
    )
    assert posted.json()["status"] == "held", posted.text
    path = f"/api/connection/jobs/{held.job_id}/review"
    mine = await api.client.get(path, headers=held.customer.headers)
    assert mine.status_code == 200 and mine.json()["status"] == "held"
    assert mine.json()["moderation_reason"]
    hidden = await api.client.get(path, headers=held.winner.headers)
    assert hidden.status_code == 404


async def test_no_review_yet_is_not_found(api: Api) -> None:
    job = await completed_job(api, amount=50)
    response = await api.client.get(
        f"/api/connection/jobs/{job.job_id}/review", headers=job.customer.headers
    )
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
