"""Email: composed here, sent over SMTP (aiosmtplib) or, with no SMTP host configured, written
as one ``.eml`` file per notification into ``<data dir>/outbox/``.

The ``Message-ID`` is derived from the notification id, so a message delivered twice (at least
once means a crash between sending and recording it repeats the send) is recognisable as the
same message by the mail system and the reader. The outbox file is named after the notification
too, so a repeated write replaces the file instead of adding one.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Protocol

import aiosmtplib

from tradematch.core.config import Settings
from tradematch.kit import clock
from tradematch.notifications.channels.base import Delivery, DeliveryFailed, Undeliverable

FOOTER = (
    "\n\n--\nTradeMatch. You can turn email notifications off in your notification preferences."
)


def message_id(notification_id: str, settings: Settings) -> str:
    domain = parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "tradematch.local"
    return f"<{notification_id}@{domain}>"


def compose(delivery: Delivery, settings: Settings) -> EmailMessage:
    if not delivery.email:
        raise Undeliverable("the recipient has no email address")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = formataddr((" ".join((delivery.name or "").split()), delivery.email))
    message["Subject"] = delivery.title
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = message_id(delivery.id, settings)
    message["X-TradeMatch-Notification-ID"] = delivery.id
    message["X-TradeMatch-Event-ID"] = delivery.event_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(delivery.body + FOOTER)
    return message


class EmailTransport(Protocol):
    async def send(self, message: EmailMessage, notification_id: str) -> None: ...


class SmtpTransport:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage, notification_id: str) -> None:
        settings = self.settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=password,
                start_tls=settings.smtp_starttls,
                timeout=settings.notify_send_timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP: {exc}") from exc


class OutboxFolder:
    """Development default: the email as a file, ``<outbox>/<notification id>.eml``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: EmailMessage, notification_id: str) -> None:
        await asyncio.to_thread(self._write, message.as_bytes(), notification_id)

    def _write(self, data: bytes, notification_id: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{notification_id}.eml"
        tmp = self.folder / f".{notification_id}.{secrets.token_hex(4)}.tmp"
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)  # atomic: a reader never sees half a file
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise DeliveryFailed(f"outbox: {exc}") from exc


def email_transport(settings: Settings) -> EmailTransport:
    if settings.smtp_host:
        return SmtpTransport(settings)
    return OutboxFolder(settings.data_dir / "outbox")


class EmailChannel:
    def __init__(self, settings: Settings, transport: EmailTransport | None = None) -> None:
        self.settings = settings
        self.transport = transport or email_transport(settings)

    async def deliver(self, delivery: Delivery) -> None:
        await self.transport.send(compose(delivery, self.settings), delivery.id)

    async def close(self) -> None:
        return None
