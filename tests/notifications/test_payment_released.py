"""The vendor's "Payment released" notification names the amount, in pounds as the API does."""

from __future__ import annotations

from tests.flows.deals import awarded_job, submitted_and_approved
from tests.flows.users import Api


async def test_the_payment_released_notification_names_the_amount(api: Api) -> None:
    job = await awarded_job(
        api,
        amount=1240.5,
        milestones=[{"title": "Parts", "amount": 40.5}, {"title": "Labour", "amount": 1200}],
    )

    for milestone_id in job.milestone_ids:
        await submitted_and_approved(api, job, milestone_id)

    response = await api.client.get(
        "/api/connection/notifications", params={"limit": 100}, headers=job.winner.headers
    )
    assert response.status_code == 200, response.text
    released = [n for n in response.json()["items"] if n["event_type"] == "PAYMENT_RELEASED"]
    assert sorted(n["body"] for n in released) == [
        "Payment released: £1,200",
        "Payment released: £40.50",
    ]
    assert all(n["title"] == "Payment released" for n in released)
