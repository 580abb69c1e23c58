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
from fastapi.routing import APIRoute
from starlette.responses import Response

from tradematch.authz.actor import Actor
from tradematch.core.deps import optional_actor
from tradematch.core.metrics import IDEMPOTENT_REPLAYS
from tradematch.events import service as events
from tradematch.idempotency import service as idempotency

MUTATING_METHODS = frozenset({"POST", "PATCH", "PUT"})
ANONYMOUS_SCOPE_ATTR = "__idempotency_anonymous_scope__"


def anonymous_idempotency(body_field: str) -> Callable[[Any], Any]:
    """Mark an anonymous endpoint whose idempotency keys are scoped by a body field (lowercased),
    e.g. registration by the email being registered."""

    def mark(endpoint: Any) -> Any:
        setattr(endpoint, ANONYMOUS_SCOPE_ATTR, body_field)
        return endpoint

    return mark


async def _idempotency_guard(
    request: Request,
    actor: Annotated[Actor | None, Depends(optional_actor)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=idempotency.HEADER,
            max_length=255,
            description="Makes the request safe to retry (or send `idempotency_key` in the body).",
        ),
    ] = None,
) -> None:
    body = await request.body()
    key = idempotency.extract_key(idempotency_key, body)
    if key is None:
        return
    scope = _scope(request, actor, body)
    if scope is None:
        return
    claim = idempotency.Claim(
        scope=scope, key=key, fingerprint=idempotency.fingerprint(request.method, request.url.path, body)
    )
    session = request.state.session
    await idempotency.claim(session, claim)
    request.state.idempotency_claim = claim
    session.info["idempotency_key"] = key


def _scope(request: Request, actor: Actor | None, body: bytes) -> str | None:
    if actor is not None:
        return f"user:{actor.user_id}"
    field = getattr(request.scope["route"].endpoint, ANONYMOUS_SCOPE_ATTR, None)
    if field is None:
        return None
    try:
        value = json.loads(body).get(field)
    except (ValueError, AttributeError):
        return None
    return f"{field}:{value.strip().lower()}" if isinstance(value, str) else None


class TransactionalRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {m.upper() for m in kwargs.get("methods") or ()}
        if methods & MUTATING_METHODS:
            kwargs["dependencies"] = [*(kwargs.get("dependencies") or []), Depends(_idempotency_guard)]
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run_in_transaction(request: Request) -> Response:
            async with request.app.state.sessionmaker() as session:
                request.state.session = session
                try:
                    response = await handler(request)
                    if response.status_code >= 400:
                        await session.rollback()
                        return response
                    claim: idempotency.Claim | None = getattr(request.state, "idempotency_claim", None)
                    if claim is not None:
                        await idempotency.store(
                            session, claim, response, request.app.state.settings.idempotency_ttl_hours
                        )
                    await events.flush(session)
                    await session.commit()
                except idempotency.Replay as replay:
                    await session.rollback()
                    IDEMPOTENT_REPLAYS.inc()
                    return replay.response()
                except BaseException:
                    events.discard_pending(session)
                    await session.rollback()
                    raise
                return response

        return run_in_transaction
