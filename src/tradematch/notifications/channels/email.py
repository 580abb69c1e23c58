"""Email: composed here, sent over SMTP (aiosmtplib) or, with no SMTP host configured, written
as one ``.eml`` file per notification into ``<data dir>/outbox/``.

Each email is ``multipart/alternative``: a plain-text and an HTML part with the same content
(``notifications/emails.py``: what it is about as the recipient's API view shows it, a link to
the dashboard page, the unsubscribe link), and the RFC 8058 one-click unsubscribe headers
``List-Unsubscribe`` and ``List-Unsubscribe-Post`` for the email's category.

The ``Message-ID`` is derived from the notification id, so a message delivered twice (at least
once means a crash between sending and recording it repeats the send) is recognisable as the
same message by the mail system and the reader. The outbox file is named after the notification
too, so a repeated write replaces the file instead of adding one.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from pathlib import Path
from typing import Protocol

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tradematch.core.config import Settings
from tradematch.kit import clock
from tradematch.notifications import emails, unsubscribe
from tradematch.notifications.channels.base import Delivery, DeliveryFailed, Undeliverable

# RFC 5322 allows lines of up to 998 characters. Folded at 78, the List-Unsubscribe URL (no
# whitespace to fold at) would be turned into RFC 2047 encoded words, which mail providers do
# not decode in that header: the link would be lost. The parts' bodies are already encoded
# (quoted-printable, short lines) when the message is built.
WIRE_POLICY = policy.SMTP.clone(max_line_length=998)
FILE_POLICY = policy.default.clone(max_line_length=998)


def message_id(notification_id: str, settings: Settings) -> str:
    domain = parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "tradematch.local"
    return f"<{notification_id}@{domain}>"


def compose(delivery: Delivery, settings: Settings, content: emails.Content) -> EmailMessage:
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
    message["List-Unsubscribe"] = f"<{content.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = unsubscribe.ONE_CLICK
    message.set_content(emails.text(content))
    message.add_alternative(emails.html(content), subtype="html")
    return message


class EmailTransport(Protocol):
    async def send(self, message: EmailMessage, notification_id: str) -> None: ...


class SmtpTransport:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage, notification_id: str) -> None:
        settings = self.settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        recipients = [address for _, address in getaddresses(message.get_all("To", []))]
        try:
            await aiosmtplib.send(
                message.as_bytes(policy=WIRE_POLICY),
                sender=parseaddr(settings.smtp_from)[1],
                recipients=recipients,
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
        await asyncio.to_thread(self._write, message.as_bytes(policy=FILE_POLICY), notification_id)

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
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        transport: EmailTransport | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.transport = transport or email_transport(settings)
        self.signing_key = settings.signing_key()

    async def deliver(self, delivery: Delivery) -> None:
        if not delivery.email:
            raise Undeliverable("the recipient has no email address")
        async with self.sessionmaker() as session:  # reads only, as the recipient
            content = await emails.content(
                session,
                self.settings,
                self.signing_key,
                event_id=delivery.event_id,
                user_id=delivery.user_id,
                title=delivery.title,
                body=delivery.body,
            )
        await self.transport.send(compose(delivery, self.settings, content), delivery.id)

    async def close(self) -> None:
        return None
