"""The second half of the flow, in process: quote, award, fund, milestones, review."""

from __future__ import annotations

from tests.flows.users import Api, marketplace


async def test_quote_award_fund_release_review(fresh_api: Api) -> None:
    api = fresh_api
    world = await marketplace(api, vendors=2)
    client = api.client
    winner, loser = world.vendors
    for vendor in world.vendors:
        await api.accept(vendor, world.leads[vendor.user_id])
    quotes = {}
    for vendor, amount in ((winner, 120), (loser, 150)):
        sent = await client.post(
            "/api/connection/quotes",
            json={
                "job_id": world.job_id,
                "amount": amount,
                "description": "New washer installed, tested",
                "estimated_duration": "2 hours",
                "milestones": [
                    {"title": "Parts", "amount": 40},
                    {"title": "Labour", "amount": amount - 40},
                ],
            },
            headers=vendor.headers,
        )
        assert sent.status_code == 201, sent.text
        quotes[vendor.user_id] = sent.json()["quote_id"]

    accepted = await client.patch(
        f"/api/connection/quotes/{quotes[winner.user_id]}/accept",
        json={},
        headers=world.customer.headers,
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["message"] == "Quote accepted! Job is now in progress."

    loser_lead = await client.get(
        f"/api/connection/leads/{world.leads[loser.user_id]}", headers=loser.headers
    )
    assert loser_lead.json()["status"] == "closed"
    loser_quote = await client.get(
        f"/api/connection/quotes/{quotes[loser.user_id]}", headers=loser.headers
    )
    assert loser_quote.json()["status"] == "expired"

    fund = await client.post(
        f"/api/connection/jobs/{world.job_id}/escrow/fund", json={}, headers=world.customer.headers
    )
    assert fund.status_code == 402, fund.text
    assert fund.json() == {
        "error": "Insufficient funds",
        "code": "ESCROW_INSUFFICIENT_BALANCE",
        "required": 120,
        "available": 0,
    }
    top = await client.post(
        "/api/connection/wallet/top-up", json={"amount": 500}, headers=world.customer.headers
    )
    assert top.status_code == 200, top.text
    fund = await client.post(
        f"/api/connection/jobs/{world.job_id}/escrow/fund", json={}, headers=world.customer.headers
    )
    assert fund.status_code == 200, fund.text
    assert fund.json()["status"] == "held"

    milestones = (
        await client.get(f"/api/connection/jobs/{world.job_id}/milestones", headers=winner.headers)
    ).json()["items"]
    assert [m["amount"] for m in milestones] == [40, 80]
    for milestone in milestones:
        submitted = await client.post(
            f"/api/connection/milestones/{milestone['milestone_id']}/submit",
            json={
                "completion_evidence": {
                    "photos": ["https://example.com/1.jpg"],
                    "description": "Done",
                }
            },
            headers=winner.headers,
        )
        assert submitted.status_code == 200, submitted.text
        approved = await client.patch(
            f"/api/connection/milestones/{milestone['milestone_id']}/approve",
            json={},
            headers=world.customer.headers,
        )
        assert approved.status_code == 200, approved.text

    escrow = (
        await client.get(f"/api/connection/jobs/{world.job_id}/escrow", headers=winner.headers)
    ).json()
    assert escrow["status"] == "released" and escrow["released"] == 120 and escrow["balance"] == 0
    wallet = (await client.get("/api/connection/wallet", headers=winner.headers)).json()
    assert wallet["balance"] == 120
    job = (
        await client.get(f"/api/connection/jobs/{world.job_id}", headers=world.customer.headers)
    ).json()
    assert job["status"] == "completed"

    review = await client.post(
        "/api/connection/reviews",
        json={
            "job_id": world.job_id,
            "rating": 5,
            "feedback": "Great work, quick and professional!",
            "recommend_yes_no": True,
        },
        headers=world.customer.headers,
    )
    assert review.status_code == 201, review.text
    assert review.json()["status"] == "published"
    review_id = review.json()["review_id"]
    respond = await client.patch(
        f"/api/connection/reviews/{review_id}/respond",
        json={"response": "Thank you!"},
        headers=winner.headers,
    )
    assert respond.status_code == 200, respond.text
    reply = await client.patch(
        f"/api/connection/reviews/{review_id}/reply",
        json={"reply": "You're welcome"},
        headers=world.customer.headers,
    )
    assert reply.status_code == 200, reply.text
    profile = (
        await client.get(
            f"/api/connection/vendors/{winner.user_id}", headers=world.customer.headers
        )
    ).json()
    assert profile["rating_average"] == 5.0 and profile["rating_count"] == 1
    job = (
        await client.get(f"/api/connection/jobs/{world.job_id}", headers=world.customer.headers)
    ).json()
    assert job["status"] == "closed"
