"""Two ``tradematch worker`` processes sweeping one database at once: every expiry happens
exactly once, counted in the event log.

Both workers start with their service clock 25 hours ahead (``TRADEMATCH_CLOCK_OFFSET_SECONDS``)
and poll every 0.1 s in small batches. Once both are running, the test publishes two batches of
jobs in process (leads live 24 hours, jobs 72):

- batch A, published now: to the workers their leads are a day old (expired) but the jobs are
  not, so every lead expires and each job is offered to the three vendors it has not met yet;
- batch B, published with the test's clock 48 hours back: to the workers the jobs are 73 hours
  old, so each job expires and each of its leads ends once, closed or (if the lead sweep got
  there first) expired, and none is replaced.

The work appears while both workers are sweeping, so they compete for the same rows.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from fastapi import FastAPI

from tests.conftest import _client
from tests.flows.database import Database
from tests.flows.users import Api, User, new_area, postcode_in
from tradematch.app import create_app
from tradematch.core.config import Settings
from tradematch.core.database import create_engine
from tradematch.events.verify import verify_chains
from tradematch.kit import clock
from tradematch.sessions import create_sessionmaker

JOBS_PER_BATCH = 30
VENDORS = 8
OPEN_LEADS = 5
LEAD_TTL_HOURS = 24
JOB_TTL_HOURS = 72
WORKER_CLOCK_AHEAD = timedelta(hours=25)
# Batch B is published this far back, so to the workers its jobs are an hour past their expiry.
BATCH_B_BACK = timedelta(hours=JOB_TTL_HOURS + 1) - WORKER_CLOCK_AHEAD


def _worker_env(db: Database, data_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "TRADEMATCH_DATABASE_URL": db.url,
        "TRADEMATCH_DATA_DIR": str(data_dir),
        "TRADEMATCH_JWT_SECRET": "scheduler-test-signing-key-long-enough-to-be-safe",
        "TRADEMATCH_LOG_JSON": "true",
        "TRADEMATCH_LOG_LEVEL": "INFO",
        "TRADEMATCH_CLOCK_OFFSET_SECONDS": str(WORKER_CLOCK_AHEAD.total_seconds()),
        "TRADEMATCH_LEAD_TTL_HOURS": str(LEAD_TTL_HOURS),
        "TRADEMATCH_JOB_TTL_HOURS": str(JOB_TTL_HOURS),
        "TRADEMATCH_SCHEDULER_BATCH_SIZE": "4",
        "TRADEMATCH_DB_POOL_SIZE": "4",
    }
    for name in Settings.model_fields:
        if name.startswith("scheduler_") and name.endswith("_seconds"):
            env[f"TRADEMATCH_{name.upper()}"] = "0.1"
    return env


class Worker:
    def __init__(self, db: Database, data_dir: Path, index: int) -> None:
        self.log = data_dir / f"worker-{index}.log"
        self._handle = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tradematch", "worker"],
            env=_worker_env(db, data_dir),
            stdout=self._handle,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_started(self, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while "scheduler started" not in self.output():
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.output()}")
            assert time.monotonic() < deadline, f"worker did not start:\n{self.output()}"
            time.sleep(0.1)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._handle.close()
        return code


@pytest.fixture
def workers(fresh_db: Database, tmp_path: Path) -> Iterator[list[Worker]]:
    started = [Worker(fresh_db, tmp_path, index) for index in (1, 2)]
    try:
        yield started
    finally:
        for worker in started:
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait()


@pytest_asyncio.fixture
async def short_lead_app(settings: Settings, fresh_db: Database) -> AsyncIterator[FastAPI]:
    app = create_app(
        settings.model_copy(
            update={"lead_ttl_hours": LEAD_TTL_HOURS, "job_ttl_hours": JOB_TTL_HOURS}
        ),
        database_url=fresh_db.async_url,
    )
    async with app.router.lifespan_context(app):
        yield app


async def _publish_all(api: Api, customer: User, count: int) -> list[str]:
    drafts = [await api.create_job(customer, title=f"Fix leaking tap {i}") for i in range(count)]
    published = await asyncio.gather(*(api.publish(customer, d["job_id"]) for d in drafts))
    assert all(p["leads_assigned"] == OPEN_LEADS for p in published)
    return [d["job_id"] for d in drafts]


SETTLED_SQL = """
SELECT
  (SELECT count(*) FROM leads WHERE job_id = ANY($1) AND status = 'expired'),
  (SELECT count(*) FROM leads WHERE job_id = ANY($1)),
  (SELECT count(*) FROM jobs WHERE id = ANY($2) AND status = 'expired'),
  (SELECT count(*) FROM leads WHERE job_id = ANY($2) AND status IN ('offered', 'accepted')),
  (SELECT count(*) FROM event_log)
"""


async def _wait_until_settled(db: Database, batch_a: list[str], batch_b: list[str]) -> None:
    expected = (
        JOBS_PER_BATCH * OPEN_LEADS,
        JOBS_PER_BATCH * VENDORS,
        JOBS_PER_BATCH,
        0,
    )
    conn = await db.connect()
    try:
        deadline = time.monotonic() + 120
        while True:
            row = tuple(await conn.fetchrow(SETTLED_SQL, batch_a, batch_b))
            if row[:4] == expected:
                break
            assert time.monotonic() < deadline, f"not settled: {row} (want {expected})"
            await asyncio.sleep(0.2)
        # Let both workers sweep many more times: nothing further may happen.
        await asyncio.sleep(1.5)
        again = tuple(await conn.fetchrow(SETTLED_SQL, batch_a, batch_b))
        assert again == row, f"work continued after settling: {row} → {again}"
    finally:
        await conn.close()


async def test_two_workers_expire_each_lead_and_job_once(
    short_lead_app: FastAPI, fresh_db: Database, workers: list[Worker]
) -> None:
    async with _client(short_lead_app) as client:
        api = Api(client)
        area = new_area()
        customer = await api.customer(postcode=postcode_in(area, "2BB"))
        for i in range(VENDORS):
            await api.vendor(postcode=postcode_in(area, f"{i}CC"), radius=3)
        for worker in workers:
            await asyncio.to_thread(worker.wait_started)

        batch_a = await _publish_all(api, customer, JOBS_PER_BATCH)
        clock.advance(-BATCH_B_BACK)
        batch_b = await _publish_all(api, customer, JOBS_PER_BATCH)
        clock.reset()

        await _wait_until_settled(fresh_db, batch_a, batch_b)

    codes = [await asyncio.to_thread(worker.stop) for worker in workers]
    logs = [worker.output() for worker in workers]
    assert codes == [0, 0], logs
    # Both processes did part of the work: they really competed.
    assert all("scheduled transition" in log for log in logs), logs
    assert not any("scheduled item failed" in log for log in logs), logs

    conn = await fresh_db.connect()
    try:
        # Every lead was offered once and ended at most once; its end matches its status.
        per_lead = await conn.fetch(
            """
            SELECT l.id, l.job_id, l.status,
                   count(*) FILTER (WHERE e.type = 'LEAD_OFFERED') AS offered,
                   count(*) FILTER (WHERE e.type = 'LEAD_EXPIRED') AS expired,
                   count(*) FILTER (WHERE e.type = 'LEAD_CLOSED') AS closed,
                   bool_or(e.type = 'LEAD_OFFERED' AND e.actor_role = 'system') AS by_system
              FROM leads l
              JOIN event_log e ON e.payload->>'lead_id' = l.id
             WHERE l.job_id = ANY($1) OR l.job_id = ANY($2)
             GROUP BY l.id, l.job_id, l.status
            """,
            batch_a,
            batch_b,
        )
        assert len(per_lead) == JOBS_PER_BATCH * (VENDORS + OPEN_LEADS)
        for lead in per_lead:
            assert lead["offered"] == 1, dict(lead)
            ended = {"expired": lead["expired"], "closed": lead["closed"]}
            if lead["status"] == "offered":
                assert ended == {"expired": 0, "closed": 0}, dict(lead)
            else:
                assert lead["status"] in ended, dict(lead)
                assert ended[lead["status"]] == 1 and sum(ended.values()) == 1, dict(lead)

        a_leads = [lead for lead in per_lead if lead["job_id"] in set(batch_a)]
        # Batch A: the five first leads expired once each, three replacements offered by the
        # platform and still open.
        expired = [lead for lead in a_leads if lead["status"] == "expired"]
        assert len(expired) == JOBS_PER_BATCH * OPEN_LEADS
        replacements = [lead for lead in a_leads if lead["status"] == "offered"]
        assert len(replacements) == JOBS_PER_BATCH * (VENDORS - OPEN_LEADS)
        assert all(lead["by_system"] for lead in replacements)
        # Batch B: no replacement was offered for a job about to expire.
        b_leads = [lead for lead in per_lead if lead["job_id"] in set(batch_b)]
        assert len(b_leads) == JOBS_PER_BATCH * OPEN_LEADS
        assert {lead["status"] for lead in b_leads} <= {"expired", "closed"}

        per_job = await conn.fetch(
            "SELECT j.id, j.status, count(e.seq) FILTER (WHERE e.type = 'JOB_EXPIRED') AS n"
            " FROM jobs j LEFT JOIN event_log e ON e.job_id = j.id"
            " WHERE j.id = ANY($1) OR j.id = ANY($2) GROUP BY j.id, j.status",
            batch_a,
            batch_b,
        )
        for job in per_job:
            if job["id"] in set(batch_b):
                assert (job["status"], job["n"]) == ("expired", 1), dict(job)
            else:
                assert (job["status"], job["n"]) == ("live", 0), dict(job)
    finally:
        await conn.close()

    # The concurrent writers kept every job's hash chain intact.
    engine = create_engine(fresh_db.async_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            report = await verify_chains(session)
    finally:
        await engine.dispose()
    assert report.ok, report.breaks
