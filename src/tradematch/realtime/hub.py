"""The per-process hub that learns of committed events and fans them out to sockets.

Every API process runs one hub (entered in the app's lifespan). The hub keeps one dedicated
asyncpg connection that ``LISTEN``s on ``tradematch_events`` (``events.flush()`` NOTIFYs it in
the committing transaction) and runs a single fetch loop:

1. wake on a NOTIFY, or every ``ws_poll_seconds`` anyway (a NOTIFY can be lost while the
   connection is down, and NOTIFYs of several commits may collapse into one), or soon
   (``HELD_POLL_SECONDS``, doubling up to ``HELD_POLL_MAX_SECONDS``) while committed events wait
   above the horizon: they are held back by an older transaction still open, whose end (commit
   or rollback, with or without events) sends no NOTIFY of its own;
2. subscribe the sockets that connected since the last round, at the current cursor (with no
   socket before them, at the horizon);
3. with at least one socket, read, in one statement, every event after the cursor and below
   the horizon (no event can still commit there: ``events.log``) that a connected user may see
   (or all of them when an administrator is connected), with the connected users in each
   audience; with none, read nothing;
4. mask each event once per kind of viewer (administrator, the event's actor, any other
   participant) and drop the text into each recipient socket's outbox.

The work per event is proportional to its recipients; the hub never waits for a socket (see
``connection.py``). If the connection fails, the loop reconnects and carries on from its
cursor, so nothing committed meanwhile is missed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tradematch.accounts import service as accounts
from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role
from tradematch.core.config import Settings
from tradematch.core.database import to_async_url
from tradematch.core.logging import install_redaction
from tradematch.core.metrics import LIVE_SOCKETS
from tradematch.core.outage import (
    DatabaseUnavailable,
    Outage,
    is_confused_connection,
    is_database_unavailable,
)
from tradematch.events import service as events
from tradematch.events.log import NOTIFY_CHANNEL
from tradematch.events.service import NewEvent, view_for
from tradematch.realtime.connection import Connection
from tradematch.realtime.protocol import (
    CLOSE_POLICY_VIOLATION,
    CLOSE_SERVICE_RESTART,
    CLOSE_TOO_MANY_SOCKETS,
    LiveEvent,
    event_message,
    ready_message,
)

log = logging.getLogger(__name__)

FETCH_LIMIT = 500
HELD_POLL_SECONDS = 0.02  # the first re-poll while events are held back; doubles each time
HELD_POLL_MAX_SECONDS = 0.5
_SQLALCHEMY_ONLY_ARGS = ("prepared_statement_cache_size", "prepared_statement_name_func")


def listener_connect_args(engine: AsyncEngine) -> dict[str, Any]:
    """asyncpg.connect() arguments for the engine's database (same URL, same socket)."""
    _, kwargs = engine.dialect.create_connect_args(engine.url)
    args = {k: v for k, v in kwargs.items() if k not in _SQLALCHEMY_ONLY_ARGS}
    args["server_settings"] = {"application_name": "tradematch-hub"}
    return args


class Hub:
    def __init__(self, settings: Settings, connect: Callable[[], Any]) -> None:
        self.heartbeat_seconds = settings.ws_heartbeat_seconds
        self.poll_seconds = settings.ws_poll_seconds
        self.queue_size = settings.ws_queue_size
        self.max_sockets_per_user = settings.ws_max_sockets_per_user
        # Every socket of each user on this process, pending or live, oldest first.
        self._opened: dict[str, list[Connection]] = {}
        # Every event up to here has been dispatched; None until first connected.
        self.cursor: int | None = None
        self._held_poll: float | None = None  # re-poll this soon: events are held back
        self._connect = connect
        self._db: Any = None
        self._users: dict[str, set[Connection]] = {}
        self._admins: set[Connection] = set()
        self._pending: list[Connection] = []
        self._wake = asyncio.Event()
        self._next_revalidation = 0.0
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []

    # -- sockets ---------------------------------------------------------------------------

    async def subscribe(self, connection: Connection, *, patience: float) -> bool:
        """Register a socket; True once the fetch loop has activated it at its cursor. A user
        over ``max_sockets_per_user`` loses their oldest socket (close code 4001)."""
        opened = self._opened.setdefault(connection.actor.user_id, [])
        opened.append(connection)
        while len(opened) > self.max_sockets_per_user:
            oldest = opened.pop(0)
            oldest.end(
                CLOSE_TOO_MANY_SOCKETS,
                f"More than {self.max_sockets_per_user} live connections: closed the oldest",
            )
        self._pending.append(connection)
        self._wake.set()
        waits = [
            asyncio.ensure_future(connection.activated.wait()),
            asyncio.ensure_future(connection.ended.wait()),
        ]
        await asyncio.wait(waits, timeout=patience, return_when=asyncio.FIRST_COMPLETED)
        for waiting in waits:
            waiting.cancel()
        if connection.activated.is_set() and not connection.ended.is_set():
            return True
        self.unsubscribe(connection)
        return False

    def unsubscribe(self, connection: Connection) -> None:
        opened = self._opened.get(connection.actor.user_id)
        if opened is not None:
            if connection in opened:
                opened.remove(connection)
            if not opened:
                del self._opened[connection.actor.user_id]
        if connection in self._pending:
            self._pending.remove(connection)
        if connection.activated.is_set():
            if connection.actor.is_admin:
                self._admins.discard(connection)
            else:
                sockets = self._users.get(connection.actor.user_id)
                if sockets is not None:
                    sockets.discard(connection)
                    if not sockets:
                        del self._users[connection.actor.user_id]
        LIVE_SOCKETS.set(self.socket_count)

    @property
    def socket_count(self) -> int:
        return len(self._admins) + sum(len(s) for s in self._users.values())

    def connections(self) -> list[Connection]:
        return [*self._admins, *(c for sockets in self._users.values() for c in sockets)]

    async def _activate_pending(self) -> None:
        assert self.cursor is not None
        if not self._pending:
            return
        # New sockets start at the horizon, which may be ahead of the cursor (the hub moves it
        # when it wakes): what committed before they joined is theirs only through resume_from.
        start = max(self.cursor, await events.horizon(self._db))
        if not self._users and not self._admins:
            # Nobody was listening, so the cursor stayed where it was (nothing is read for no
            # one): everything below the horizon is committed and wanted by none of them.
            self.cursor = start
        pending, self._pending = self._pending, []
        for connection in pending:
            if connection.ended.is_set():
                continue
            if connection.actor.is_admin:
                self._admins.add(connection)
            else:
                self._users.setdefault(connection.actor.user_id, set()).add(connection)
            connection.activate(start, ready_message(connection.actor, self.heartbeat_seconds))
        if pending:
            LIVE_SOCKETS.set(self.socket_count)

    # -- the fetch loop --------------------------------------------------------------------

    async def run(self) -> None:
        retry = self.poll_seconds
        outage = Outage("live-update hub", base_seconds=self.poll_seconds, cap_seconds=5.0)
        while not self._stopping:
            self._wake.clear()
            try:
                if self._db is None or self._db.is_closed():
                    await self._open()
                await self._activate_pending()
                while await self._fetch_and_dispatch():
                    pass
                if time.monotonic() >= self._next_revalidation:
                    await self._revalidate()
                retry = self.poll_seconds
                outage.recovered()
            except Exception as exc:  # nothing may silence live updates for good: retry
                # Whatever the driver raised, an error on a connection that is now closed is
                # the connection's loss (terminated, say), as SQLAlchemy judges its own.
                lost = self._db is not None and self._db.is_closed()
                if lost or is_database_unavailable(exc):  # one line per outage
                    delay = outage.failed(exc)
                else:
                    log.exception("live-update hub: fetch failed; retrying")
                    delay, retry = retry, min(retry * 2, 30.0)
                await self._close_db()
                await asyncio.sleep(delay)
                continue
            await self._wake_or_poll()

    async def _wake_or_poll(self) -> None:
        """Return on a wake-up or after ``poll_seconds``. (Not ``asyncio.wait_for``: on Python
        3.11 it swallows a cancellation that arrives just as the event is set, and the hub
        would outlive its application.)"""
        waiting = asyncio.ensure_future(self._wake.wait())
        timeout = self.poll_seconds
        if self._held_poll is not None:
            timeout = min(timeout, self._held_poll)
            self._held_poll = min(self._held_poll * 2, HELD_POLL_MAX_SECONDS)
        try:
            await asyncio.wait({waiting}, timeout=timeout)
        finally:
            waiting.cancel()

    async def _open(self) -> None:
        await self._close_db()
        db = await self._connect()
        try:
            await db.set_type_codec(
                "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
            )
            await db.add_listener(NOTIFY_CHANNEL, self._on_notify)
            db.add_termination_listener(self._on_terminated)
            if self.cursor is None:
                self.cursor = await events.horizon(db)
        except BaseException as exc:
            broken = (
                db.is_closed()
                or isinstance(exc, asyncpg.InterfaceError)
                or is_confused_connection(exc)
            )
            db.terminate()
            if broken:
                # The new connection was lost while being set up (terminated, say); asyncpg can
                # then report a confused protocol state instead: either way an outage, retried.
                raise DatabaseUnavailable() from exc
            raise
        self._db = db
        log.info("live-update hub: listening on %s from seq %s", NOTIFY_CHANNEL, self.cursor)

    async def _close_db(self) -> None:
        db, self._db = self._db, None
        if db is not None and not db.is_closed():
            try:
                async with asyncio.timeout(2):
                    await db.close()
            except Exception:  # closing a broken connection: just drop it
                db.terminate()

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        # The payload is the highest seq of the committed transaction: skip if already read.
        try:
            seq = int(payload)
        except ValueError:
            seq = None
        if seq is None or self.cursor is None or seq > self.cursor:
            self._wake.set()

    def _on_terminated(self, _conn: Any) -> None:
        self._wake.set()

    async def _fetch_and_dispatch(self) -> bool:
        """One read of new events; True if there may be more right away."""
        assert self.cursor is not None
        if not self._users and not self._admins:
            # No socket here (an API process nobody is connected to, or between sockets): no
            # read at all; the first socket to subscribe moves the cursor to the horizon.
            self._held_poll = None
            return False
        batch = await events.new_events(
            self._db,
            after=self.cursor,
            user_ids=list(self._users),
            everything=bool(self._admins),
            limit=FETCH_LIMIT,
        )
        for event in batch.events:
            try:
                self._dispatch(event)
            except Exception:  # one unpresentable event must not hold up the others
                log.exception("live-update hub: cannot dispatch event seq %s", event.record.seq)
        if len(batch.events) == FETCH_LIMIT:
            self.cursor = batch.events[-1].record.seq
            return True
        self.cursor = max(self.cursor, batch.head)
        if not batch.held:
            self._held_poll = None
        elif self._held_poll is None:
            self._held_poll = HELD_POLL_SECONDS
        return False

    def _dispatch(self, event: NewEvent) -> None:
        record = event.record
        seq, created_at = record.seq, record.created_at.timestamp()
        views: dict[str, LiveEvent] = {}  # one masked text per kind of viewer

        def message(kind: str, actor: Actor) -> LiveEvent:
            live = views.get(kind)
            if live is None:
                live = LiveEvent(seq, event_message(view_for(actor, record)), created_at)
                views[kind] = live
            return live

        for user_id in event.recipients:
            for connection in self._users.get(user_id, ()):
                kind = "actor" if user_id == record.actor_id else "participant"
                connection.push(message(kind, connection.actor))
        for connection in self._admins:
            connection.push(message("admin", connection.actor))

    async def _revalidate(self) -> None:
        """End sockets whose account was disabled or changed role since they connected."""
        # Re-checked at the heartbeat's pace (or the poll's, if that is slower).
        self._next_revalidation = time.monotonic() + self.heartbeat_seconds
        connections = self.connections()
        if not connections:
            return
        roles = await accounts.active_roles(self._db, list({c.actor.user_id for c in connections}))
        for connection in connections:
            role = roles.get(connection.actor.user_id)
            if role is None or Role(role) is not connection.actor.role:
                connection.end(CLOSE_POLICY_VIOLATION, "Account changed: sign in again")

    # -- housekeeping ----------------------------------------------------------------------

    async def run_expiry(self) -> None:
        """End sockets whose token has expired (checked at the heartbeat's pace)."""
        while not self._stopping:
            await asyncio.sleep(self.heartbeat_seconds)
            now = time.time()
            for connection in self.connections():
                if connection.expires_at <= now:
                    connection.end(CLOSE_POLICY_VIOLATION, "Token expired: sign in again")

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.run(), name="live-update hub"),
            asyncio.create_task(self.run_expiry(), name="live-update token expiry"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        for connection in [*self.connections(), *self._pending]:
            connection.end(CLOSE_SERVICE_RESTART, "Server restarting: reconnect and resume")
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, running = await asyncio.wait(self._tasks, timeout=5)
            if running:
                log.warning("live-update hub: %d task(s) did not stop in time", len(running))
        await self._close_db()


@asynccontextmanager
async def running_hub(app: FastAPI) -> AsyncIterator[None]:
    engine: AsyncEngine = app.state.engine
    direct_url = app.state.settings.direct_database_url
    if direct_url:
        # Behind a transaction-mode pool (PgBouncer) LISTEN needs a session of its own: the
        # listener connects to PostgreSQL directly (docs/operations.md). No connection is
        # made by this engine; it only turns the URL into asyncpg's arguments.
        direct = create_async_engine(to_async_url(direct_url))
        args = listener_connect_args(direct)
        await direct.dispose()
    else:
        args = listener_connect_args(engine)
    hub = Hub(app.state.settings, lambda: asyncpg.connect(**args))
    app.state.hub = hub
    install_redaction()  # the socket's token travels in its query string
    hub.start()
    try:
        yield
    finally:
        await hub.stop()
