"""Two API processes (``tradematch serve --workers 2``) behind nginx, configured with the
proxy part of deploy/nginx.conf: a message POSTed through one process reaches a live-update
socket held by the other, both through the proxy (WebSocket upgrade included).

nginx runs as the test's own process (``master_process off``, no root configuration: pid file,
logs and temporary files in the test's directory, an unprivileged port).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.flows.database import Database
from tests.flows.deals import post_message
from tests.flows.live import LiveSocket
from tests.flows.servers import LiveServer, start_server, stop_server
from tests.flows.users import Api, User, marketplace
from tradematch.serving import PROCESS_HEADER

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

# CI installs nginx (.ci/run) and must not skip this; elsewhere a missing nginx skips it.
pytestmark = pytest.mark.skipif(
    NGINX is None and not os.environ.get("CI"),
    reason="nginx is not installed (apt-get install nginx)",
)


def site_config(api_port: int, port: int) -> str:
    """deploy/nginx.conf without TLS and the port-80 redirect, on the given ports."""
    text = SHIPPED.read_text()
    text = re.sub(r"server \{\n    listen 80;.*?\n\}\n", "", text, flags=re.S)
    kept = [line for line in text.splitlines() if not re.search(r"\bssl\b|ssl_|\[::\]", line)]
    text = "\n".join(kept).replace("127.0.0.1:8000", f"127.0.0.1:{api_port}")
    return text.replace(
        "server_name tradematch.example.com;",
        f"server_name tradematch.example.com;\n    listen 127.0.0.1:{port};",
    )


def main_config(home: Path) -> str:
    temp = "\n".join(
        f"    {kind}_temp_path {home / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
master_process off;
pid {home / "nginx.pid"};
error_log {home / "error.log"} info;
events {{ worker_connections 256; }}
http {{
    access_log {home / "access.log"};
{temp}
    include {home / "tradematch.conf"};
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def workers(module_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(
        module_db, tmp_path_factory.mktemp("serve"), "--workers", "2", "--no-worker"
    )
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def proxy(workers: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert NGINX is not None
    home = tmp_path_factory.mktemp("nginx")
    api_port = int(workers.base_url.rsplit(":", 1)[1])
    for _attempt in range(3):  # the port is chosen before nginx binds it: retry a lost race
        port = free_port()
        (home / "tradematch.conf").write_text(site_config(api_port, port))
        (home / "nginx.conf").write_text(main_config(home))
        process = subprocess.Popen(
            [NGINX, "-p", str(home), "-c", str(home / "nginx.conf"), "-e", str(home / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        if process.poll() is None:
            break
    else:
        raise AssertionError((home / "error.log").read_text())
    try:
        yield base_url
    finally:
        process.terminate()
        process.wait(10)


async def test_a_message_through_one_process_reaches_a_socket_on_the_other(proxy: str) -> None:
    async with httpx.AsyncClient(base_url=proxy, timeout=30) as http:
        api = Api(http)
        world = await marketplace(api, vendors=1)
        [vendor] = world.vendors
        conversation_id = (await api.accept(vendor, world.leads[vendor.user_id]))["conversation_id"]
        # The customer's sockets, through the proxy, until each API process holds one.
        by_process: dict[int, LiveSocket] = {}
        extra: list[LiveSocket] = []
        for _ in range(60):
            live = await LiveSocket.open(proxy, world.customer)
            assert live.ws.response is not None
            holder = int(live.ws.response.headers[PROCESS_HEADER])
            if holder in by_process:
                extra.append(live)
            else:
                by_process[holder] = live
            if len(by_process) == 2:
                break
        assert len(by_process) == 2, "every socket landed on one process"
        for live in extra:
            await live.close()

        response = await post_message(api, vendor, conversation_id, "Through the proxy")
        assert response.status_code == 201, response.text
        poster = int(response.headers[PROCESS_HEADER])
        assert poster in by_process  # one of the two, so the other socket is elsewhere
        message_id = response.json()["message_id"]
        for live in by_process.values():
            await live.until_event("MESSAGE_SENT", message_id=message_id)
        for live in by_process.values():
            await live.close()


async def _sockets_until_one_process_holds(
    proxy: str, user: User, count: int
) -> dict[int, list[LiveSocket]]:
    """The user's sockets by the process holding them, opened until one process has ``count``
    of them while the other holds at least one (tried afresh when the kernel gave the first
    ``count`` all to one process)."""
    for _attempt in range(5):
        by_process: dict[int, list[LiveSocket]] = {}
        while all(len(held) < count for held in by_process.values()):
            live = await LiveSocket.open(proxy, user)
            assert live.ws.response is not None
            by_process.setdefault(int(live.ws.response.headers[PROCESS_HEADER]), []).append(live)
        if len(by_process) == 2:
            return by_process
        for live in [live for held in by_process.values() for live in held]:
            await live.close()
    raise AssertionError("every socket landed on one process")


async def test_the_socket_cap_is_per_process(proxy: str) -> None:
    """A user may hold ``TRADEMATCH_WS_MAX_SOCKETS_PER_USER`` (10) sockets on each process: the
    eleventh on one process closes that process's oldest, and the other process's stay open."""
    async with httpx.AsyncClient(base_url=proxy, timeout=30) as http:
        user = await Api(http).customer()
        by_process = await _sockets_until_one_process_holds(proxy, user, 11)
        try:
            [full] = [p for p, held in by_process.items() if len(held) == 11]
            [other] = [p for p in by_process if p != full]
            assert await by_process[full][0].closed_with() == 4001
            for live in [*by_process[full][1:], *by_process[other]]:
                await asyncio.wait_for(await live.ws.ping(), 10)
                assert live.ws.close_code is None
            # More than ten open at once for the one user: the cap does not span processes.
            assert len(by_process[full]) - 1 + len(by_process[other]) > 10
        finally:
            for held in by_process.values():
                for live in held:
                    await live.close()
