"""The dispatcher and scheduler loops (``tradematch worker``, and inside ``serve``).

Both loops run as background tasks until a stop event is set; each is restarted after a pause
if it ever fails, so one bug cannot silently end notification delivery or the timed
transitions. Several worker processes may run at once: both loops are written for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tradematch.core import signals
from tradematch.core.config import Settings
from tradematch.worker.dispatcher import run_dispatcher

log = structlog.get_logger("tradematch.worker")

Loop = Callable[[async_sessionmaker[AsyncSession], Settings, asyncio.Event], Awaitable[None]]

RESTART_PAUSE_SECONDS = 5.0
SHUTDOWN_GRACE_SECONDS = 30.0


def worker_loops() -> dict[str, Loop]:
    loops: dict[str, Loop] = {"dispatcher": run_dispatcher}
    try:
        scheduler = importlib.import_module("tradematch.worker.scheduler")
    except ModuleNotFoundError as exc:
        if exc.name != "tradematch.worker.scheduler":
            raise
    else:
        loop = getattr(scheduler, "scheduler_loop", None)
        if loop is not None:
            loops["scheduler"] = loop
    return loops


async def _supervised(
    name: str,
    loop: Loop,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    stop: asyncio.Event,
) -> None:
    while not stop.is_set():
        try:
            await loop(sessionmaker, settings, stop)
        except Exception:
            log.exception("worker_loop_failed", loop=name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RESTART_PAUSE_SECONDS)
        else:
            if not stop.is_set():  # returned early: start it again after a pause
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RESTART_PAUSE_SECONDS)


async def run_worker_loops(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, stop: asyncio.Event
) -> None:
    """Run every worker loop until ``stop`` is set and they have all finished."""
    loops = worker_loops()
    log.info("worker_started", loops=sorted(loops))
    await asyncio.gather(
        *(_supervised(name, loop, sessionmaker, settings, stop) for name, loop in loops.items())
    )
    log.info("worker_stopped")


@asynccontextmanager
async def running_worker(app: FastAPI) -> AsyncIterator[None]:
    """The worker loops inside the API process, for the app's lifetime."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_worker_loops(app.state.sessionmaker, app.state.settings, stop), name="worker"
    )
    try:
        yield
    finally:
        await _stop(task, stop)


async def _stop(task: asyncio.Task[None], stop: asyncio.Event) -> None:
    stop.set()
    try:
        await asyncio.wait_for(asyncio.shield(task), SHUTDOWN_GRACE_SECONDS)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def run_worker_process(settings: Settings, database_url: str) -> None:
    """``tradematch worker``: the loops against ``database_url`` until SIGTERM, SIGINT or
    SIGHUP (run under ``signals.run``, which routes them to the stop event here)."""
    from tradematch.core.database import create_engine
    from tradematch.sessions import create_sessionmaker

    engine = create_engine(database_url, pool_size=max(2, min(settings.db_pool_size, 10)))
    stop = asyncio.Event()
    try:
        with signals.graceful_stop(stop.set):
            await run_worker_loops(create_sessionmaker(engine), settings, stop)
    finally:
        await engine.dispose()
