"""One transaction per request, owned by the route.

``TransactionalRoute`` opens the request's unit of work before the handler's dependencies run
and commits it after the endpoint has produced its response, before the response is sent: the
collected events are written last (``events.unit_of_work``), after whatever the request's
dependencies asked to run with the response (``before_commit``: the idempotency record). Any
error, or a response of 400 or more, rolls everything back, so a failed request leaves no
partial state.

Dependencies run before FastAPI validates the endpoint's own path, query and body, so a lookup a
dependency made would see input nobody has validated yet (a NUL byte in a body field reaching the
database). Such lookups are deferred with ``after_validation``: the route runs them once every
parameter and the body have been validated, just before the endpoint.

Reading requests (GET, HEAD) run in autocommit: each statement on its own, as READ COMMITTED
would give them anyway, without the BEGIN and COMMIT round trips. Pooled connections are not
pinged before use (a round trip per request); a reading request that meets a connection the
database has dropped is run once more on a fresh one, and any request that cannot reach the
database answers 503 DATABASE_UNAVAILABLE (``core/outage.py``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from tradematch.api.deps import all_dependants
from tradematch.core.errors import ValidationFailed
from tradematch.core.outage import is_database_unavailable
from tradematch.events.unit_of_work import unit_of_work

CommitStep = Callable[[AsyncSession, Response], Awaitable[None]]
ValidatedStep = Callable[[], Awaitable[None]]
_REQUEST: ContextVar[Request] = ContextVar("transactional_request")


def after_validation(request: Request, step: ValidatedStep) -> None:
    """Run ``step`` in the request's transaction once the whole request (path, query, headers
    and body) has passed validation, just before the endpoint; never for an invalid request."""
    request.state.after_validation.append(step)


def before_commit(request: Request, step: CommitStep) -> None:
    """Run ``step`` with the response in the request's transaction, just before it commits
    (only when the endpoint succeeded)."""
    request.state.before_commit.append(step)


class _Unsuccessful(Exception):
    """A response of 400 or more that the endpoint returned rather than raised: roll back."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _validated_first(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint``, running the request's ``after_validation`` steps first. FastAPI calls an
    endpoint only once every parameter and the body validated, so that is when they run. The
    wrapper keeps the endpoint's signature (``functools.wraps``), which FastAPI reads."""
    if getattr(endpoint, "runs_after_validation", False):
        return endpoint  # a router included into another builds its routes again
    if not inspect.iscoroutinefunction(endpoint):
        raise TypeError(f"{endpoint.__name__}: transactional endpoints are coroutines")

    @functools.wraps(endpoint)
    async def validated(*args: Any, **values: Any) -> Any:
        request = _REQUEST.get()
        for step in request.state.after_validation:
            await step()
        return await endpoint(*args, **values)

    validated.runs_after_validation = True  # type: ignore[attr-defined]
    return validated


READING_METHODS = frozenset({"GET", "HEAD"})


class TransactionalRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _validated_first(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        # Unknown fields are refused everywhere, query strings included: a typo is a 422, checked
        # before anything else runs (no transaction is opened for it).
        known_query = frozenset(
            param.alias for dep in all_dependants(self.dependant) for param in dep.query_params
        )

        async def run_in_transaction(request: Request) -> Response:
            if unknown := request.query_params.keys() - known_query:
                raise ValidationFailed("Unknown query parameters", unknown=sorted(unknown)[:10])
            state = request.app.state
            if request.method in READING_METHODS and hasattr(state, "read_sessionmaker"):
                try:
                    return await run_once(request, state.read_sessionmaker)
                except Exception as exc:
                    if not is_database_unavailable(exc):
                        raise
                # A dropped connection (the pool has discarded it): once more, on a fresh one.
                return await run_once(request, state.read_sessionmaker)
            return await run_once(request, state.sessionmaker)

        async def run_once(request: Request, sessionmaker: Any) -> Response:
            current = _REQUEST.set(request)
            try:
                async with unit_of_work(sessionmaker) as session:
                    request.state.session = session
                    request.state.before_commit = []
                    request.state.after_validation = []
                    response = await handler(request)
                    if response.status_code >= 400:
                        raise _Unsuccessful(response)
                    for step in request.state.before_commit:
                        await step(session, response)
            except _Unsuccessful as unsuccessful:
                return unsuccessful.response
            finally:
                _REQUEST.reset(current)
            return response

        return run_in_transaction
