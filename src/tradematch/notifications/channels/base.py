from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Delivery:
    """A notification claimed for delivery, with what its channel needs of the recipient."""

    id: str
    event_id: str
    user_id: str
    channel: str
    title: str
    body: str
    attempts: int
    created_at: datetime
    email: str | None
    name: str | None


class DeliveryFailed(Exception):
    """The send failed and may succeed later: the dispatcher retries it with backoff."""


class Undeliverable(Exception):
    """Nowhere to deliver to (the recipient has no email address or push subscription left):
    retrying cannot help."""
