"""``GET /api/connection/quotes``: a vendor's own quotes (every status), optionally for one
job — never another vendor's, not even on the same job."""

from __future__ import annotations

from tests.flows.deals import awarded_job
from tests.flows.users import Api


async def test_a_vendor_lists_only_its_own_quotes(api: Api) -> None:
    job = await awarded_job(api, amount=120, funded=False)

    async def mine(user: object, **params: str) -> list[dict[str, object]]:
        response = await api.client.get(
            "/api/connection/quotes",
            params=params,
            headers=user.headers,  # type: ignore[attr-defined]
        )
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    winner = await mine(job.winner, job_id=job.job_id)
    assert [(q["quote_id"], q["status"], q["amount"]) for q in winner] == [
        (job.quote_id, "accepted", 120)
    ]
    loser = await mine(job.loser)
    assert [(q["quote_id"], q["status"]) for q in loser] == [(job.loser_quote_id, "expired")]
    assert await mine(job.outsider) == []
    assert await mine(job.winner, job_id="job_01J00000000000000000000000") == []
    customer = await api.client.get("/api/connection/quotes", headers=job.customer.headers)
    assert customer.status_code == 403
    bad = await api.client.get(
        "/api/connection/quotes", params={"job_id": "nope"}, headers=job.winner.headers
    )
    assert bad.status_code == 422
