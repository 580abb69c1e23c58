"""Idempotency keys at the edge (contract §8).

Every route that changes something declares its policy as a dependency, and a test holds every
POST, PATCH and PUT route to having exactly one:

- ``Idempotent``: keys scoped by the signed-in user (``user:<id>``);
- ``IdempotentStream``: keys scoped by the signed-in user, for a route that reads its own large
  body as a stream (file uploads): the body is not buffered to fingerprint it; the endpoint
  claims the key with ``claim_streamed`` once it has read the body, with a digest of it;
- ``idempotent_by(field)``: an anonymous route, keys scoped by a body field (registration: the
  email being registered);
- ``NaturallyIdempotent``: the route stores nothing a retry could duplicate (signing in): keys
  are ignored.

The key comes from the ``Idempotency-Key`` header or the body's ``idempotency_key`` (as the seed
shows); request models drop that field (``kit.schemas.RequestModel``), so services never see it.
The claim, the replay of a stored answer and the storing of a new one are
``idempotency.service``'s; storing runs in the request's own transaction, just before it commits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.dependencies.models import Dependant
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from tradematch.api.deps import optional_actor
from tradematch.api.routing import after_validation, before_commit
from tradematch.authz.actor import Actor
from tradematch.core.metrics import IDEMPOTENT_REPLAYS
from tradematch.events import log as events
from tradematch.idempotency import service as idempotency

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        max_length=255,
        description="Makes the request safe to retry (or send `idempotency_key` in the body).",
    ),
]


async def _claim(request: Request, scope: str, key: str, body: bytes) -> None:
    """Claim the key once the request has passed validation: the claim reads the database, and
    an invalid request (a NUL byte or a lone surrogate in the scoping field, a malformed id in
    the path) must answer 422 without reaching it."""

    async def claim_now() -> None:
        await _claim_now(request, scope, key, body)

    after_validation(request, claim_now)


async def _claim_now(request: Request, scope: str, key: str, body: bytes) -> None:
    claim = idempotency.Claim(
        scope=scope,
        key=key,
        fingerprint=idempotency.fingerprint(request.method, request.url.path, body),
    )
    session: AsyncSession = request.state.session
    await idempotency.claim(session, claim)
    events.record_idempotency_key(session, key)
    ttl_hours = request.app.state.settings.idempotency_ttl_hours

    async def store(session: AsyncSession, response: Response) -> None:
        await idempotency.store(session, claim, response, ttl_hours)

    before_commit(request, store)


async def per_user(
    request: Request,
    actor: Annotated[Actor | None, Depends(optional_actor)],
    idempotency_key: IdempotencyKeyHeader = None,
) -> None:
    """Keys scoped by the signed-in user."""
    if actor is None:
        return  # the endpoint's own auth dependency answers 401
    body = await request.body()
    key = idempotency.extract_key(idempotency_key, body)
    if key is not None:
        await _claim(request, f"user:{actor.user_id}", key, body)


async def per_user_streamed(
    request: Request,
    actor: Annotated[Actor | None, Depends(optional_actor)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=idempotency.HEADER, max_length=255, description="Makes the request safe to retry."
        ),
    ] = None,
) -> None:
    """Keys scoped by the signed-in user, claimed by the endpoint once it has read its body."""
    if actor is None:
        return  # the endpoint's own auth dependency answers 401
    key = idempotency.extract_key(idempotency_key, b"")
    if key is not None:
        request.state.streamed_idempotency = (f"user:{actor.user_id}", key)


async def claim_streamed(request: Request, digest: bytes) -> None:
    """Claim the key of an ``IdempotentStream`` route, the request fingerprinted by ``digest``
    (what identifies the body: for a file upload, the file and its name, not the framing)."""
    pending: tuple[str, str] | None = getattr(request.state, "streamed_idempotency", None)
    if pending is not None:
        await _claim_now(request, *pending, digest)  # the endpoint runs: all is validated


def idempotent_by(field: str) -> DependsParam:
    """Keys of an anonymous route, scoped by the (lowercased) body field ``field``."""

    async def per_body_field(
        request: Request, idempotency_key: IdempotencyKeyHeader = None
    ) -> None:
        body = await request.body()
        key = idempotency.extract_key(idempotency_key, body)
        if key is None:
            return
        try:
            value = json.loads(body).get(field)
        except (ValueError, AttributeError):
            return  # the body is invalid; validation answers 422 and nothing is stored
        if isinstance(value, str):
            await _claim(request, f"{field}:{value.strip().lower()}", key, body)

    per_body_field.__name__ = f"per_{field}"
    policy: DependsParam = Depends(per_body_field)
    return policy


async def ignored() -> None:
    """The route stores nothing a retry could duplicate: keys are ignored."""


Idempotent = Depends(per_user)
IdempotentStream = Depends(per_user_streamed)
NaturallyIdempotent = Depends(ignored)
POLICIES: tuple[Callable[..., Coroutine[Any, Any, None]], ...] = (
    per_user,
    per_user_streamed,
    ignored,
)


async def _replayed(request: Request, replay: Exception) -> Response:
    assert isinstance(replay, idempotency.Replay)
    IDEMPOTENT_REPLAYS.inc()
    return replay.response()


_REPLAYED_DOC = {
    "description": '"true" on the stored answer to an earlier request with the same '
    "Idempotency-Key (nothing was done again); absent otherwise.",
    "schema": {"type": "string", "enum": ["true"]},
}


def _replays(dependant: Dependant) -> bool:
    """Whether a route's policy stores answers to replay (every policy here but ``ignored``)."""
    return any(
        (dep.call is not ignored and getattr(dep.call, "__module__", None) == __name__)
        or _replays(dep)
        for dep in dependant.dependencies
    )


def _document_replays(app: FastAPI, routers: Iterable[tuple[str, APIRouter]]) -> None:
    """The success answer of every route that may replay documents the ``Idempotent-Replayed``
    header, found from the routes' declared policies (so the document cannot miss one)."""
    replaying = [
        (prefix + route.path_format, route)
        for prefix, router in routers
        for route in router.routes
        if isinstance(route, APIRoute) and _replays(route.dependant)
    ]
    build = app.openapi
    documented: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = build()
        if documented and documented[0] is schema:
            return schema
        documented[:] = [schema]
        for path, route in replaying:
            for method in route.methods or ():
                operation = schema["paths"][path][method.lower()]
                success = operation["responses"][str(route.status_code or 200)]
                success.setdefault("headers", {})[idempotency.REPLAYED_HEADER] = _REPLAYED_DOC
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI, routers: Iterable[tuple[str, APIRouter]]) -> None:
    """A repeated key answers with the stored response (raised by the claim, before the
    endpoint ran; the request's transaction is rolled back). ``routers``: the application's,
    with their prefixes, for the document."""
    app.add_exception_handler(idempotency.Replay, _replayed)
    _document_replays(app, routers)
