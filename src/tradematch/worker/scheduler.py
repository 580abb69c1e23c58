"""The scheduler: the timed transitions of contract §4 and housekeeping.

``scheduler_loop`` runs inside ``tradematch worker`` (and inside ``serve`` unless
``--no-worker``). Each task runs every ``TRADEMATCH_SCHEDULER_<TASK>_SECONDS``:

==================  ==========================================================================
job_expiry          live jobs nobody engaged with, ``job_ttl_hours`` after publishing → expired
lead_expiry         offered leads past ``expires_at`` → expired; the job is offered to the next
                    best vendors while it is live
lead_top_up         live jobs with fewer than ``max_open_leads`` open leads are offered to more
                    vendors (vendors who joined or widened their radius since)
milestone_approval  milestones submitted and unanswered for ``milestone_auto_approve_days``
                    (``milestones.service.auto_approve_due``)
auto_close          completed jobs, ``job_auto_close_days`` after completion → closed
checkpoint          a signed checkpoint of the event chains' heads, written to
                    ``checkpoint_dir`` (``events/checkpoints.py``; one process at a time)
housekeeping        expired idempotency keys, login attempts outside the rate-limit window,
                    denial counts past their retention
==================  ==========================================================================

Several processes may run it at once. A sweep reads candidate ids without locks, then handles
each in a transaction of its own that locks the job with ``FOR NO KEY UPDATE SKIP LOCKED`` and
decides on the locked, freshly read rows (``leads/tasks.py``, ``jobs/tasks.py``): a job another
worker (or a request) holds is skipped and, if still due, taken on a later run, and a job already
handled is no longer due. So each transition happens exactly once. A failing item is logged,
counted (``tradematch_scheduler_errors_total``) and retried on the next run; it does not stop
the sweep or the loop. Housekeeping runs in one process at a time (an advisory lock).

Time: every task takes ``now`` from the service clock (``kit.clock``), which tests move in
process; a separate process can be started with its clock shifted by
``TRADEMATCH_CLOCK_OFFSET_SECONDS`` (refused in production).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tradematch.accounts import service as accounts
from tradematch.core.config import Settings
from tradematch.core.logging import log_scope
from tradematch.core.metrics import (
    SCHEDULER_ERRORS,
    SCHEDULER_LAST_RUN,
    SCHEDULER_PURGED_ROWS,
    SCHEDULER_RUN_SECONDS,
    SCHEDULER_TRANSITIONS,
)
from tradematch.core.outage import Outage, is_database_unavailable
from tradematch.denials import service as denials
from tradematch.events import checkpoints
from tradematch.events.unit_of_work import unit_of_work
from tradematch.idempotency import service as idempotency
from tradematch.jobs import tasks as job_tasks
from tradematch.kit import clock
from tradematch.kit.repository import one_process_at_a_time, try_transaction_lock
from tradematch.leads import tasks as lead_tasks

log = structlog.get_logger("tradematch.scheduler")

HOUSEKEEPING_LOCK = 7_431_200
CHECKPOINT_LOCK = 7_431_201
MILESTONE_ROUNDS = 50  # bounded per run: auto_approve_due handles a batch per call
JITTER = 0.1  # periods vary by ±10 %, so workers started together drift apart
OUTAGE_RETRY_CAP_SECONDS = 30.0

Sessionmaker = async_sessionmaker[AsyncSession]
Finder = Callable[[AsyncSession, Settings, datetime, str | None, int], Awaitable[list[str]]]
Step = Callable[[AsyncSession, Settings, str, datetime], Awaitable[Counter[str]]]
Runner = Callable[[Sessionmaker, Settings, datetime, asyncio.Event], Awaitable[Counter[str]]]


@dataclass(frozen=True)
class Sweep:
    """Find due items, then handle each in its own unit of work.

    ``exclusive``: one process at a time runs the sweep (the others skip that run). For sweeps
    whose items stay due after being handled (the top-up re-checks every under-filled job), so
    that several workers do not repeat each other's matching; expiry sweeps share the work.
    """

    name: str
    find: Finder
    step: Step
    exclusive: bool = False

    async def __call__(
        self, sessionmaker: Sessionmaker, settings: Settings, now: datetime, stop: asyncio.Event
    ) -> Counter[str]:
        if not self.exclusive:
            return await self._sweep(sessionmaker, settings, now, stop)
        async with one_process_at_a_time(sessionmaker, f"tradematch.scheduler.{self.name}") as mine:
            if not mine:
                return Counter()
            return await self._sweep(sessionmaker, settings, now, stop)

    async def _sweep(
        self, sessionmaker: Sessionmaker, settings: Settings, now: datetime, stop: asyncio.Event
    ) -> Counter[str]:
        done: Counter[str] = Counter()
        after: str | None = None
        while not stop.is_set():
            async with unit_of_work(sessionmaker) as session:
                found = await self.find(
                    session, settings, now, after, settings.scheduler_batch_size
                )
            for item in found:
                if stop.is_set():
                    break
                done += await self._one(sessionmaker, settings, item, now)
            if len(found) < settings.scheduler_batch_size:
                break
            # Keyset paging through the due set: an item that failed is retried on the next run,
            # never again in this one, so a poisoned item cannot starve the rest.
            after = found[-1]
        return done

    async def _one(
        self, sessionmaker: Sessionmaker, settings: Settings, item: str, now: datetime
    ) -> Counter[str]:
        with log_scope(scheduler_task=self.name, item_id=item):
            try:
                async with unit_of_work(sessionmaker) as session:
                    done = await self.step(session, settings, item, now)
            except Exception as exc:
                if is_database_unavailable(exc):
                    raise  # not this item's fault: the whole run stops and is retried
                SCHEDULER_ERRORS.labels(self.name).inc()
                log.exception("scheduled item failed; retried on the next run")
                return Counter()
            for kind, count in done.items():
                SCHEDULER_TRANSITIONS.labels(kind).inc(count)
            if done:
                log.info("scheduled transition", transitions=dict(done))
            return done


async def approve_milestones(
    sessionmaker: Sessionmaker, settings: Settings, now: datetime, stop: asyncio.Event
) -> Counter[str]:
    """Milestone auto-approval, owned by the milestones domain (it takes its own time from the
    service clock and locks with SKIP LOCKED); absent in builds without it."""
    try:
        from tradematch.milestones.service import auto_approve_due
    except ImportError:
        return Counter()
    done: Counter[str] = Counter()
    for _ in range(MILESTONE_ROUNDS):
        if stop.is_set():
            break
        async with unit_of_work(sessionmaker) as session:
            approved = await auto_approve_due(session, settings)
        if not approved:
            break
        done["milestone_auto_approved"] += approved
        SCHEDULER_TRANSITIONS.labels("milestone_auto_approved").inc(approved)
    return done


async def housekeeping(
    sessionmaker: Sessionmaker, settings: Settings, now: datetime, stop: asyncio.Event
) -> Counter[str]:
    """Delete what has outlived its use; one process at a time (the others skip the run)."""
    purged: Counter[str] = Counter()
    async with unit_of_work(sessionmaker) as session:
        if not await try_transaction_lock(session, HOUSEKEEPING_LOCK):
            return purged
        purged["idempotency_keys"] = await idempotency.purge_expired(session)
        purged["login_attempts"] = await accounts.forget_old_failures(session, settings)
        purged["denial_counts"] = await denials.purge_old(session, settings.denial_retention_days)
    for table, count in purged.items():
        SCHEDULER_PURGED_ROWS.labels(table).inc(count)
    return +purged


async def checkpoint(
    sessionmaker: Sessionmaker, settings: Settings, now: datetime, stop: asyncio.Event
) -> Counter[str]:
    """Anchor the event log: a signed checkpoint of every chain head that moved since the last
    one (one process at a time; the others skip the run). Not a transition: nothing counted."""
    async with unit_of_work(sessionmaker) as session:
        if not await try_transaction_lock(session, CHECKPOINT_LOCK):
            return Counter()
        written = await checkpoints.write_checkpoint(
            session, settings.checkpoints_path(), settings.checkpoint_key()
        )
    if written.path is not None:
        log.info(
            "checkpoint written",
            path=str(written.path),
            max_seq=written.max_seq,
            chains=written.chains,
        )
    return Counter()


@dataclass(frozen=True)
class Task:
    name: str
    period: float
    run: Runner


def scheduled_tasks(settings: Settings) -> list[Task]:
    """Every task, in the order a run of all of them goes: job expiry before lead expiry, so a
    job due to expire closes its leads instead of expiring and replacing them first."""
    return [
        Task(
            "job_expiry",
            settings.scheduler_job_expiry_seconds,
            Sweep("job_expiry", job_tasks.jobs_due_for_expiry, job_tasks.expire),
        ),
        Task(
            "lead_expiry",
            settings.scheduler_lead_expiry_seconds,
            Sweep("lead_expiry", lead_tasks.jobs_with_expired_offers, lead_tasks.expire_offers),
        ),
        Task(
            "lead_top_up",
            settings.scheduler_lead_top_up_seconds,
            Sweep("lead_top_up", lead_tasks.jobs_short_of_leads, lead_tasks.top_up, exclusive=True),
        ),
        Task(
            "milestone_approval",
            settings.scheduler_milestone_approval_seconds,
            approve_milestones,
        ),
        Task(
            "auto_close",
            settings.scheduler_auto_close_seconds,
            Sweep("auto_close", job_tasks.jobs_due_for_closing, job_tasks.auto_close),
        ),
        Task("checkpoint", settings.scheduler_checkpoint_seconds, checkpoint),
        Task("housekeeping", settings.scheduler_housekeeping_seconds, housekeeping),
    ]


async def run_task(
    task: Task,
    sessionmaker: Sessionmaker,
    settings: Settings,
    *,
    now: datetime | None = None,
    stop: asyncio.Event | None = None,
    outage: Outage | None = None,
) -> Counter[str]:
    """One run of one task; errors are logged and counted, never raised. A database outage is
    reported to ``outage`` (one log line for the whole outage) when one is given."""
    started = time.perf_counter()
    with log_scope(scheduler_task=task.name):
        try:
            done = await task.run(
                sessionmaker, settings, now or clock.now(), stop or asyncio.Event()
            )
        except Exception as exc:
            SCHEDULER_ERRORS.labels(task.name).inc()
            if outage is not None and is_database_unavailable(exc):
                outage.failed(exc)
            else:
                log.exception("scheduler task failed; retried on its next run")
            return Counter()
        finally:
            SCHEDULER_RUN_SECONDS.labels(task.name).observe(time.perf_counter() - started)
    if outage is not None:
        outage.recovered()
    SCHEDULER_LAST_RUN.labels(task.name).set(time.time())
    return done


async def run_once(
    sessionmaker: Sessionmaker,
    settings: Settings,
    *,
    now: datetime | None = None,
    only: Iterable[str] | None = None,
) -> Counter[str]:
    """Run every task (or those named) once, in order, at ``now`` (default: the service clock).
    What tests and one-off commands use; the loop does the same on each task's period."""
    wanted = set(only) if only is not None else None
    done: Counter[str] = Counter()
    for task in scheduled_tasks(settings):
        if wanted is None or task.name in wanted:
            done += await run_task(task, sessionmaker, settings, now=now)
    return done


def _next_period(period: float) -> float:
    return period * random.uniform(1 - JITTER, 1 + JITTER)


async def scheduler_loop(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, stop: asyncio.Event
) -> None:
    """Run every scheduled task on its period until ``stop`` is set. Each task runs once at
    start (catching up after downtime), then every period; a run in progress finishes its
    current item when ``stop`` is set."""
    if settings.clock_offset_seconds:
        clock.set_offset(timedelta(seconds=settings.clock_offset_seconds))
        log.warning("service clock shifted", offset_seconds=settings.clock_offset_seconds)
    tasks = scheduled_tasks(settings)
    due = {task.name: time.monotonic() for task in tasks}
    outage = Outage("scheduler", base_seconds=1.0, cap_seconds=OUTAGE_RETRY_CAP_SECONDS)
    log.info("scheduler started", periods={t.name: t.period for t in tasks})
    while not stop.is_set():
        for task in tasks:
            if stop.is_set():
                break
            if time.monotonic() >= due[task.name]:
                await run_task(task, sessionmaker, settings, stop=stop, outage=outage)
                if outage.active:
                    # The database is away: try this task again soon, with backoff, rather than
                    # a whole period later; the tasks after it wait for it (still due).
                    due[task.name] = time.monotonic() + min(task.period, outage.retry_in)
                    break
                due[task.name] = time.monotonic() + _next_period(task.period)
        wait = max(0.0, min(due.values()) - time.monotonic())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=wait)
    log.info("scheduler stopped")
