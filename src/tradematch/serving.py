"""``tradematch serve`` with several API processes (``--workers N``, default: one per CPU).

The parent process applies the migrations, starts (or joins) the embedded PostgreSQL, binds the
listening socket once and hands it to N API processes (uvicorn's supervisor, spawned, so each
starts from a clean interpreter); the kernel spreads the connections among them. The
notification dispatcher and the scheduler run in exactly one more process of the parent's own
(unless ``--no-worker``), never in the API processes. The parent restarts any of them that
dies, and on SIGTERM, SIGINT or SIGHUP stops them all, API processes first, before it lets go of
the embedded PostgreSQL (which it alone registered: its children only connect to it).

Every child is told to stop (SIGTERM) when the parent dies, however it dies, so a killed parent
leaves no API process behind holding connections to an orphaned database.

With one worker nothing of this runs: one process serves the API and, unless ``--no-worker``,
runs the dispatcher and scheduler in-process (the previous default).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from multiprocessing.context import SpawnProcess
from socket import socket
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors.multiprocess import Multiprocess

from tradematch.core import metrics
from tradematch.core.config import Settings, get_settings
from tradematch.core.logging import configure_logging

log = structlog.get_logger("tradematch.serve")

APP_FACTORY = "tradematch.serving:worker_app"
PROCESS_HEADER = "x-tradematch-process"
STARTUP_FAILURE = 3  # uvicorn's exit status when the application cannot start
BACKGROUND_RESTART_PAUSE_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1
_spawn = multiprocessing.get_context("spawn")


def worker_count(option: int | None, settings: Settings) -> int:
    """``--workers``, else ``TRADEMATCH_WORKERS``, else the number of CPUs."""
    return option or settings.workers or os.cpu_count() or 1


def run(config: uvicorn.Config, *, database_url: str, background: bool) -> None:
    """Serve ``config`` (its ``workers`` API processes) until a stop signal; with ``background``
    also run the dispatcher and scheduler in one process of their own."""
    if config.workers <= 1:
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            sys.exit(STARTUP_FAILURE)
        return
    # The children read their configuration from the environment: point them at the database
    # the parent prepared (the embedded one included), so none of them starts a server.
    os.environ["TRADEMATCH_DATABASE_URL"] = database_url
    sock = config.bind_socket()
    supervisor = Supervisor(config, [sock], background=background)
    try:
        supervisor.run()
    finally:
        sock.close()


class Supervisor(Multiprocess):
    """uvicorn's supervisor of the API processes, with the background process beside them and
    SIGHUP stopping everything (as it does with one process) instead of restarting."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket], *, background: bool) -> None:
        super().__init__(config, sockets)
        self._background_wanted = background
        self.background: SpawnProcess | None = None
        self._background_started = 0.0

    def init_processes(self) -> None:
        if self._background_wanted:
            self._start_background()
        super().init_processes()

    def _start_background(self) -> None:
        self.background = _spawn.Process(
            target=_background_main, name="tradematch-worker", daemon=False
        )
        self.background.start()
        self._background_started = time.monotonic()
        log.info("background_worker_started", pid=self.background.pid)

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        if self.should_exit.is_set() or self.background is None:
            return
        if self.background.is_alive():
            return
        # One that fails at start (a bad setting, say) is restarted at most every few seconds.
        if time.monotonic() - self._background_started >= BACKGROUND_RESTART_PAUSE_SECONDS:
            log.error(
                "background_worker_died", pid=self.background.pid, code=self.background.exitcode
            )
            self._start_background()

    def handle_hup(self) -> None:
        log.info("stopping on SIGHUP")
        self.should_exit.set()

    def run(self) -> None:
        try:
            super().run()
        finally:
            self._stop_background()

    def _stop_background(self) -> None:
        from tradematch.worker.runner import SHUTDOWN_GRACE_SECONDS

        process = self.background
        if process is None or process.pid is None:
            return
        if process.exitcode is None:
            os.kill(process.pid, signal.SIGTERM)
        process.join(SHUTDOWN_GRACE_SECONDS + 5)
        if process.exitcode is None:
            log.warning("background_worker_killed", pid=process.pid)
            process.kill()
            process.join()


# -- in the children ---------------------------------------------------------------------------


def worker_app() -> FastAPI:
    """The application of one API process (uvicorn calls this factory in each child)."""
    from tradematch.app import create_app
    from tradematch.core import signals

    settings = _child_setup()
    signals.hang_up_as_terminate()  # uvicorn stops gracefully on SIGTERM and SIGINT only
    application = create_app(settings, run_worker=False)
    application.add_middleware(ProcessHeader)
    settle_heap(settings)
    return application


def settle_heap(settings: Settings) -> None:
    """Called once the application is built, before serving. What exists now (modules, routes,
    the migration machinery) lives as long as the process: freezing it keeps it out of the
    collector's full passes, which otherwise stall every request in flight for 100-200 ms now and
    then (docs/PERFORMANCE.md). Then the collector's thresholds are set for a request server
    (``TRADEMATCH_GC_THRESHOLDS``), and its passes are timed for /metrics.

    Python examines its youngest generation each time 700 more objects have been made than
    freed. A request makes a few hundred that live until it ends, and 16 requests in flight keep
    thousands alive, so most passes find live objects and move them on to the older
    generations, which fill and are examined in turn. Sending messages under the write-path
    benchmark, that was about 5 % of an API process's CPU; with 10,000, 20, 20 it is about 1.3 %
    (docs/PERFORMANCE.md).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*settings.gc_thresholds)
    metrics.time_gc_passes()  # tradematch_gc_pause_seconds


def _background_main() -> None:
    """The dispatcher and scheduler process (``tradematch worker`` without its migrations)."""
    from tradematch.core import signals
    from tradematch.core.database import to_async_url
    from tradematch.worker.runner import run_worker_process

    settings = _child_setup()
    assert settings.database_url is not None  # set by run() before any child starts
    signals.run(run_worker_process(settings, to_async_url(settings.database_url)))


def _child_setup() -> Settings:
    _stop_with_parent()
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return settings


def _stop_with_parent() -> None:
    """Ask the kernel for SIGTERM when the parent dies (Linux); if it already has, stop now."""
    parent = multiprocessing.parent_process()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if parent is not None and os.getppid() != parent.pid:
        sys.exit(0)


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class ProcessHeader:
    """Names the API process that answered (its pid) in a response header, the WebSocket
    handshake's included: behind one port, which of the processes served a request."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app
        self.header = (PROCESS_HEADER.encode(), str(os.getpid()).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: MutableMapping[str, Any]) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message["headers"] = [*message.get("headers", ()), self.header]
            await send(message)

        await self.app(scope, receive, send_with_header)
