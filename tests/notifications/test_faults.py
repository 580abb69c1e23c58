"""Fault injection: a flaky SMTP peer loses nothing and duplicates nothing; a recipient that is
always refused ends dead after the bounded number of attempts; the database lost while an email
is composed is not a failed attempt."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.flows.apps import app_for, dispatching, eventually, make_settings, sessionmaker_of
from tests.flows.database import Database, fetch
from tests.flows.deals import accepted_conversation, send_message
from tests.flows.peers import SmtpPeer, smtp_server
from tests.flows.users import marketplace
from tradematch.notifications.channels.base import Delivery
from tradematch.notifications.channels.email import EmailChannel
from tradematch.worker.dispatcher import Dispatcher

EMAILS = "SELECT * FROM notifications WHERE channel = 'email' ORDER BY id"
MAX_ATTEMPTS = 5


class EveryThirdOfTen:
    """Refuses deliveries 1, 4 and 7 of every ten (30 %), deterministically, but never the same
    message more than twice running, so every healthy message gets through within the attempts
    allowed."""

    def __init__(self) -> None:
        self.deliveries = 0
        self.lock = threading.Lock()

    def __call__(self, message_id: str, attempt: int) -> bool:
        with self.lock:
            self.deliveries += 1
            return self.deliveries % 10 in (1, 4, 7) and attempt <= 2


def _outcomes(channel: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "tradematch_notifications_total", {"channel": channel, "outcome": outcome}
    )
    return value or 0.0


async def test_flaky_peer_every_email_delivered_once_and_a_refused_recipient_ends_dead(
    fresh_db: Database, tmp_path: Path
) -> None:
    refuse = EveryThirdOfTen()
    peer = SmtpPeer(refuse_data=refuse)
    async with smtp_server(peer) as port:
        settings = make_settings(
            tmp_path,
            smtp_host="127.0.0.1",
            smtp_port=port,
            notify_max_attempts=MAX_ATTEMPTS,
            notify_concurrency=8,
            # Failures here are the peer's refusals only: a send that merely took long on a
            # busy machine must not time out (and be retried: at least once means it could
            # then arrive twice, which this test rules out).
            notify_send_timeout_seconds=30.0,
            notify_lease_seconds=40.0,
        )
        async with app_for(fresh_db, settings) as (app, api):
            market = await marketplace(api, vendors=2)
            unreachable = market.vendors[1]
            peer.refused_recipients.add(unreachable.email)
            conversation = await accepted_conversation(api, market)
            for i in range(15):
                await send_message(api, market.customer, conversation, f"Question {i}?")
                await send_message(api, market.vendors[0], conversation, f"Answer {i}.")
            queued = await fetch(fresh_db, EMAILS)
            doomed = {r["id"] for r in queued if r["user_id"] == unreachable.user_id}
            healthy = {r["id"] for r in queued} - doomed
            assert len(healthy) >= 32 and len(doomed) == 1
            dead_before = _outcomes("email", "dead")
            retries_before = _outcomes("email", "retry")

            async with dispatching(app):

                async def settled() -> bool:
                    return all(r["status"] != "pending" for r in await fetch(fresh_db, EMAILS))

                await eventually(settled, seconds=60, what="every email sent or dead")

    final = {r["id"]: r for r in await fetch(fresh_db, EMAILS)}
    # Every healthy email was delivered, exactly once, and recorded as sent.
    assert {i for i, r in final.items() if r["status"] == "sent"} == healthy
    delivered = peer.accepted_ids()
    assert set(delivered) == {f"<{i}@tradematch.local>" for i in healthy}
    assert set(delivered.values()) == {1}, "a message reached the peer twice"
    assert peer.refusals >= len(healthy) * 0.2  # the peer really did refuse about 30 %
    assert any(final[i]["attempts"] > 1 for i in healthy)
    assert all(final[i]["attempts"] <= 3 for i in healthy)
    # The permanently refused recipient: dead after exactly the bounded number of attempts.
    (dead,) = (final[i] for i in doomed)
    assert dead["status"] == "dead"
    assert dead["attempts"] == MAX_ATTEMPTS
    assert "550" in dead["last_error"]
    assert peer.rcpt_refusals == MAX_ATTEMPTS
    assert _outcomes("email", "dead") - dead_before == 1
    assert _outcomes("email", "retry") - retries_before == peer.refusals + MAX_ATTEMPTS - 1


class OutageWhileComposing:
    """The email channel, but the database connection it composes with is terminated under it
    on each email's first try (``pg_terminate_backend``: what a restart or failover does)."""

    def __init__(self, inner: EmailChannel, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.inner = inner
        self.sessions = sessions
        self.broken: set[str] = set()

    async def deliver(self, delivery: Delivery) -> None:
        if delivery.id not in self.broken:
            self.broken.add(delivery.id)
            async with self.sessions() as session:
                await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        await self.inner.deliver(delivery)

    async def close(self) -> None:
        await self.inner.close()


async def test_a_database_outage_while_composing_an_email_puts_it_back_uncounted(
    fresh_db: Database, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, notify_backoff_base_seconds=0.05)
    async with app_for(fresh_db, settings) as (app, api):
        market = await marketplace(api, vendors=1)
        conversation = await accepted_conversation(api, market)
        await send_message(api, market.customer, conversation, "Question?")
        await send_message(api, market.vendors[0], conversation, "Answer.")
        queued = {r["id"] for r in await fetch(fresh_db, EMAILS)}
        assert queued
        retries_before = _outcomes("email", "retry")
        sessions = sessionmaker_of(app)
        email = OutageWhileComposing(EmailChannel(settings, sessions), sessions)
        stop = asyncio.Event()
        running = asyncio.create_task(Dispatcher(sessions, settings, {"email": email}).run(stop))
        try:

            async def settled() -> bool:
                return all(r["status"] != "pending" for r in await fetch(fresh_db, EMAILS))

            await eventually(settled, seconds=30, what="every email sent or dead")
        finally:
            stop.set()
            await asyncio.wait_for(running, 30)

    assert email.broken == queued  # each one met the outage once
    for row in await fetch(fresh_db, EMAILS):
        # Sent on the next try; the try that met the outage is neither an attempt nor an error
        # (with no traceback: the session-wide check would fail the test).
        assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 1, None), row
        assert (tmp_path / "outbox" / f"{row['id']}.eml").exists()
    assert _outcomes("email", "retry") == retries_before
