"""Web push (pywebpush): the notification, encrypted for each of the user's subscriptions and
signed with the VAPID key.

A push carries the notification id twice: as ``Topic`` (a push service replaces an undelivered
push of the same topic) and as ``tag`` in the payload (the browser shows one notification per
tag), so a repeated send does not show twice. A push service answering 404 or 410 says the
subscription is gone: it is removed.

Every connection goes through ``public_only_socket`` (unless
``TRADEMATCH_PUSH_ALLOW_PRIVATE_NETWORKS``): the address is checked after DNS, on the socket
actually opened, so neither a name that now resolves inward, an IP literal, nor a redirect
reaches this machine or its network. A delivery's sends run side by side and all of them
together are bounded by ``TRADEMATCH_NOTIFY_SEND_TIMEOUT_SECONDS``: a dead push service delays
one delivery by that much at most, never the dispatcher.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from py_vapid import VapidException
from pywebpush import WebPushException, webpush_async
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tradematch.core.config import Settings
from tradematch.events.unit_of_work import unit_of_work
from tradematch.kit.network import public_only_socket
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
        try:
            async with asyncio.timeout(self.settings.notify_send_timeout_seconds):
                outcomes = await asyncio.gather(
                    *(
                        self._send(sub.endpoint, sub.p256dh, sub.auth, data, delivery.id)
                        for sub in subscriptions
                    ),
                    return_exceptions=True,
                )
        except TimeoutError:
            raise DeliveryFailed("push: no answer within the send timeout") from None
        failures: list[str] = []
        gone = 0
        for subscription, outcome in zip(subscriptions, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, DeliveryFailed):
                    raise outcome
                failures.append(str(outcome))
            elif outcome in GONE:
                gone += 1
                async with unit_of_work(self.sessionmaker) as session:
                    await repository.remove_push_subscription(session, subscription.id)
            elif outcome is not None:
                failures.append(f"{outcome}")
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
        except (aiohttp.ClientError, OSError, TimeoutError, VapidException) as exc:
            # VapidException: an endpoint URL the signing cannot use (no usable audience).
            raise DeliveryFailed(f"push: {type(exc).__name__}: {exc}") from exc
        return None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            connector = (
                aiohttp.TCPConnector()
                if self.settings.push_allow_private_networks
                else aiohttp.TCPConnector(socket_factory=public_only_socket)
            )
            # No proxy from the environment: it would connect on our behalf, unchecked.
            self._http = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
