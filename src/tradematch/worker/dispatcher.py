"""The notification dispatcher: delivers the transactional outbox, at least once.

Each round it marks due in-app rows sent (the database is their delivery), parks rows whose
final attempt never reported back, and claims as many due email and push rows as it has free
delivery slots (``notifications/delivery.py``: ``FOR UPDATE SKIP LOCKED`` and a lease, in a short
transaction). Sends run outside any transaction, each bounded by the send timeout, which the
lease outlasts. A send that could not begin because the database is away (the email channel
reads the recipient's view while composing) is put back, not counted as an attempt. A failed
send is retried after an exponential, jittered delay; after
``notify_max_attempts`` the row is parked as ``dead``. It wakes on the events' NOTIFY, and polls
as well, since notifications can be dropped.

The dispatcher follows the outbox's status, not the event sequence, so an event that commits
late is never skipped: its rows are simply due when they appear.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tradematch.core.config import Settings
from tradematch.core.metrics import (
    NOTIFICATION_DELIVERY_SECONDS,
    NOTIFICATION_OUTCOMES,
    NOTIFICATIONS_DEAD,
)
from tradematch.core.outage import (
    Outage,
    describe,
    is_confused_connection,
    is_database_unavailable,
)
from tradematch.events.log import NOTIFY_CHANNEL
from tradematch.kit.backoff import backoff_seconds
from tradematch.notifications import delivery as outbox
from tradematch.notifications.channels.base import Delivery, DeliveryFailed, Undeliverable
from tradematch.notifications.channels.email import EmailChannel
from tradematch.notifications.channels.push import PushChannel
from tradematch.notifications.states import CHANNELS

log = structlog.get_logger("tradematch.dispatcher")

DEAD_GAUGE_SECONDS = 30.0
ERROR_PAUSE_SECONDS = 1.0
MIN_ROUND_SECONDS = 0.05
LISTEN_RETRY_SECONDS = 5.0


class Channel(Protocol):
    async def deliver(self, delivery: Delivery) -> None: ...
    async def close(self) -> None: ...


class Dispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        channels: dict[str, Channel] | None = None,
    ) -> None:
        self.sessions = sessionmaker
        self.settings = settings
        self.channels: dict[str, Channel] = channels or {
            "email": EmailChannel(settings, sessionmaker),
            "push": PushChannel(settings, sessionmaker),
        }
        self._in_flight: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._dead_gauge_at = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; then finish the sends in flight (their rows are
        recorded) and return."""
        structlog.contextvars.clear_contextvars()  # nothing of the starting request's context
        outage = Outage("notification dispatcher", cap_seconds=5.0)
        listener = await self._listen()
        listen_again_at = time.monotonic() + LISTEN_RETRY_SECONDS
        try:
            while not stop.is_set():
                self._wake.clear()  # a NOTIFY from now on means another round
                started = time.monotonic()
                try:
                    full = await self.round()
                except Exception as exc:
                    if is_database_unavailable(exc):  # one line per outage, then backoff
                        await _sleep_or(stop, outage.failed(exc))
                    else:
                        log.exception("dispatcher_round_failed")
                        await _sleep_or(stop, ERROR_PAUSE_SECONDS)
                    continue
                outage.recovered()
                if listener is not None and listener.broken:  # say, the database restarted
                    await listener.close()
                    listener = None
                if listener is None and time.monotonic() >= listen_again_at:
                    listener = await self._listen()
                    listen_again_at = time.monotonic() + LISTEN_RETRY_SECONDS
                if not full:
                    await self._idle(stop)
                    # Under a stream of events, NOTIFYs come faster than rounds are worth.
                    await _sleep_or(stop, started + MIN_ROUND_SECONDS - time.monotonic())
                elif self._slots() == 0:
                    await self._any_done(stop)
        finally:
            await self._drain()
            if listener is not None:
                await listener.close()
            for channel in self.channels.values():
                with contextlib.suppress(Exception):
                    await channel.close()

    async def round(self) -> bool:
        """One pass; True if it claimed as many rows as it had slots (more may be due)."""
        settings = self.settings
        waited = await outbox.deliver_in_app(self.sessions)
        for seconds in waited:
            NOTIFICATION_OUTCOMES.labels("in_app", "sent").inc()
            NOTIFICATION_DELIVERY_SECONDS.labels("in_app").observe(seconds)
        for channel in await outbox.park_exhausted(
            self.sessions, max_attempts=settings.notify_max_attempts
        ):
            NOTIFICATION_OUTCOMES.labels(channel, "dead").inc()
        await self._refresh_dead_gauge()
        slots = self._slots()
        if slots == 0:
            return True
        claimed = await outbox.claim(
            self.sessions,
            limit=slots,
            lease_seconds=settings.notify_lease_seconds,
            max_attempts=settings.notify_max_attempts,
        )
        for delivery in claimed:
            task = asyncio.create_task(self._deliver(delivery), name=f"deliver {delivery.id}")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(claimed) == slots or len(waited) >= outbox.SWEEP_LIMIT

    async def _deliver(self, delivery: Delivery) -> None:
        settings = self.settings
        bound = log.bind(
            notification_id=delivery.id,
            event_id=delivery.event_id,
            channel=delivery.channel,
            attempt=delivery.attempts,
        )
        final = False
        try:
            channel = self.channels.get(delivery.channel)
            if channel is None:
                raise Undeliverable(f"no {delivery.channel} channel in this worker")
            async with asyncio.timeout(settings.notify_send_timeout_seconds):
                await channel.deliver(delivery)
        except Undeliverable as exc:
            error, final = str(exc), True
        except (DeliveryFailed, TimeoutError) as exc:
            error = str(exc) or type(exc).__name__
        except Exception as exc:
            if is_database_unavailable(exc):
                # Composing it read the database, which is away: nothing was sent. Not a failed
                # attempt; the row is due again shortly (or when its lease runs out).
                await self._put_back(bound, delivery, exc)
                return
            # A bug or an unexpected library error: retried, logged.
            bound.exception("notification_send_error")
            error = f"{type(exc).__name__}: {exc}"
        else:
            try:
                waited = await outbox.mark_sent(self.sessions, delivery.id)
            except Exception as exc:
                # Sent, but not recorded: the lease runs out and it is sent again, recognisably.
                _record_failed(bound, exc)
                return
            NOTIFICATION_OUTCOMES.labels(delivery.channel, "sent").inc()
            if waited is not None:
                NOTIFICATION_DELIVERY_SECONDS.labels(delivery.channel).observe(waited)
            return
        delay = backoff_seconds(
            delivery.attempts,
            settings.notify_backoff_base_seconds,
            settings.notify_backoff_max_seconds,
        )
        try:
            status = await outbox.mark_failed(
                self.sessions,
                delivery,
                error=error,
                delay_seconds=delay,
                max_attempts=settings.notify_max_attempts,
                final=final,
            )
        except Exception as exc:
            _record_failed(bound, exc)
            return
        if status is None:
            return
        outcome = "expired" if final else ("dead" if status == "dead" else "retry")
        NOTIFICATION_OUTCOMES.labels(delivery.channel, outcome).inc()
        if outcome == "retry":
            bound.info("notification_retry", error=error, retry_in=round(delay, 3))
        else:
            bound.warning("notification_dead", error=error, outcome=outcome)

    async def _put_back(self, bound: Any, delivery: Delivery, exc: Exception) -> None:
        bound.warning("notification_deferred", error=describe(exc))
        try:
            await outbox.put_back(
                self.sessions, delivery, delay_seconds=self.settings.notify_backoff_base_seconds
            )
        except Exception as again:
            _record_failed(bound, again)

    def _slots(self) -> int:
        return max(0, self.settings.notify_concurrency - len(self._in_flight))

    async def _idle(self, stop: asyncio.Event) -> None:
        """Wait for a NOTIFY, a finished send, the stop signal or the poll interval."""
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(
                [*waiters, *self._in_flight],
                timeout=self.settings.notify_poll_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _any_done(self, stop: asyncio.Event) -> None:
        waiter = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait(
                [waiter, *self._in_flight],
                timeout=self.settings.notify_poll_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            waiter.cancel()

    async def _drain(self) -> None:
        if not self._in_flight:
            return
        _, pending = await asyncio.wait(
            set(self._in_flight), timeout=self.settings.notify_send_timeout_seconds + 5
        )
        for task in pending:  # their rows stay leased and are retried when the lease ends
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _refresh_dead_gauge(self) -> None:
        if time.monotonic() < self._dead_gauge_at:
            return
        self._dead_gauge_at = time.monotonic() + DEAD_GAUGE_SECONDS
        counts = await outbox.dead_counts(self.sessions)
        for channel in CHANNELS:
            NOTIFICATIONS_DEAD.labels(channel).set(counts.get(channel, 0))

    async def _listen(self) -> _Listener | None:
        """LISTEN for committed events on a connection of its own, to wake at once. Optional:
        without it (or while it is broken) the poll interval still finds every row."""
        engine = self.sessions.kw.get("bind")
        if engine is None:
            return None
        connection = None
        try:
            connection = await engine.connect()
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection

            def wake(*_: object) -> None:
                self._wake.set()

            await driver.add_listener(NOTIFY_CHANNEL, wake)
        except Exception as exc:
            if connection is not None:  # whatever state it is in, not back into the pool
                with contextlib.suppress(Exception):
                    await connection.invalidate(exc)
                with contextlib.suppress(Exception):
                    await connection.close()
            # A connection terminated as LISTEN was sent can fail as asyncpg's "another
            # operation is in progress": the same outage, seen a moment earlier.
            if is_database_unavailable(exc) or is_confused_connection(exc):
                log.warning("dispatcher_listen_unavailable", error=describe(exc))
            else:
                log.warning("dispatcher_listen_unavailable", exc_info=True)
            return None
        return _Listener(connection, driver, wake)


class _Listener:
    def __init__(self, connection: Any, driver: Any, wake: Callable[..., None]) -> None:
        self.connection = connection
        self.driver = driver
        self.wake = wake

    @property
    def broken(self) -> bool:
        return bool(self.driver.is_closed())

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.broken:  # not back into the pool
                await self.connection.invalidate()
            else:
                await self.driver.remove_listener(NOTIFY_CHANNEL, self.wake)
        with contextlib.suppress(Exception):
            await self.connection.close()


def _record_failed(bound: Any, exc: Exception) -> None:
    if is_database_unavailable(exc):  # the lease runs out and the row is due again
        bound.warning("notification_record_failed", error=describe(exc))
    else:
        bound.exception("notification_record_failed")


async def _sleep_or(stop: asyncio.Event, seconds: float) -> None:
    if seconds <= 0:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def run_dispatcher(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, stop: asyncio.Event
) -> None:
    await Dispatcher(sessionmaker, settings).run(stop)
