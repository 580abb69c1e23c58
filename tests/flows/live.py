"""A live-update socket client for tests (the ``websockets`` library against a real server),
the user's whole feed over HTTP, and the server's metrics."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.flows.users import User

Message = dict[str, Any]


def ws_url(base_url: str, **query: Any) -> str:
    url = base_url.replace("http://", "ws://", 1) + "/api/connection/ws"
    return f"{url}?{urlencode(query)}" if query else url


class LiveSocket:
    """One client socket; ``received`` keeps every message, in arrival order, with its time."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: list[tuple[float, Message]] = []

    @classmethod
    async def open(
        cls,
        base_url: str,
        user: User | None = None,
        *,
        via_query: bool = False,
        token: str | None = None,
        ready: bool = True,
        sock: socket.socket | None = None,
        max_queue: int | None = 64,
        compress: bool = True,
        **query: Any,
    ) -> LiveSocket:
        token = token if token is not None else (user.token if user else None)
        headers = {}
        if token is not None:
            if via_query:
                query["token"] = token
            else:
                headers["Authorization"] = f"Bearer {token}"
        ws = await connect(
            ws_url(base_url, **query),
            additional_headers=headers,
            sock=sock,
            max_queue=max_queue,
            compression="deflate" if compress else None,
            open_timeout=10,
        )
        live = cls(ws)
        if ready:
            greeting = await live.next()
            assert greeting["type"] == "ready", greeting
        return live

    async def next(self, within: float = 10) -> Message:
        raw = await asyncio.wait_for(self.ws.recv(), within)
        message: Message = json.loads(raw)
        self.received.append((time.monotonic(), message))
        return message

    async def until(self, predicate: Callable[[Message], bool], within: float = 10) -> Message:
        """Read until a message satisfies ``predicate``; return it."""
        deadline = time.monotonic() + within
        while True:
            message = await self.next(max(0.01, deadline - time.monotonic()))
            if predicate(message):
                return message

    async def until_event(self, event_type: str, within: float = 10, **payload: Any) -> Message:
        """Read until an event of ``event_type`` whose payload has ``payload``'s values."""
        return await self.until(lambda m: is_event(m, event_type, **payload), within)

    async def quiet(self, seconds: float) -> list[Message]:
        """Everything that arrives within ``seconds`` (heartbeats excluded)."""
        got: list[Message] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = await self.next(left)
            except TimeoutError:
                break
            if message["type"] != "heartbeat":
                got.append(message)
        return got

    async def send(self, message: Message) -> None:
        await self.ws.send(json.dumps(message))

    async def closed_with(self, within: float = 10) -> int | None:
        """Read until the server closes the socket; the close code it sent."""
        deadline = time.monotonic() + within
        try:
            while True:
                await self.next(max(0.01, deadline - time.monotonic()))
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    @property
    def events(self) -> list[Message]:
        return [m for _, m in self.received if m["type"] == "event"]

    @property
    def seqs(self) -> list[int]:
        return [m["seq"] for m in self.events]

    async def close(self) -> None:
        await self.ws.close()


def is_event(message: Message, event_type: str, **payload: Any) -> bool:
    return (
        message["type"] == "event"
        and message["event"]["type"] == event_type
        and all(message["event"]["payload"].get(k) == v for k, v in payload.items())
    )


def small_receive_buffer(base_url: str, size: int = 4096) -> socket.socket:
    """A connected TCP socket with a tiny receive buffer, so a client that stops reading makes
    the server's writes back up quickly (the kernel would otherwise buffer megabytes)."""
    parts = urlsplit(base_url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    sock.connect((parts.hostname, parts.port))
    sock.setblocking(False)
    return sock


async def feed(http: httpx.AsyncClient, user: User) -> list[Message]:
    """The user's whole event feed (``GET /events``), as the API serves it."""
    items: list[Message] = []
    after = 0
    while True:
        response = await http.get(
            "/api/connection/events", params={"after": after, "limit": 100}, headers=user.headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        if not page["items"]:
            return items
        after = page["next_after"]


async def metric(http: httpx.AsyncClient, name: str) -> float:
    """A sample's value from the server's /metrics (0 if absent)."""
    text = (await http.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
