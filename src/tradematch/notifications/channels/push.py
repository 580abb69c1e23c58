"""Web push (pywebpush): the notification, encrypted for each of the user's subscriptions and
signed with the VAPID key.

A push carries the notification id twice: as ``Topic`` (a push service replaces an undelivered
push of the same topic) and as ``tag`` in the payload (the browser shows one notification per
tag), so a repeated send does not show twice. A push service answering 404 or 410 says the
subscription is gone: it is removed.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from pywebpush import WebPushException, webpush_async
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tradematch.core.config import Settings
from tradematch.events.unit_of_work import unit_of_work
from tradematch.notifications import repository
from tradematch.notifications.channels.base import Delivery, DeliveryFailed, Undeliverable
from tradematch.notifications.vapid import vapid_key

GONE = frozenset({404, 410})


def payload(delivery: Delivery) -> str:
    return json.dumps(
        {
            "id": delivery.id,
            "tag": delivery.id,
            "event_id": delivery.event_id,
            "title": delivery.title,
            "body": delivery.body,
        }
    )


class PushChannel:
    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self._http: aiohttp.ClientSession | None = None

    async def deliver(self, delivery: Delivery) -> None:
        async with self.sessionmaker() as session:
            subscriptions = await repository.push_subscriptions_of(session, delivery.user_id)
        if not subscriptions:
            raise Undeliverable("no push subscription")
        data = payload(delivery)
        failures: list[str] = []
        gone = 0
        for subscription in subscriptions:
            status = await self._send(
                subscription.endpoint, subscription.p256dh, subscription.auth, data, delivery.id
            )
            if status is None:
                continue
            if status in GONE:
                gone += 1
                async with unit_of_work(self.sessionmaker) as session:
                    await repository.remove_push_subscription(session, subscription.id)
            else:
                failures.append(f"{status}")
        if failures:
            # Retried as a whole: subscriptions that already have it replace it (same tag).
            raise DeliveryFailed(f"push service answered {', '.join(failures)}")
        if gone == len(subscriptions):
            raise Undeliverable("every push subscription has expired")

    async def _send(
        self, endpoint: str, p256dh: str, auth: str, data: str, topic: str
    ) -> int | None:
        """None when the push service accepted it, else its HTTP status (0: no answer)."""
        subscription: dict[str, Any] = {
            "endpoint": endpoint,
            "keys": {"p256dh": p256dh, "auth": auth},
        }
        try:
            await webpush_async(
                subscription,
                data=data,
                vapid_private_key=vapid_key(self.settings),
                vapid_claims={"sub": self.settings.vapid_subject},
                ttl=self.settings.push_ttl_seconds,
                headers={"Topic": topic, "Urgency": "normal"},
                timeout=self.settings.notify_send_timeout_seconds,
                aiohttp_session=self._session(),
            )
        except WebPushException as exc:
            status = exc.status_code
            return int(status) if status is not None else 0
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"push: {type(exc).__name__}: {exc}") from exc
        return None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
