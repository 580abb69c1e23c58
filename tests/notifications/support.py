"""Real peers for the notification tests: an SMTP server (aiosmtpd on loopback) whose behaviour
a test chooses, a web push service (a small aiohttp server), and an app with its own settings."""

from __future__ import annotations

import asyncio
import base64
import os
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI

from tests.conftest import Database, _free_port
from tests.helpers import Api
from tradematch.app import create_app
from tradematch.core.config import Settings
from tradematch.worker.dispatcher import Dispatcher

JWT_SECRET = "notification-tests-signing-key-long-enough"

# Short timings so retries, leases and backoff play out in seconds.
FAST: dict[str, Any] = {
    "notify_backoff_base_seconds": 0.05,
    "notify_backoff_max_seconds": 0.2,
    "notify_lease_seconds": 3.0,
    "notify_send_timeout_seconds": 2.0,
    "notify_poll_seconds": 0.1,
}


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        jwt_secret=JWT_SECRET,  # type: ignore[arg-type]
        log_json=False,
        db_pool_size=10,
        **{**FAST, **overrides},
    )


@asynccontextmanager
async def app_for(db: Database, settings: Settings) -> AsyncIterator[tuple[FastAPI, Api]]:
    """The API (no worker inside) on ``db`` with ``settings``, and a client for it."""
    app = create_app(settings, database_url=db.async_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=30
        ) as client:
            yield app, Api(client)


@asynccontextmanager
async def dispatching(app: FastAPI, settings: Settings | None = None) -> AsyncIterator[None]:
    """A dispatcher running in this process until the block ends."""
    stop = asyncio.Event()
    dispatcher = Dispatcher(app.state.sessionmaker, settings or app.state.settings)
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def eventually(
    check: Callable[[], Awaitable[bool]], *, seconds: float = 30, what: str = "condition"
) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


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


@asynccontextmanager
async def smtp_server(peer: SmtpPeer) -> AsyncIterator[int]:
    """An aiosmtpd server on loopback (in a thread of its own); yields its port."""
    port = _free_port()
    controller = Controller(peer, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        yield port
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
    port = _free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    service.base_url = f"http://127.0.0.1:{port}"
    try:
        yield service
    finally:
        await runner.cleanup()


async def rows(db: Database, sql: str, *args: Any) -> list[dict[str, Any]]:
    conn = await db.connect()
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def accepted_conversation(api: Api, market: Any) -> str:
    vendor = market.vendors[0]
    accepted = await api.accept(vendor, market.leads[vendor.user_id])
    return str(accepted["conversation_id"])


async def send_message(api: Api, user: Any, conversation_id: str, text: str) -> None:
    response = await api.client.post(
        f"/api/connection/conversations/{conversation_id}/messages",
        json={"body": text},
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
