"""The embedded PostgreSQL stops with the last process that uses it, whichever way that process
ends, and a server orphaned by killed processes is recovered by the next start.

Real processes on a real embedded server (one data directory for the module, so the cluster is
initialised once); each test starts from no server running and must leave none behind.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .support import (
    Command,
    Server,
    embedded_env,
    handle_list,
    kill_postmasters,
    pgdata,
    postmasters,
    run,
    scratch_dir,
)

pytestmark = pytest.mark.own_embedded_server


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    with scratch_dir() as path:
        yield path


@pytest.fixture(autouse=True)
def nothing_running_before_or_after(data_dir: Path) -> Iterator[None]:
    assert postmasters(data_dir) == [], "a previous test left PostgreSQL running"
    yield
    leftover = postmasters(data_dir)
    kill_postmasters(data_dir)
    assert leftover == [], "PostgreSQL was left running"


def no_traceback(command: Command) -> None:
    assert "Traceback" not in command.output(), command.output()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=str)
def test_a_stop_signal_stops_serve_and_its_postgres(data_dir: Path, sig: int) -> None:
    server = Server(data_dir)
    server.wait_ready()
    [postmaster] = postmasters(data_dir)
    assert handle_list(data_dir) == [server.pid]

    assert server.signal(sig) == 0, server.output()

    assert postmasters(data_dir) == []
    assert not postmaster.is_running()
    assert not (pgdata(data_dir) / "postmaster.pid").exists()
    assert handle_list(data_dir) == []
    assert "embedded PostgreSQL in" in server.output() and "stopped" in server.output()
    no_traceback(server)


def test_a_killed_user_does_not_keep_postgres_alive(data_dir: Path) -> None:
    """The stale pid a killed worker leaves in the handle list no longer stops the survivor
    from being the last one out."""
    server = Server(data_dir)
    server.wait_ready()
    worker = Command(data_dir, "worker")
    worker.wait_for("worker_started")
    assert sorted(handle_list(data_dir)) == sorted([server.pid, worker.pid])

    assert worker.signal(signal.SIGKILL) == -signal.SIGKILL
    assert len(postmasters(data_dir)) == 1
    assert server.signal(signal.SIGTERM) == 0, server.output()

    assert postmasters(data_dir) == []
    assert handle_list(data_dir) == []
    assert f"forgetting users that no longer run: [{worker.pid}]" in server.output()


def test_postgres_orphaned_by_killed_processes_is_recovered_by_the_next_start(
    data_dir: Path,
) -> None:
    server = Server(data_dir)
    server.wait_ready()
    worker = Command(data_dir, "worker")
    worker.wait_for("worker_started")
    assert server.signal(signal.SIGKILL) == -signal.SIGKILL
    assert worker.signal(signal.SIGKILL) == -signal.SIGKILL
    [orphan] = postmasters(data_dir)  # nobody left to stop it
    assert sorted(handle_list(data_dir)) == sorted([server.pid, worker.pid])

    again = Server(data_dir)
    again.wait_ready()
    assert "outlived every process that used it: stopping it" in again.output()
    assert not orphan.is_running()
    [fresh] = postmasters(data_dir)
    assert handle_list(data_dir) == [again.pid]
    worker = Command(data_dir, "worker")
    worker.wait_for("worker_started")
    assert sorted(handle_list(data_dir)) == sorted([again.pid, worker.pid])

    # The worker leaves first: the server still uses PostgreSQL, so it keeps running.
    assert worker.signal(signal.SIGTERM) == 0, worker.output()
    assert postmasters(data_dir) == [fresh]
    assert httpx.get(f"{again.base_url}/readyz", timeout=5).status_code == 200
    assert again.signal(signal.SIGTERM) == 0, again.output()
    assert postmasters(data_dir) == []
    assert handle_list(data_dir) == []
    no_traceback(again)


@pytest.mark.parametrize(
    "args",
    [
        ("db", "upgrade"),
        ("events", "verify"),
        ("events", "replay", "--since", "0"),
        (
            "admin",
            "create",
            "--email",
            "ops-lifecycle@example.com",
            "--name",
            "Ops",
            "--phone",
            "07700900001",
            "--postcode",
            "SW1A 1AA",
            "--password",
            "a-long-enough-password",
        ),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_a_one_shot_command_stops_the_server_it_started(
    data_dir: Path, args: tuple[str, ...]
) -> None:
    command = run(data_dir, *args)
    assert command.process.returncode == 0, command.output()
    assert postmasters(data_dir) == []
    assert handle_list(data_dir) == []
    no_traceback(command)


def test_a_one_shot_command_leaves_a_server_in_use_running(data_dir: Path) -> None:
    server = Server(data_dir)
    server.wait_ready()
    [postmaster] = postmasters(data_dir)

    command = run(data_dir, "events", "verify")

    assert command.process.returncode == 0, command.output()
    assert postmasters(data_dir) == [postmaster]
    assert handle_list(data_dir) == [server.pid]
    assert httpx.get(f"{server.base_url}/readyz", timeout=5).status_code == 200
    assert server.signal(signal.SIGTERM) == 0
    assert postmasters(data_dir) == []


def test_a_failed_start_stops_postgres(data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = run(data_dir, "serve", "--port", str(port), "--no-worker")
    assert command.process.returncode != 0
    assert "address already in use" in command.output().lower()
    assert postmasters(data_dir) == []


def test_a_stop_signal_during_start_up_stops_postgres(data_dir: Path) -> None:
    server = Server(data_dir)
    server.wait_for("embedded PostgreSQL ready")  # started; migrations and the app still to go
    code = server.signal(signal.SIGTERM)
    assert code in (0, 128 + signal.SIGTERM), server.output()
    assert postmasters(data_dir) == []
    assert handle_list(data_dir) == []


def test_damaged_bookkeeping_is_recovered(data_dir: Path) -> None:
    """A handle list torn by a kill during its write, and a lock file naming a live process
    that is not PostgreSQL (its pid reused), do not stop the next start."""
    (pgdata(data_dir) / ".handle_pids.json").write_text("[12, 3")
    sleeper = subprocess.Popen(["sleep", "60"])  # a live process that is not PostgreSQL
    try:
        lock_file = pgdata(data_dir) / "postmaster.pid"
        lock_file.write_text(f"{sleeper.pid}\n{pgdata(data_dir)}\n{int(time.time())}\n5432\n")
        command = run(data_dir, "db", "upgrade")
    finally:
        sleeper.kill()
        sleeper.wait()
    assert command.process.returncode == 0, command.output()
    assert postmasters(data_dir) == []
    assert handle_list(data_dir) == []


def test_demo_leaves_nothing_behind(tmp_path: Path) -> None:
    """``tradematch demo`` runs a server of its own on a throw-away embedded database."""
    # A short temporary directory (the system's): Unix socket paths are limited to 108 bytes.
    scratch = Path(tempfile.mkdtemp(prefix="tm-demo-"))
    try:
        command = run(tmp_path, "demo", env=embedded_env(tmp_path, TMPDIR=str(scratch)))
        assert command.process.returncode == 0, command.output()
        assert "## 9. " in command.output()
        assert postmasters(scratch) == []
        assert not [p for p in scratch.iterdir() if p.name.startswith("tradematch-demo-")]
    finally:
        kill_postmasters(scratch)
        shutil.rmtree(scratch, ignore_errors=True)
