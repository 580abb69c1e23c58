"""Real peers for the notification tests, in process, on sockets already bound: an SMTP server
(aiosmtpd) whose behaviour a test chooses, and a web push service (a small aiohttp server)."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.flows.servers import listening_socket

# SMTP ----------------------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class SmtpPeer:
    """What an SMTP server does with each delivery: ``refuse_data(message_id, attempt)``
    answers a temporary failure at DATA; ``refused_recipients`` are refused at RCPT, every
    time; ``data_delay`` holds each delivery that long before answering."""

    refuse_data: Callable[[str, int], bool] | None = None
    refused_recipients: set[str] = field(default_factory=set)
    data_delay: float = 0.0
    accepted: list[Received] = field(default_factory=list)
    refusals: int = 0
    rcpt_refusals: int = 0
    data_started: list[str] = field(default_factory=list)
    _attempts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.lower() in {a.lower() for a in self.refused_recipients}:
            with self._lock:
                self.rcpt_refusals += 1
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        message_id = str(message["Message-ID"])
        with self._lock:
            self.data_started.append(message_id)
            self._attempts[message_id] += 1
            attempt = self._attempts[message_id]
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.refuse_data is not None and self.refuse_data(message_id, attempt):
            with self._lock:
                self.refusals += 1
            return "451 4.3.0 Temporarily unable to accept, try again"
        with self._lock:
            self.accepted.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def accepted_ids(self) -> Counter[str]:
        with self._lock:
            return Counter(r.message_id for r in self.accepted)


class _BoundController(Controller):
    """aiosmtpd's threaded controller serving on a socket bound beforehand (``_create_server``
    is the extension point aiosmtpd documents for where the server listens)."""

    def __init__(self, handler: Any, sock: socket.socket) -> None:
        self._sock = sock
        super().__init__(handler, hostname="127.0.0.1", port=sock.getsockname()[1])

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


@asynccontextmanager
async def smtp_server(peer: SmtpPeer) -> AsyncIterator[int]:
    """An aiosmtpd server on loopback (in a thread of its own); yields its port."""
    sock = listening_socket()
    controller = _BoundController(peer, sock)
    await asyncio.to_thread(controller.start)
    try:
        yield int(sock.getsockname()[1])
    finally:
        await asyncio.to_thread(controller.stop)


# Web push ------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Subscriber:
    """A browser's side of a push subscription: its key pair and auth secret."""

    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def keys(self) -> dict[str, str]:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"p256dh": b64url(public), "auth": b64url(self.auth)}

    def decrypt(self, body: bytes) -> bytes:
        import http_ece

        plain: bytes = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        return plain


@dataclass
class PushRequest:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class PushService:
    """Answers 201 on ``/ok/…`` and 410 Gone on ``/gone/…``, recording every request."""

    requests: list[PushRequest] = field(default_factory=list)
    base_url: str = ""


@asynccontextmanager
async def push_service() -> AsyncIterator[PushService]:
    service = PushService()

    async def receive(request: web.Request) -> web.Response:
        service.requests.append(
            PushRequest(
                request.path,
                {k.lower(): v for k, v in request.headers.items()},
                await request.read(),
            )
        )
        return web.Response(status=201 if request.path.startswith("/ok/") else 410)

    app = web.Application()
    app.router.add_post("/{kind}/{name}", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = listening_socket()
    await web.SockSite(runner, sock).start()
    service.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        yield service
    finally:
        await runner.cleanup()
