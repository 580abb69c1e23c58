"""A load generator's HTTP/1.1 client: keep-alive connections, one request at a time on each,
responses parsed by httptools (the parser uvicorn uses).

httpx, which the benchmarks use for setup, spends more CPU per request than the server it
measures (about 3 ms here against the server's 3), and the client shares the machine's CPUs
with the server and PostgreSQL: it would measure itself. This one writes the request in one
system call and parses the response in C, so nearly all the CPU of a run is the server's and the
database's.

    client = HttpLoad("127.0.0.1", 8000)
    status, body = await client.post(path, {"body": "hello"}, token)
    await client.close()
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httptools


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: Any = None  # uvloop's transports are not asyncio.Transport
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []
        self.closed = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("the server closed the connection"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.body = []

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((self.parser.get_status_code(), b"".join(self.body)))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


class HttpLoad:
    """Connections to one server, each used by one request at a time (as many as run at once)."""

    def __init__(self, host: str, port: int, *, max_connections: int | None = None) -> None:
        self.host, self.port = host, port
        self._idle: list[_Connection] = []
        self._all: list[_Connection] = []
        self._limit = asyncio.Semaphore(max_connections) if max_connections else None

    async def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, bytes]:
        """Send one request (waiting for a free connection at the limit); status and body."""
        if self._limit is None:
            return await self._request(method, path, body, token)
        async with self._limit:
            return await self._request(method, path, body, token)

    async def _request(
        self, method: str, path: str, body: Any, token: str | None
    ) -> tuple[int, bytes]:
        connection = await self._connection()
        content = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if token is not None:
            head.append(f"Authorization: Bearer {token}")
        if body is not None:
            head.append("Content-Type: application/json")
        head.append(f"Content-Length: {len(content)}")
        try:
            status, answer = await connection.send(
                ("\r\n".join(head) + "\r\n\r\n").encode() + content
            )
        except BaseException:
            connection.closed = True
            if connection.transport is not None:
                connection.transport.close()
            raise
        if not connection.closed:
            self._idle.append(connection)
        return status, answer

    async def post(self, path: str, body: Any, token: str) -> dict[str, Any]:
        """POST ``body`` as JSON; the JSON answer (an error status raises)."""
        status, answer = await self.request("POST", path, body, token)
        if status >= 400:
            raise RuntimeError(f"POST {path}: {status} {answer[:300]!r}")
        loaded: dict[str, Any] = json.loads(answer)
        return loaded

    async def _connection(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(_Connection, self.host, self.port)
        self._all.append(connection)
        return connection

    async def close(self) -> None:
        for connection in self._all:
            if connection.transport is not None:
                connection.transport.close()
        self._idle.clear()
        self._all.clear()
