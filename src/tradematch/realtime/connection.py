"""One live-update socket: a bounded outbox, drained by the socket's own sender task.

The hub never waits for a socket: it drops each message into the socket's outbox
(``push``, never blocking). A client that does not read fills its outbox; the socket is then
ended with close code 4000 and the client is expected to reconnect with ``resume_from``. So a
slow client costs its own socket, never anybody else's delivery.

Ordering and resume. A socket is *activated* by the hub at the hub's cursor ``live_from``:
every event after it reaches the outbox through the hub, in order. ``{"resume_from": N}``
replays from the log the user's events after ``N`` up to the log's horizon at that moment
(read in sequence order, so in order and once each; those in ``(live_from, last sent live]``
were already sent live and are left out), then the outbox continues; live events up to the last
one replayed are skipped, since the client has them. The horizon may be ahead of the hub's
cursor (the hub moves when it wakes), so what the log already shows is replayed at once rather
than left for the hub. Events already sent on this socket are never sent again.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.websockets import WebSocket

from tradematch.authz.actor import Actor
from tradematch.core.metrics import EVENT_SOCKET_LAG, LIVE_SOCKETS_BEHIND
from tradematch.events import service as events
from tradematch.events.service import view_for
from tradematch.realtime.protocol import (
    CLOSE_RESUME,
    HEARTBEAT,
    Control,
    LiveEvent,
    Outgoing,
    Resume,
    event_message,
    resumed_message,
)

REPLAY_BATCH = 500


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        actor: Actor,
        *,
        expires_at: float,
        queue_size: int,
        heartbeat_seconds: float,
        sessionmaker: async_sessionmaker[AsyncSession],
        resume_from: int | None = None,
    ) -> None:
        self.websocket = websocket
        self.actor = actor
        self.expires_at = expires_at  # the token's expiry (Unix time): the socket ends then
        self.live_from = 0
        self.activated = asyncio.Event()
        self.ended = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self._outbox: asyncio.Queue[Outgoing] = asyncio.Queue(queue_size)
        self._heartbeat_seconds = heartbeat_seconds
        self._sessionmaker = sessionmaker
        self._skip_through = 0
        self._sent_live = 0  # the last live event sent
        self._initial_resume = resume_from

    def activate(self, cursor: int, greeting: str) -> None:
        """Called by the hub: events after ``cursor`` will be pushed; ``greeting`` goes first,
        then the replay asked for in the URL (``?resume_from=``), if any."""
        self.live_from = cursor
        self._skip_through = cursor  # the hub may still push older events: not this socket's
        self.push(Control(greeting))
        if self._initial_resume is not None:
            self.push(Resume(self._initial_resume))
        self.activated.set()

    def push(self, item: Outgoing) -> None:
        """Queue a message without waiting; a full outbox ends the socket (code 4000)."""
        if self.ended.is_set():
            return
        try:
            self._outbox.put_nowait(item)
        except asyncio.QueueFull:
            LIVE_SOCKETS_BEHIND.inc()
            self.end(CLOSE_RESUME, "Too far behind: reconnect and send resume_from")

    def end(self, code: int, reason: str) -> None:
        """Ask the socket's handler to close the socket with ``code`` (first reason wins)."""
        if not self.ended.is_set():
            self.close_code, self.close_reason = code, reason
            self.ended.set()

    async def run_sender(self) -> None:
        """Drain the outbox onto the socket until cancelled (or the client is gone); send a
        heartbeat whenever the socket has been quiet for ``heartbeat_seconds``. (Per socket
        and only when idle: heartbeats of all sockets at once would stall the event loop.)"""
        send = self.websocket.send_text
        outbox = self._outbox
        while True:
            try:
                async with asyncio.timeout(self._heartbeat_seconds):
                    item = await outbox.get()
            except TimeoutError:
                await send(HEARTBEAT)
                continue
            if type(item) is LiveEvent:
                if item.seq <= self._skip_through:
                    continue
                await send(item.text)
                self._sent_live = item.seq
                EVENT_SOCKET_LAG.observe(max(0.0, time.time() - item.created_at))
            elif type(item) is Resume:
                await self._replay(item.after)
            else:
                assert type(item) is Control
                await send(item.text)

    async def _replay(self, after: int) -> None:
        """Send the user's events after ``after`` from the log, in order, up to its horizon
        (those already sent live left out)."""
        sent_from, sent_through = self.live_from, self._sent_live
        position = after
        while True:
            async with self._sessionmaker() as session:
                records = await events.seen_by(
                    session, self.actor, after=position, limit=REPLAY_BATCH
                )
            for record in records:
                position = record.seq
                if sent_from < record.seq <= sent_through:
                    continue  # the hub sent it on this socket already
                await self.websocket.send_text(event_message(view_for(self.actor, record)))
            if len(records) < REPLAY_BATCH:
                break
        # Everything up to ``position`` has now been sent (the hub's copies are skipped).
        self.live_from = min(self.live_from, after)
        self._skip_through = max(self._skip_through, position)
        await self.websocket.send_text(resumed_message(after))
