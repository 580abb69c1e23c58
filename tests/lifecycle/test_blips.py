"""Database blips under load against a real ``tradematch serve`` (with the dispatcher and the
scheduler in-process): the database restarted, and connections terminated. No request may get
a 500; the server, the live-update hub, the dispatcher and the scheduler recover by themselves;
every write that met a 503, retried with its key, has exactly one effect."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from tests.flows.database import Database
from tests.flows.live import LiveSocket
from tests.flows.servers import LiveServer, environment, start_server, stop_server
from tests.flows.users import Api, User, postcode_in

from .load import JOB, Load
from .support import Server, embedded_env, pgdata, scratch_dir

# The database goes away under the app in these tests: its tracebacks are the point.
pytestmark = pytest.mark.tracebacks

# Short periods and leases, so that each background loop meets the outage and must recover.
FAST_LOOPS = {
    "TRADEMATCH_SCHEDULER_LEAD_EXPIRY_SECONDS": "0.5",
    "TRADEMATCH_SCHEDULER_JOB_EXPIRY_SECONDS": "0.5",
    "TRADEMATCH_NOTIFY_LEASE_SECONDS": "3",
    "TRADEMATCH_NOTIFY_SEND_TIMEOUT_SECONDS": "2",
    "TRADEMATCH_WS_POLL_SECONDS": "0.5",
}
# `serve` runs one API process per CPU unless told: pinned, so that the count of each process's
# log lines does not depend on the machine. Each API process has its own live-update hub; the
# dispatcher and the scheduler share one background process.
API_PROCESSES = 2


# -- the embedded server, restarted -----------------------------------------------------------


@pytest.fixture
def embedded_server() -> Iterator[Server]:
    with scratch_dir() as data_dir:
        server = Server(
            data_dir,
            env=embedded_env(data_dir, TRADEMATCH_WORKERS=str(API_PROCESSES), **FAST_LOOPS),
        )
        try:
            server.wait_ready()
            yield server
        finally:
            server.signal(signal.SIGTERM)


def _postmaster_info(data_dir: Path) -> tuple[int, str]:
    lines = (pgdata(data_dir) / "postmaster.pid").read_text().splitlines()
    return int(lines[0]), lines[4]  # pid, socket directory


def _stop_postgres(data_dir: Path) -> str:
    """Fast shutdown, as ``pg_ctl stop`` does; the socket directory to start it again with."""
    pid, socket_dir = _postmaster_info(data_dir)
    postmaster = psutil.Process(pid)
    postmaster.send_signal(signal.SIGINT)
    postmaster.wait(30)
    return socket_dir


def _start_postgres(data_dir: Path, socket_dir: str) -> None:
    import pgserver

    pg_ctl = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_ctl"
    data = pgdata(data_dir)
    options = ["-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(data / "log")]
    subprocess.run(
        [pg_ctl, "-D", data, "-w", *options, "start"],
        check=True,
        capture_output=True,
        user="pgserver" if os.geteuid() == 0 else None,  # pgserver runs it so as root
    )


async def _embedded_connection(data_dir: Path) -> asyncpg.Connection:
    _, socket_dir = _postmaster_info(data_dir)
    return await asyncpg.connect(user="postgres", database="tradematch", host=socket_dir)


async def _users(http: httpx.AsyncClient) -> tuple[list[User], list[User]]:
    api = Api(http)
    customers = [await api.customer(postcode=postcode_in("SW1A", f"{i}AA")) for i in range(3)]
    vendors = [
        await api.vendor(postcode=postcode_in("SW1A", f"{i}BB"), radius=10) for i in range(2)
    ]
    return customers, vendors


def _log_lines(server_log: Path) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for line in server_log.read_text(errors="replace").splitlines()
        if line.startswith("{")
    ]


def _events(lines: list[dict[str, object]], text: str) -> list[str]:
    return [str(line["event"]) for line in lines if text in str(line.get("event", ""))]


@pytest.mark.own_embedded_server
async def test_restarting_the_database_under_load_gives_503s_then_recovers(
    embedded_server: Server,
) -> None:
    data_dir = embedded_server.log.parent
    base = embedded_server.base_url
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        customers, _ = await _users(http)
        watcher = customers[0]
        socket = await LiveSocket.open(base, watcher)
        load = Load(http, customers)
        stop = asyncio.Event()
        running = asyncio.create_task(load.run(stop))
        try:
            await asyncio.sleep(2)
            socket_dir = _stop_postgres(data_dir)
            restarted_at = asyncio.get_running_loop().time()
            await asyncio.sleep(1)
            # While it is away: not ready, and a new live-update socket is asked to come back.
            ready = await http.get("/readyz")
            assert ready.status_code == 503, ready.text
            refused = await LiveSocket.open(base, watcher, ready=False)
            try:
                assert await refused.closed_with(within=10) == 1013
            finally:
                await refused.close()
            await asyncio.sleep(2)
            _start_postgres(data_dir, socket_dir)
            await _until_ready(http, seconds=30)
            recovered_after = asyncio.get_running_loop().time() - restarted_at
            await asyncio.sleep(4)
        finally:
            stop.set()
            await running

        load.check_answers()
        statuses = load.statuses()
        assert statuses[503] > 0, statuses  # the outage was felt
        # Load was flowing before the outage (how much depends on the machine, so no figure).
        before = [a for a in load.answers if a.at < restarted_at]
        assert any(a.status in (200, 201) for a in before), statuses
        tail = [a for a in load.answers if a.at > restarted_at + recovered_after + 2]
        assert tail and all(a.status in (200, 201) for a in tail), "did not recover by itself"

        await load.retry_unconfirmed()

        # The hub kept the socket opened before the outage and resumed from its cursor.
        created = await http.post("/api/connection/jobs", json=JOB, headers=watcher.headers)
        assert created.status_code == 201, created.text
        load.created["after the outage"] = created.json()["job_id"]
        await _job_created_arrives(socket, created.json()["job_id"])
        await socket.close()

        conn = await _embedded_connection(data_dir)
        try:
            await load.check_effects(conn)
            await _all_notifications_delivered(conn)
        finally:
            await conn.close()

    lines = _log_lines(embedded_server.log)
    _no_tracebacks(embedded_server.log)
    # Each background loop, in each process that runs one: one line when the outage began, one
    # when it ended; no more.
    loops = {"live-update hub": API_PROCESSES, "notification dispatcher": 1, "scheduler": 1}
    for loop, processes in loops.items():
        assert len(_events(lines, f"{loop}: database unavailable")) == processes, loop
        back = _events(lines, f"{loop}: database available again")
        assert len(back) == processes, loop
        for line in back:
            # "... after 6.0 s (20 failed attempts)": retried with backoff, not in a tight loop.
            seconds, attempts = re.findall(r"after ([\d.]+) s \((\d+) failed", line)[0]
            assert 1 <= int(attempts) <= 4 * float(seconds) + 4, line
    assert not _events(lines, "worker_loop_failed")
    # One warning line per 503, naming the request; never a second one from the ASGI server.
    assert len(_events(lines, "database unavailable: ")) == load.statuses()[503]


def _no_tracebacks(server_log: Path) -> None:
    lines = server_log.read_text(errors="replace").splitlines()
    bad = ("Traceback", "Exception in ASGI application", "INTERNAL_ERROR")
    assert [line for line in lines if any(b in line for b in bad)] == []


async def _job_created_arrives(socket: LiveSocket, job_id: str) -> None:
    await socket.until(
        lambda m: (
            m["type"] == "event"
            and m["event"]["type"] == "JOB_CREATED"
            and m["event"]["job_id"] == job_id
        ),
        within=15,
    )


async def _until_ready(http: httpx.AsyncClient, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (await http.get("/readyz")).status_code != 200:
        assert time.monotonic() < deadline, "the server did not become ready again"
        await asyncio.sleep(0.2)


async def _all_notifications_delivered(conn: asyncpg.Connection, seconds: float = 60) -> None:
    """The dispatcher delivers what was queued before, during and after the outage."""
    deadline = time.monotonic() + seconds
    while True:
        counts = dict(
            await conn.fetch("SELECT status, count(*) FROM notifications GROUP BY status")
        )
        if set(counts) <= {"sent"} and counts:
            return
        assert time.monotonic() < deadline, counts
        await asyncio.sleep(0.5)


# -- connections terminated (runs on whichever PostgreSQL the tests use) -----------------------


@pytest.fixture
def shared_db_server(fresh_db: Database, tmp_path: Path) -> Iterator[LiveServer]:
    with environment(**FAST_LOOPS):
        server = start_server(fresh_db, tmp_path)
    try:
        yield server
    finally:
        stop_server(server)


async def test_terminated_connections_under_load_are_503s_never_500s(
    shared_db_server: LiveServer, fresh_db: Database
) -> None:
    server = shared_db_server
    base = server.base_url
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        customers, _ = await _users(http)
        socket = await LiveSocket.open(base, customers[0])
        load = Load(http, customers)
        stop = asyncio.Event()
        running = asyncio.create_task(load.run(stop))
        admin = await fresh_db.connect()
        terminated = 0
        try:
            await asyncio.sleep(1)
            for _ in range(8):  # every connection of the server, again and again
                terminated += await admin.fetchval(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))"
                    " FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"
                    " AND application_name LIKE 'tradematch%'",
                    fresh_db.name,
                )
                await asyncio.sleep(0.4)
            await asyncio.sleep(3)
        finally:
            stop.set()
            await running
        assert terminated > 8
        load.check_answers()
        await load.retry_unconfirmed()

        created = await http.post("/api/connection/jobs", json=JOB, headers=customers[0].headers)
        assert created.status_code == 201, created.text
        load.created["after the terminations"] = created.json()["job_id"]
        await _job_created_arrives(socket, created.json()["job_id"])
        await socket.close()
        try:
            await load.check_effects(admin)
            await _all_notifications_delivered(admin)
        finally:
            await admin.close()
    _no_tracebacks(server.log)
