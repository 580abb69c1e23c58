"""Request bodies are bounded (1 MiB by default) before anything parses them: a declared
Content-Length over the limit is refused at once, and a chunked body is cut off as soon as it
passes the limit, against a real ``tradematch serve`` process."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.flows.database import Database
from tests.flows.servers import LiveServer, running_servers

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server(module_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_servers(module_db, tmp_path_factory, 1, TRADEMATCH_MAX_BODY_BYTES=str(LIMIT)) as (
        live,
    ):
        yield live


def _registration(padding: int) -> bytes:
    return (
        b'{"email": "big@example.com", "password": "long-enough-password", "name": "'
        + b"x" * padding
        + b'", "phone": "07000000000", "postcode": "SW1A 1AA", "role": "customer"}'
    )


def _assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["code"] == "BODY_TOO_LARGE"
    assert body["max_bytes"] == LIMIT
    assert isinstance(body["error"], str)
    assert response.headers["x-request-id"]


async def test_a_declared_oversized_body_is_refused(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        response = await http.post(
            "/api/auth/register",
            content=_registration(LIMIT),
            headers={"content-type": "application/json"},
        )
    _assert_refused(response)


async def test_a_chunked_oversized_body_is_cut_off(server: LiveServer) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        # Somewhat over the limit: the server reads (and drops) the rest, so the client, which
        # sends everything before reading, gets the answer (far larger ones: the next test).
        body = _registration(LIMIT + LIMIT // 2)
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        response = await http.post(
            "/api/auth/register", content=chunks(), headers={"content-type": "application/json"}
        )
    assert "content-length" not in response.request.headers
    _assert_refused(response)


def _chunked_answer(server: LiveServer, head: bytes, *, terminated: bool) -> bytes:
    """Send ``head``, then four limits' worth of 16 KiB chunks (and the terminating chunk if
    ``terminated``); the head of what the server answers."""
    address = urlsplit(server.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(head)
        chunk = b"%x\r\n%s\r\n" % (16384, b" " * 16384)
        try:
            for _ in range((4 * LIMIT) // 16384):
                sock.sendall(chunk)
            if terminated:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed while the body was still coming
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    return answer


def test_an_endless_chunked_body_is_answered_before_it_ends(server: LiveServer) -> None:
    """The server answers 413 while the client is still sending: it never waits for the end."""
    answer = _chunked_answer(
        server,
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n",
        terminated=False,  # the body never ends, yet the answer comes
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"BODY_TOO_LARGE" in answer or b"content-length" in answer.lower()


async def test_a_body_within_the_limit_is_parsed(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        response = await http.post(
            "/api/auth/register",
            content=_registration(LIMIT // 2),
            headers={"content-type": "application/json"},
        )
    # Within the size limit, the body reaches validation (the name is too long).
    assert response.status_code == 422, response.text


def _head_only(server: LiveServer, head: bytes) -> bytes:
    """Send a request head and nothing of its body; what the server answers."""
    address = urlsplit(server.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(head)
        answer = b""
        while True:
            data = sock.recv(65536)
            if not data:
                return answer
            answer += data


def test_a_declared_size_is_refused_before_any_body_is_sent(server: LiveServer) -> None:
    answer = _head_only(
        server,
        b"POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 200000000\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code":"BODY_TOO_LARGE"' in answer.replace(b" ", b"")


def test_a_multipart_body_to_a_json_route_is_bounded_too(server: LiveServer) -> None:
    """Multipart bodies get the upload ceiling, not an unlimited pass."""
    answer = _head_only(
        server,
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: multipart/form-data; boundary=abc\r\n"
        b"Content-Length: 200000000\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code":"BODY_TOO_LARGE"' in answer.replace(b" ", b"")


def test_a_small_declared_length_beside_a_chunked_body_is_not_a_way_round(
    server: LiveServer,
) -> None:
    """A body within its declared length is not counted again: the server frames it by that
    length. A request that also says ``Transfer-Encoding: chunked`` (a smuggling shape) must
    not slip an oversized body past the limit that way: it is refused, whoever refuses it."""
    answer = _chunked_answer(
        server,
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n",
        terminated=True,
    )
    assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 413")), answer[:200]
