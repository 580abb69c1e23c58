"""The scheduler's machinery: the loop itself, a failing item, units of work, housekeeping."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.flows.apps import eventually, sessionmaker_of, settings_of
from tests.flows.database import Database
from tests.flows.deals import job_status
from tests.flows.users import Api, marketplace
from tradematch.core.config import Settings
from tradematch.core.metrics import SCHEDULER_ERRORS
from tradematch.events.unit_of_work import unit_of_work
from tradematch.kit import clock
from tradematch.worker.scheduler import Sweep, run_once, scheduled_tasks, scheduler_loop

FAST = {
    name: 0.05
    for name in Settings.model_fields
    if name.startswith("scheduler_") and name.endswith("_seconds")
}


def _runs() -> dict[str, float]:
    """How many runs of each scheduled task this process has finished (its histogram count)."""
    return {
        task.name: REGISTRY.get_sample_value(
            "tradematch_scheduler_run_duration_seconds_count", {"task": task.name}
        )
        or 0.0
        for task in scheduled_tasks(Settings())
    }


async def test_the_loop_runs_the_tasks_and_stops(fresh_app: FastAPI, fresh_api: Api) -> None:
    settings = settings_of(fresh_app).model_copy(update=FAST)
    market = await marketplace(fresh_api, vendors=2)
    stop = asyncio.Event()
    before = _runs()
    loop = asyncio.create_task(scheduler_loop(sessionmaker_of(fresh_app), settings, stop))
    try:

        async def every_task_ran_twice() -> bool:
            after = _runs()
            return all(after[name] >= count + 2 for name, count in before.items())

        await eventually(every_task_ran_twice, seconds=30, what="two runs of every task")
        # The loop ran, and nothing was due yet.
        assert await job_status(fresh_api, market.customer, market.job_id) == "live"
        clock.advance(timedelta(hours=settings.job_ttl_hours, minutes=1))

        async def expired() -> bool:
            return await job_status(fresh_api, market.customer, market.job_id) == "expired"

        await eventually(expired, seconds=30, what="the loop to expire the job")
    finally:
        stop.set()
        await asyncio.wait_for(loop, timeout=10)
    assert loop.done() and loop.exception() is None


@pytest.mark.tracebacks  # provoked on purpose
async def test_a_failing_item_is_logged_and_the_sweep_goes_on(fresh_app: FastAPI) -> None:
    settings = settings_of(fresh_app).model_copy(update={"scheduler_batch_size": 2})
    due = ["item_a", "item_b", "item_c"]
    pages: list[str | None] = []

    async def find(
        session: AsyncSession, settings: Settings, now: datetime, after: str | None, limit: int
    ) -> list[str]:
        pages.append(after)
        return [item for item in due if after is None or item > after][:limit]

    async def step(
        session: AsyncSession, settings: Settings, item: str, now: datetime
    ) -> Counter[str]:
        await session.execute(text("SELECT 1"))
        if item == "item_b":
            raise RuntimeError("poisoned item")
        return Counter(handled=1)

    before = SCHEDULER_ERRORS.labels("test_sweep")._value.get()
    sweep = Sweep("test_sweep", find, step)
    done = await sweep(sessionmaker_of(fresh_app), settings, clock.now(), asyncio.Event())
    assert done == Counter(handled=2)
    assert pages == [None, "item_b"]  # keyset paging: the failed item is not retried this run
    assert SCHEDULER_ERRORS.labels("test_sweep")._value.get() == before + 1


async def test_unit_of_work_commits_or_rolls_back_everything(
    fresh_app: FastAPI, fresh_db: Database
) -> None:
    sessionmaker = sessionmaker_of(fresh_app)
    insert = text("INSERT INTO login_attempts (bucket) VALUES (:b)")
    async with unit_of_work(sessionmaker) as session:
        await session.execute(insert, {"b": "uow:kept"})
    with pytest.raises(RuntimeError):
        async with unit_of_work(sessionmaker) as session:
            await session.execute(insert, {"b": "uow:lost"})
            raise RuntimeError("fails after writing")
    conn = await fresh_db.connect()
    try:
        buckets = await conn.fetch("SELECT bucket FROM login_attempts WHERE bucket LIKE 'uow:%'")
    finally:
        await conn.close()
    assert [r["bucket"] for r in buckets] == ["uow:kept"]


async def test_housekeeping_purges_what_has_expired(fresh_app: FastAPI, fresh_db: Database) -> None:
    settings = settings_of(fresh_app)
    now = datetime.now(UTC)
    old = now - timedelta(days=settings.denial_retention_days + 1)
    conn = await fresh_db.connect()
    try:
        for key, expires in (
            ("old", now - timedelta(minutes=1)),
            ("new", now + timedelta(hours=1)),
        ):
            await conn.execute(
                "INSERT INTO idempotency_keys (scope, key, fingerprint, status_code,"
                " response_body, content_type, expires_at)"
                " VALUES ('user:usr_x', $1, 'f', 200, '\\x7b7d', 'application/json', $2)",
                key,
                expires,
            )
        stale = now - timedelta(seconds=settings.login_window_seconds + 1)
        await conn.execute(
            "INSERT INTO login_attempts (bucket, created_at) VALUES ('hk:old', $1), ('hk:new', $2)",
            stale,
            now,
        )
        for hour in (old, now):
            await conn.execute(
                "INSERT INTO denial_counts (hour, actor_id, status, role, count, last_seen_at)"
                " VALUES (date_trunc('hour', $1::timestamptz), 'usr_x', 404, 'vendor', 3, $1)",
                hour,
            )

        done = await run_once(sessionmaker_of(fresh_app), settings, only=["housekeeping"])
        assert done == Counter(idempotency_keys=1, login_attempts=1, denial_counts=1)
        assert [r["key"] for r in await conn.fetch("SELECT key FROM idempotency_keys")] == ["new"]
        left = await conn.fetch("SELECT bucket FROM login_attempts WHERE bucket LIKE 'hk:%'")
        assert [r["bucket"] for r in left] == ["hk:new"]
        assert await conn.fetchval("SELECT count(*) FROM denial_counts") == 1
    finally:
        await conn.close()


async def test_top_up_runs_in_one_process_at_a_time(
    fresh_app: FastAPI, fresh_api: Api, fresh_db: Database
) -> None:
    sessionmaker, settings = sessionmaker_of(fresh_app), settings_of(fresh_app)
    market = await marketplace(fresh_api, vendors=1)
    area = market.customer.postcode.split()[0]
    for i in range(2):
        await fresh_api.vendor(postcode=f"{area} {i}DD", radius=3)
    other_worker = await fresh_db.connect()  # holds the top-up's lock, as a running worker does
    lock = "hashtextextended('tradematch.scheduler.lead_top_up', 0)"
    try:
        await other_worker.execute(f"SELECT pg_advisory_lock({lock})")
        assert await run_once(sessionmaker, settings, only=["lead_top_up"]) == Counter()
        await other_worker.execute(f"SELECT pg_advisory_unlock({lock})")
        done = await run_once(sessionmaker, settings, only=["lead_top_up"])
        assert done == Counter(lead_offered=2)
    finally:
        await other_worker.close()
