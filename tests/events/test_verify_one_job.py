"""``GET /api/admin/jobs/{job_id}/chain``: one job's hash chain verified for the admin
dashboard, the first altered event named, other jobs unaffected."""

from __future__ import annotations

from tests.flows.commands import superuser
from tests.flows.database import Database
from tests.flows.users import Api, create_admin, marketplace


async def test_one_jobs_chain_verifies_and_a_tampered_event_is_named(
    fresh_api: Api, fresh_db: Database
) -> None:
    admin = await create_admin(fresh_api, fresh_db.async_url)
    market = await marketplace(fresh_api, vendors=2)
    vendor = market.vendors[0]
    await fresh_api.accept(vendor, market.leads[vendor.user_id])
    other = await fresh_api.create_job(market.other_customer)

    async def chain(job_id: str) -> dict[str, object]:
        response = await fresh_api.client.get(
            f"/api/admin/jobs/{job_id}/chain", headers=admin.headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    before = await chain(market.job_id)
    assert before["ok"] is True and before["first_break"] is None
    async with superuser(fresh_db, "event_log") as conn:
        events = await conn.fetchval(
            "SELECT count(*) FROM event_log WHERE job_id = $1", market.job_id
        )
        assert before["events"] == events >= 4
        third = await conn.fetchrow(
            "SELECT id, seq FROM event_log WHERE job_id = $1 AND chain_index = 3", market.job_id
        )
        await conn.execute(
            "UPDATE event_log SET payload = payload || '{\"forged\": true}'::jsonb WHERE id = $1",
            third["id"],
        )

    after = await chain(market.job_id)
    assert after["ok"] is False
    assert after["first_break"] == {
        "event_id": third["id"],
        "seq": third["seq"],
        "reason": "content does not match its hash (altered)",
    }
    assert (await chain(other["job_id"]))["ok"] is True


async def test_only_an_admin_verifies_and_an_unknown_job_is_not_found(
    fresh_api: Api, fresh_db: Database
) -> None:
    admin = await create_admin(fresh_api, fresh_db.async_url)
    customer = await fresh_api.customer()
    job = await fresh_api.create_job(customer)
    path = f"/api/admin/jobs/{job['job_id']}/chain"
    assert (await fresh_api.client.get(path, headers=customer.headers)).status_code == 403
    missing = await fresh_api.client.get(
        "/api/admin/jobs/job_01J00000000000000000000000/chain", headers=admin.headers
    )
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
