"""Idempotency keys (contract §8; Stripe's keys and the IETF Idempotency-Key draft).

A key is looked up by (scope, key): the scope is the signed-in user, so one user's key can never
return another user's response. Before the handler runs, the request takes a transaction-scoped
advisory lock on (scope, key): a duplicate arriving meanwhile fails to take it and answers 409
``IDEMPOTENCY_REQUEST_IN_PROGRESS``. A stored record with the same fingerprint is replayed; with
another fingerprint the request is a 422 ``IDEMPOTENCY_KEY_REUSED``. The response is stored in the
same transaction as the change, so a request that rolled back stored nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from tradematch.core.errors import Conflict, ValidationFailed
from tradematch.idempotency import repository
from tradematch.idempotency.models import IdempotencyRecord

HEADER = "Idempotency-Key"
BODY_FIELD = "idempotency_key"
REPLAYED_HEADER = "Idempotent-Replayed"


class KeyReused(
    ValidationFailed,
    code="IDEMPOTENCY_KEY_REUSED",
    message="This idempotency key was already used for a different request",
): ...


class RequestInProgress(
    Conflict,
    code="IDEMPOTENCY_REQUEST_IN_PROGRESS",
    message="A request with this idempotency key is still being processed",
): ...


class InvalidKey(
    ValidationFailed,
    code="INVALID_IDEMPOTENCY_KEY",
    message="Idempotency keys are 1-255 printable characters",
): ...


@dataclass(frozen=True)
class Claim:
    scope: str
    key: str
    fingerprint: str


class Replay(Exception):
    """Raised to answer with a stored response instead of running the handler."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__(record.key)
        # Copy the stored answer now: the route rolls the session back before answering, which
        # expires the ORM row, and reloading it then would be I/O outside the session's context.
        self.status_code = record.status_code
        self.body = bytes(record.response_body)
        self.content_type = record.content_type

    def response(self) -> Response:
        return Response(
            content=self.body,
            status_code=self.status_code,
            media_type=self.content_type,
            headers={REPLAYED_HEADER: "true"},
        )


def extract_key(header_value: str | None, body: bytes) -> str | None:
    """The key from the header, or from the JSON body's ``idempotency_key`` (as the seed shows)."""
    body_key = None
    if body:
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if isinstance(document, dict):
            candidate = document.get(BODY_FIELD)
            if candidate is not None:
                if not isinstance(candidate, str):
                    raise InvalidKey()
                body_key = candidate
    if header_value is not None and body_key is not None and header_value != body_key:
        raise InvalidKey("The Idempotency-Key header and the body's idempotency_key differ")
    key = header_value if header_value is not None else body_key
    if key is not None and not (0 < len(key) <= 255 and key.isprintable()):
        raise InvalidKey()
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and the JSON body minus the key."""
    try:
        document = json.loads(body) if body else None
    except ValueError:
        canonical = body
    else:
        if isinstance(document, dict):
            document.pop(BODY_FIELD, None)
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


async def claim(session: AsyncSession, claim: Claim) -> None:
    """Lock the key for this transaction and replay or reject if it was used before."""
    if not await repository.try_lock(session, claim.scope, claim.key):
        raise RequestInProgress()
    record = await repository.live(session, claim.scope, claim.key)
    if record is None:
        return
    if record.fingerprint != claim.fingerprint:
        raise KeyReused()
    raise Replay(record)


async def store(session: AsyncSession, claim: Claim, response: Response, ttl_hours: int) -> None:
    await repository.save(
        session,
        scope=claim.scope,
        key=claim.key,
        fingerprint=claim.fingerprint,
        status_code=response.status_code,
        response_body=bytes(response.body),
        content_type=response.media_type or "application/json",
        expires_at=datetime.now(UTC) + timedelta(hours=ttl_hours),
    )


async def purge_expired(session: AsyncSession) -> int:
    """Housekeeping: keys past their time to live."""
    return await repository.purge_expired(session)
