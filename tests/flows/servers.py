"""Real server processes (``tradematch serve``: real uvicorn, real sockets) and listening
sockets for the peers a test runs in process (an SMTP server, a web push service).

No port is ever guessed: a server process binds port 0 and the port is read from its log, and
an in-process peer is handed a socket already bound, so two tests can never race for a port.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.flows.database import Database
from tests.flows.tracebacks import RECORDER

E2E_SIGNING_KEY = "e2e-signing-key-that-is-long-enough-to-be-safe"
_LISTENING = re.compile(r"Uvicorn running on http://[\d.]+:(\d+)")


class LiveServer:
    def __init__(self, base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.base_url = base_url
        self.process = process
        self.log = log

    @property
    def data_dir(self) -> Path:
        """The server's data folder (``start_server`` keeps the log in it); emails written
        with no SMTP server configured are in its ``outbox/``."""
        return self.log.parent


def listening_socket() -> socket.socket:
    """A TCP socket bound to a free port of the loopback interface, for a peer to serve on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def bound_port(log: Path) -> int | None:
    """The port uvicorn says it listens on (its log is JSON lines)."""
    for line in log.read_text(errors="replace").splitlines():
        try:
            message = str(json.loads(line).get("event", ""))
        except ValueError:
            message = line
        found = _LISTENING.search(message)
        if found:
            return int(found.group(1))
    return None


def start_server(db: Database, data_dir: Path, *extra_args: str) -> LiveServer:
    """Run ``tradematch serve`` as a real process on a port the system picks: one API process
    unless ``--workers`` says otherwise (tests/lifecycle run the default, one per CPU)."""
    env = {
        "TRADEMATCH_WORKERS": "1",
        **os.environ,
        "TRADEMATCH_DATABASE_URL": db.url,
        "TRADEMATCH_DATA_DIR": str(data_dir),
        "TRADEMATCH_JWT_SECRET": E2E_SIGNING_KEY,
        "TRADEMATCH_LOG_JSON": "true",
        # Every test registers its users from the same address.
        "TRADEMATCH_REGISTER_MAX_PER_CLIENT": "1000000",
    }
    log = data_dir / f"serve-{time.monotonic_ns()}.log"
    handle = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tradematch", "serve", "--port", "0", *extra_args],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    port = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        port = port or bound_port(log)
        if port is not None:
            base_url = f"http://127.0.0.1:{port}"
            try:
                if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                    return LiveServer(base_url, process, log)
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not become ready:\n{log.read_text()}")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
    RECORDER.server_log(server.log)  # the run holds every server log to having no traceback


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the server processes started inside the block."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def running_servers(
    db: Database, tmp_path_factory: pytest.TempPathFactory, count: int, **env: str
) -> Iterator[list[LiveServer]]:
    servers: list[LiveServer] = []
    try:
        with environment(**env):
            for _ in range(count):
                servers.append(start_server(db, tmp_path_factory.mktemp("serve"), "--no-worker"))
        yield servers
    finally:
        for server in servers:
            stop_server(server)
