"""``tradematch serve`` with several API processes (``--workers N``, default: one per CPU).

The parent process applies the migrations, starts (or joins) the embedded PostgreSQL, binds one
listening socket per API process, all on the same port with ``SO_REUSEPORT`` (Linux), and hands
each of N API processes its own (uvicorn's supervisor, spawned, so each starts from a clean
interpreter): the kernel shares new connections out among the sockets by a hash of each
connection's addresses. With one socket shared by all, a burst of connections went to
whichever process woke first — 16 opened together landed 16/0/0 on three processes — and
connections that stay open (a proxy's keep-alive pool, every live-update socket reconnecting
after a deploy) kept that imbalance for their lifetime. The parent keeps the sockets, so the
connections queued on a process's socket while it is replaced wait for its replacement
(docs/operations.md, "How connections are shared out"). Where ``SO_REUSEPORT`` is missing
the processes share one socket as before. The
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
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from multiprocessing.context import SpawnProcess
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors.multiprocess import Multiprocess, Process

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
    sockets = bind_sockets(config)
    supervisor = Supervisor(config, sockets, background=background)
    try:
        supervisor.run()
    finally:
        for sock in sockets:
            sock.close()


def bind_sockets(config: uvicorn.Config) -> list[socket.socket]:
    """One listening socket per API process, all bound to ``config``'s address with
    ``SO_REUSEPORT`` (the kernel balances new connections across them); one shared socket
    where that is not available (see the module's doc)."""
    if (
        config.workers <= 1
        or config.uds is not None
        or config.fd is not None
        or not sys.platform.startswith("linux")
        or not hasattr(socket, "SO_REUSEPORT")
    ):
        return [config.bind_socket()]
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sockets: list[socket.socket] = []
    port = config.port
    try:
        for _ in range(config.workers):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((config.host, port))
            port = sock.getsockname()[1]  # with port 0, the others join the first one's
            sock.set_inheritable(True)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        logging.getLogger("uvicorn.error").error(exc)
        sys.exit(STARTUP_FAILURE)
    url = (
        f"http://[{config.host}]:{port}"
        if family == socket.AF_INET6
        else f"http://{config.host}:{port}"
    )
    # uvicorn's own words, which scripts (and the benchmarks) read the port from.
    logging.getLogger("uvicorn.error").info("Uvicorn running on %s (Press CTRL+C to quit)", url)
    return sockets


class Supervisor(Multiprocess):
    """uvicorn's supervisor of the API processes, with the background process beside them,
    each API process on a listening socket of its own (``bind_sockets``), and SIGHUP stopping
    everything (as it does with one process) instead of restarting. The number of processes
    is fixed by ``--workers`` (uvicorn's SIGTTIN and SIGTTOU are ignored)."""

    def __init__(
        self, config: uvicorn.Config, sockets: list[socket.socket], *, background: bool
    ) -> None:
        super().__init__(config, sockets)
        self._background_wanted = background
        self.background: SpawnProcess | None = None
        self._background_started = 0.0

    def _process(self, slot: int) -> Process:
        """A new API process for ``slot``, on that slot's socket (or the one shared socket)."""
        sockets = [self.sockets[slot]] if len(self.sockets) > 1 else self.sockets
        process = Process(self.config, sockets)
        process.start()
        return process

    def init_processes(self) -> None:
        if self._background_wanted:
            self._start_background()
        self.processes = [self._process(slot) for slot in range(self.processes_num)]

    def _start_background(self) -> None:
        self.background = _spawn.Process(
            target=_background_main, name="tradematch-worker", daemon=False
        )
        self.background.start()
        self._background_started = time.monotonic()
        log.info("background_worker_started", pid=self.background.pid)

    def keep_subprocess_alive(self) -> None:
        """uvicorn's, with a replacement started on the socket of the process it replaces."""
        for slot, process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # hung, or already gone
            process.join()
            if process.exitcode == STARTUP_FAILURE:  # it would fail the same way again
                log.error("api_process_failed_to_start", pid=process.pid)
                self.should_exit.set()
                return
            log.warning("api_process_died", pid=process.pid, code=process.exitcode)
            self.processes[slot] = self._process(slot)
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

    def handle_ttin(self) -> None:
        log.info("ignoring SIGTTIN: the number of API processes is set by --workers")

    def handle_ttou(self) -> None:
        log.info("ignoring SIGTTOU: the number of API processes is set by --workers")

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
