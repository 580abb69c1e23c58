"""Refused requests per actor, as administrators see them (contract §6)."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from tests.flows.database import Database
from tests.flows.users import Api, create_admin, marketplace
from tradematch.denials.service import DenialRecorder

API = "/api/connection"


async def test_admin_sees_404s_by_actor_summed_over_processes(
    fresh_app: FastAPI, fresh_api: Api, fresh_db: Database
) -> None:
    api = fresh_api
    market = await marketplace(api, vendors=2)
    prober = market.other_customer
    for _ in range(3):  # someone else's job: 404, exactly as a job that does not exist
        response = await api.client.get(f"{API}/jobs/{market.job_id}", headers=prober.headers)
        assert response.status_code == 404
    holder, rival = market.vendors
    rival_lead = await api.client.get(
        f"{API}/leads/{market.leads[holder.user_id]}", headers=rival.headers
    )
    assert rival_lead.status_code == 404
    forbidden = await api.client.get(f"{API}/jobs", headers=rival.headers)
    assert forbidden.status_code == 403

    # Another API process's tally reaches the same table.
    other_process = DenialRecorder()
    for _ in range(2):
        other_process.record(prober.user_id, "customer", 404)
    assert await other_process.flush(fresh_app.state.sessionmaker) == 2

    admin = await create_admin(api, fresh_db.async_url)
    report = await api.client.get("/api/admin/denials", headers=admin.headers)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["status"] == 404
    counts = {item["actor_id"]: (item["role"], item["count"]) for item in body["items"]}
    assert counts == {prober.user_id: ("customer", 5), rival.user_id: ("vendor", 1)}
    assert body["items"][0]["actor_id"] == prober.user_id  # most refused first

    report = await api.client.get(
        "/api/admin/denials", params={"status": 403}, headers=admin.headers
    )
    assert report.status_code == 200, report.text
    assert [(i["actor_id"], i["count"]) for i in report.json()["items"]] == [(rival.user_id, 1)]

    bad = await api.client.get("/api/admin/denials", params={"status": 500}, headers=admin.headers)
    assert bad.status_code == 422


def test_the_tally_is_bounded() -> None:
    recorder = DenialRecorder(max_keys=2)
    for actor in ("usr_a", "usr_b", "usr_c", "usr_d"):
        recorder.record(actor, "vendor", 404)
    recorder.record(None, None, 401)
    recorder.record("usr_a", "vendor", 500)  # not a denial
    assert recorder.pending() == 5
    # The first two actors, then one overflow entry per status for everyone else.
    assert len(recorder._tally) == 4


async def test_a_flush_waits_for_one_already_writing(
    fresh_app: FastAPI, fresh_db: Database
) -> None:
    """The admin view flushes this process's counts before it reads; when the periodic flush
    has just taken them and not committed yet, the view must still see them (it read too early
    on a loaded machine before flushes were serialised)."""
    recorder = DenialRecorder()
    for _ in range(3):
        recorder.record("usr_01J00000000000000000000000", "customer", 404)
    sessionmaker = fresh_app.state.sessionmaker
    periodic = asyncio.create_task(recorder.flush(sessionmaker))
    await asyncio.sleep(0)  # the periodic flush has taken the counts and is writing them
    assert recorder.pending() == 0
    await recorder.flush(sessionmaker)  # what the admin view does before reading
    conn = await fresh_db.connect()
    try:
        written = await conn.fetchval("SELECT coalesce(sum(count), 0) FROM denial_counts")
    finally:
        await conn.close()
    assert written == 3
    assert await periodic == 3
