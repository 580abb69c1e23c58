"""Serving one live-update socket: authenticate, subscribe to the hub, pump both directions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import jwt
from fastapi import FastAPI
from starlette.websockets import WebSocket, WebSocketDisconnect

from tradematch.accounts import service as accounts
from tradematch.authz.actor import Actor
from tradematch.core.errors import Unauthorized
from tradematch.core.outage import describe, is_database_unavailable
from tradematch.core.security import read_token
from tradematch.realtime.connection import Connection
from tradematch.realtime.hub import Hub
from tradematch.realtime.protocol import (
    CLOSE_POLICY_VIOLATION,
    CLOSE_TRY_AGAIN_LATER,
    BadMessage,
    Control,
    error_message,
    parse_client_message,
    parse_sequence,
)

log = logging.getLogger(__name__)

QUERY_PARAMETERS = frozenset({"token", "resume_from"})
SUBSCRIBE_TIMEOUT = 10.0  # the hub activates a socket within one fetch round; this is a backstop
CLOSE_TIMEOUT = 5.0  # a stalled client may never take the close frame; give up after this
AUTH_TIMEOUT = 10.0  # checking the token (one database read) may not hold the socket longer


async def authenticate(app: FastAPI, token: str | None) -> tuple[Actor, float] | None:
    """The actor and the token's expiry (Unix time), or None. The role is read from the
    database, as for every HTTP request."""
    if not token:
        return None
    try:
        claims = read_token(app.state.signing_key, token)
    except Unauthorized:
        return None
    expires_at = jwt.decode(token, options={"verify_signature": False}).get("exp")
    async with app.state.sessionmaker() as session:
        actor = await accounts.actor_for(session, claims.user_id)
    if actor is None or not isinstance(expires_at, int | float):
        return None
    return actor, float(expires_at)


def bearer_token(websocket: WebSocket) -> str | None:
    """From ``Authorization: Bearer …``, else the ``token`` query parameter (browsers cannot set
    headers on a WebSocket)."""
    header = websocket.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return websocket.query_params.get("token")


async def serve(websocket: WebSocket) -> None:
    app: FastAPI = websocket.app
    hub: Hub = app.state.hub
    await websocket.accept()
    unknown = sorted(set(websocket.query_params) - QUERY_PARAMETERS)
    if unknown:
        await _close(websocket, CLOSE_POLICY_VIOLATION, f"Unknown query parameters: {unknown}")
        return
    resume_from: int | None = None
    if "resume_from" in websocket.query_params:
        try:
            resume_from = parse_sequence(websocket.query_params["resume_from"])
        except BadMessage as exc:
            await _close(websocket, CLOSE_POLICY_VIOLATION, str(exc))
            return
    try:
        async with asyncio.timeout(AUTH_TIMEOUT):
            authenticated = await authenticate(app, bearer_token(websocket))
    except TimeoutError:
        log.warning("live-update socket refused: authentication took over %ss", AUTH_TIMEOUT)
        await _close(websocket, CLOSE_TRY_AGAIN_LATER, "Authentication timed out: retry shortly")
        return
    except Exception as exc:
        if not is_database_unavailable(exc):
            raise
        log.warning("live-update socket refused: database unavailable (%s)", describe(exc))
        await _close(websocket, CLOSE_TRY_AGAIN_LATER, "Database unavailable: retry shortly")
        return
    if authenticated is None:
        await _close(websocket, CLOSE_POLICY_VIOLATION, "Invalid or expired token")
        return
    actor, expires_at = authenticated
    connection = Connection(
        websocket,
        actor,
        expires_at=expires_at,
        queue_size=hub.queue_size,
        heartbeat_seconds=hub.heartbeat_seconds,
        sessionmaker=app.state.sessionmaker,
        resume_from=resume_from,
    )
    if not await hub.subscribe(connection, patience=SUBSCRIBE_TIMEOUT):
        await _close(
            websocket,
            connection.close_code or CLOSE_TRY_AGAIN_LATER,
            connection.close_reason or "Live updates are not available yet: retry",
        )
        return
    await _pump(websocket, hub, connection)


async def _pump(websocket: WebSocket, hub: Hub, connection: Connection) -> None:
    sender = asyncio.create_task(connection.run_sender())
    receiver = asyncio.create_task(_receive(websocket, connection))
    ended = asyncio.create_task(connection.ended.wait())
    tasks = (sender, receiver, ended)
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hub.unsubscribe(connection)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    if receiver in done or _client_gone(results[0]):
        return
    if sender in done:  # the sender failed (a replay could not read the log, say)
        failure = _exception(results[0])
        if failure is not None and is_database_unavailable(failure):
            log.warning("live-update socket ended: database unavailable (%s)", describe(failure))
            connection.end(CLOSE_TRY_AGAIN_LATER, "Database unavailable: reconnect and resume")
        else:
            log.error("live-update socket failed", exc_info=failure)
            connection.end(1011, "Internal error: reconnect and resume")
    assert connection.close_code is not None
    await _close(websocket, connection.close_code, connection.close_reason)


async def _receive(websocket: WebSocket, connection: Connection) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        raw = message.get("text")
        if raw is None:
            raw = (message.get("bytes") or b"").decode("utf-8", "replace")
        try:
            connection.push(parse_client_message(raw))
        except BadMessage as exc:
            connection.push(Control(error_message("INVALID_MESSAGE", str(exc))))


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(TimeoutError, WebSocketDisconnect, RuntimeError):
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await websocket.close(code, reason[:120])


def _client_gone(result: Any) -> bool:
    return isinstance(result, WebSocketDisconnect)


def _exception(result: Any) -> BaseException | None:
    return result if isinstance(result, BaseException) else None
