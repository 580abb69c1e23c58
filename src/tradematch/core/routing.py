"""One transaction per request, owned by the route.

``TransactionalRoute`` opens the session before the handler's dependencies run, and after the
endpoint has produced its response it stores the idempotency record, writes the collected events
and commits — all before the response is sent. Any error rolls everything back, so a failed
request leaves no partial state and stores no idempotency record.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.responses import Response

from tradematch.authz.actor import Actor
from tradematch.core import compensation
from tradematch.core.deps import optional_actor
from tradematch.core.errors import ValidationFailed
from tradematch.core.metrics import IDEMPOTENT_REPLAYS
from tradematch.events import service as events
from tradematch.idempotency import service as idempotency
from tradematch.kit.schemas import ERROR_RESPONSES

MUTATING_METHODS = frozenset({"POST", "PATCH", "PUT"})
_ANONYMOUS_SCOPE = "__idempotency_anonymous_scope__"
_NO_IDEMPOTENCY = "__idempotency_not_applicable__"
_STREAMED_BODY = "__idempotency_streamed_body__"

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        max_length=255,
        description="Makes the request safe to retry (or send `idempotency_key` in the body).",
    ),
]


def anonymous_idempotency(body_field: str) -> Callable[[Any], Any]:
    """Mark an anonymous endpoint whose idempotency keys are scoped by a body field (lowercased),
    e.g. registration by the email being registered."""

    def mark(endpoint: Any) -> Any:
        setattr(endpoint, _ANONYMOUS_SCOPE, body_field)
        return endpoint

    return mark


def naturally_idempotent(endpoint: Any) -> Any:
    """Mark an endpoint that stores nothing a retry could duplicate (login): keys are ignored."""
    setattr(endpoint, _NO_IDEMPOTENCY, True)
    return endpoint


def streams_body(endpoint: Any) -> Any:
    """Mark an endpoint that reads its own large body as a stream (file uploads): the route
    does not buffer the body to fingerprint it. The endpoint calls ``claim_streamed_key`` once
    it has read the body, with a digest of what it read."""
    setattr(endpoint, _STREAMED_BODY, True)
    return endpoint


async def _claim(request: Request, scope: str, key: str, body: bytes) -> None:
    claim = idempotency.Claim(
        scope=scope,
        key=key,
        fingerprint=idempotency.fingerprint(request.method, request.url.path, body),
    )
    session = request.state.session
    await idempotency.claim(session, claim)
    request.state.idempotency_claim = claim
    session.info["idempotency_key"] = key


async def _user_idempotency_guard(
    request: Request,
    actor: Annotated[Actor | None, Depends(optional_actor)],
    idempotency_key: IdempotencyKeyHeader = None,
) -> None:
    if actor is None:
        return  # the endpoint's own auth dependency answers 401
    body = await request.body()
    key = idempotency.extract_key(idempotency_key, body)
    if key is not None:
        await _claim(request, f"user:{actor.user_id}", key, body)


async def _streamed_idempotency_guard(
    request: Request,
    actor: Annotated[Actor | None, Depends(optional_actor)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=idempotency.HEADER, max_length=255, description="Makes the request safe to retry."
        ),
    ] = None,
) -> None:
    if actor is not None:
        key = idempotency.extract_key(idempotency_key, b"")
        request.state.streamed_idempotency = (f"user:{actor.user_id}", key)


async def claim_streamed_key(request: Request, digest: bytes) -> None:
    """Claim the Idempotency-Key of a ``streams_body`` endpoint, fingerprinted by ``digest``."""
    pending: tuple[str, str | None] | None = getattr(request.state, "streamed_idempotency", None)
    if pending is not None and pending[1] is not None:
        await _claim(request, pending[0], pending[1], digest)


async def _anonymous_idempotency_guard(
    request: Request, idempotency_key: IdempotencyKeyHeader = None
) -> None:
    body = await request.body()
    key = idempotency.extract_key(idempotency_key, body)
    if key is None:
        return
    field = getattr(request.scope["route"].endpoint, _ANONYMOUS_SCOPE)
    try:
        value = json.loads(body).get(field)
    except (ValueError, AttributeError):
        return  # the body is invalid; validation answers 422 and nothing is stored
    if isinstance(value, str):
        await _claim(request, f"{field}:{value.strip().lower()}", key, body)


def _guard_for(endpoint: Any) -> Any:
    if getattr(endpoint, _NO_IDEMPOTENCY, False):
        return None
    if getattr(endpoint, _STREAMED_BODY, False):
        return _streamed_idempotency_guard
    if hasattr(endpoint, _ANONYMOUS_SCOPE):
        return _anonymous_idempotency_guard
    return _user_idempotency_guard


class TransactionalRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {m.upper() for m in kwargs.get("methods") or ()}
        kwargs["responses"] = {**ERROR_RESPONSES, **(kwargs.get("responses") or {})}
        guard = _guard_for(endpoint) if methods & MUTATING_METHODS else None
        if guard is not None:
            kwargs["dependencies"] = [*(kwargs.get("dependencies") or []), Depends(guard)]
        super().__init__(path, endpoint, **kwargs)
        self.known_query_parameters = frozenset(
            param.alias for param in self.dependant.query_params
        ) | frozenset(
            param.alias for dep in _all_dependants(self.dependant) for param in dep.query_params
        )

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run_in_transaction(request: Request) -> Response:
            reject_unknown_query_parameters(request, self.known_query_parameters)
            async with request.app.state.sessionmaker() as session:
                request.state.session = session
                try:
                    response = await handler(request)
                    if response.status_code >= 400:
                        await session.rollback()
                        await compensation.undo(session)
                        return response
                    claim: idempotency.Claim | None = getattr(
                        request.state, "idempotency_claim", None
                    )
                    if claim is not None:
                        await idempotency.store(
                            session,
                            claim,
                            response,
                            request.app.state.settings.idempotency_ttl_hours,
                        )
                    await events.flush(session)
                    await session.commit()
                    compensation.forget(session)
                except idempotency.Replay as replay:
                    await session.rollback()
                    await compensation.undo(session)
                    IDEMPOTENT_REPLAYS.inc()
                    return replay.response()
                except BaseException:
                    events.discard_pending(session)
                    await session.rollback()
                    await compensation.undo(session)
                    raise
                return response

        return run_in_transaction


def _all_dependants(dependant: Dependant) -> list[Dependant]:
    found = []
    for sub in dependant.dependencies:
        found.append(sub)
        found.extend(_all_dependants(sub))
    return found


def reject_unknown_query_parameters(request: Request, known: frozenset[str]) -> None:
    """Unknown fields are rejected everywhere, query strings included (a typo is a 422)."""
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise ValidationFailed("Unknown query parameters", unknown=unknown[:10])
