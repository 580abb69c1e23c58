"""Connections are bounded, over real sockets against a ``tradematch serve`` process: a request
head that does not complete in time (sent partly, trickled, or never sent) gets its connection
closed; a body that stops arriving is answered 408 and closed, one that keeps coming is read;
an oversized head is refused; a user's live-update sockets are capped, the oldest closed with
4001 when another opens."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.flows.database import Database
from tests.flows.live import LiveSocket
from tests.flows.servers import LiveServer, running_servers
from tests.flows.users import Api

HEAD_TIMEOUT = 1.0
BODY_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def server(module_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_servers(
        module_db,
        tmp_path_factory,
        1,
        TRADEMATCH_HTTP_HEADER_TIMEOUT_SECONDS=str(HEAD_TIMEOUT),
        TRADEMATCH_HTTP_MAX_HEADER_BYTES="16384",
        TRADEMATCH_HTTP_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
    ) as (live,):
        yield live


def _connect(server: LiveServer) -> socket.socket:
    address = urlsplit(server.base_url)
    assert address.hostname and address.port
    return socket.create_connection((address.hostname, address.port), timeout=15)


def _closed_after(sock: socket.socket) -> tuple[float, bytes]:
    """Seconds until the server closed the connection, and what it sent before."""
    started = time.monotonic()
    received = b""
    try:
        while data := sock.recv(65536):
            received += data
    except ConnectionResetError:
        pass
    return time.monotonic() - started, received


def test_a_half_sent_request_is_closed_within_the_timeout(server: LiveServer) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        waited, received = _closed_after(sock)
    assert waited < HEAD_TIMEOUT + 3
    assert received == b""


def test_a_connection_that_sends_nothing_is_closed(server: LiveServer) -> None:
    with _connect(server) as sock:
        waited, _ = _closed_after(sock)
    assert waited < HEAD_TIMEOUT + 3


def test_a_trickled_head_does_not_keep_the_connection(server: LiveServer) -> None:
    """Each byte would reset a keep-alive timer; the head deadline is absolute."""
    started = time.monotonic()
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(100):
                sock.sendall(b"X")
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass
        _closed_after(sock)
    assert time.monotonic() - started < HEAD_TIMEOUT + 4


def test_the_second_request_on_a_connection_has_a_deadline_too(server: LiveServer) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        waited, _ = _closed_after(sock)
    assert waited < HEAD_TIMEOUT + 3


def test_a_complete_head_with_a_slow_body_is_not_cut(server: LiveServer) -> None:
    """The deadline covers the head only: a body arriving later is still read and answered."""
    with _connect(server) as sock:
        body = b'{"email": "nobody@example.com", "password": "wrong-password"}'
        sock.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        time.sleep(HEAD_TIMEOUT + 0.5)
        sock.sendall(body)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


LOGIN_HEAD = (
    b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\n\r\n"
)
WRONG_LOGIN = b'{"email": "nobody@example.com", "password": "wrong-password"}'


def test_a_body_that_stops_arriving_is_answered_408_and_closed(server: LiveServer) -> None:
    with _connect(server) as sock:
        sock.sendall(LOGIN_HEAD % 1000 + WRONG_LOGIN[:10])
        waited, received = _closed_after(sock)
    assert received.startswith(b"HTTP/1.1 408"), received[:200]
    assert b'"code":"REQUEST_TIMEOUT"' in received
    assert BODY_TIMEOUT - 0.5 < waited < BODY_TIMEOUT + 3


def test_a_body_that_keeps_coming_is_read_however_long_it_takes(server: LiveServer) -> None:
    """The body deadline is the silence between pieces, not the whole body's time."""
    started = time.monotonic()
    with _connect(server) as sock:
        sock.sendall(LOGIN_HEAD % len(WRONG_LOGIN))
        for piece in (WRONG_LOGIN[i : i + 6] for i in range(0, len(WRONG_LOGIN), 6)):
            time.sleep(BODY_TIMEOUT / 4)
            sock.sendall(piece)
        answer = sock.recv(65536)
    assert time.monotonic() - started > 2 * BODY_TIMEOUT  # longer than one deadline in all
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


async def test_a_live_socket_outlives_the_body_deadline(server: LiveServer) -> None:
    """A WebSocket's handshake has no body: no body deadline closes the connection it turns
    into."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        user = await Api(http).customer()
        live = await LiveSocket.open(server.base_url, user)
        try:
            await asyncio.sleep(BODY_TIMEOUT + 1)
            await asyncio.wait_for(await live.ws.ping(), 10)
            assert live.ws.close_code is None
        finally:
            await live.close()


def test_an_oversized_head_is_refused(server: LiveServer) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(40):
                sock.sendall(b"X-Filler: " + b"y" * 1000 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        waited, received = _closed_after(sock)
    assert received.startswith(b"HTTP/1.1 431"), received[:200]
    assert waited < HEAD_TIMEOUT


async def test_the_eleventh_socket_of_a_user_closes_the_oldest(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        user = await Api(http).customer()
        other = await Api(http).customer()
        sockets = [await LiveSocket.open(server.base_url, user) for _ in range(10)]
        theirs = await LiveSocket.open(server.base_url, other)
        eleventh = await LiveSocket.open(server.base_url, user)
        try:
            with pytest.raises(ConnectionClosed) as closed:
                await sockets[0].until(lambda _: False, within=10)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4001
            assert "oldest" in closed.value.rcvd.reason
            # The other nine, the new one and another user's socket stay open.
            for live in [*sockets[1:], eleventh, theirs]:
                await asyncio.wait_for(await live.ws.ping(), 10)
                assert live.ws.close_code is None
        finally:
            for live in [*sockets, eleventh, theirs]:
                await live.close()
