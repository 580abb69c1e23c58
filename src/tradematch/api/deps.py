"""What endpoints declare: the request's session, settings, the acting user and their role, an
empty body. (The strict query string is the route's: ``api.routing.TransactionalRoute``.)"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Body, Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.accounts import service as accounts
from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role, require
from tradematch.core.config import Settings
from tradematch.core.errors import Unauthorized
from tradematch.core.security import read_token
from tradematch.kit.schemas import EmptyRequest

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/auth/login")


async def get_session(request: Request) -> AsyncSession:
    """The request's session; its transaction is committed by the route (see api/routing.py)."""
    session: AsyncSession = request.state.session
    return session


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_address(request: Request) -> str:
    """Who the request comes from, for per-client rate limits: the peer address of the
    connection (uvicorn replaces it with the X-Forwarded-For address only when the peer is one
    of TRADEMATCH_FORWARDED_ALLOW_IPS, the trusted reverse proxies)."""
    return request.client.host if request.client else "unknown"


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def optional_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor | None:
    """The signed-in user, or None without a bearer token. Every authenticated request resolves
    this, some twice (the idempotency dependency and the role check): it reads the request's
    session from the request rather than declaring ``SessionDep``, one node fewer for FastAPI
    to solve each time."""
    if credentials is None:
        return None
    claims = read_token(request.app.state.signing_key, credentials.credentials)
    actor = await accounts.actor_for(await get_session(request), claims.user_id)
    if actor is None:
        raise Unauthorized("Invalid or expired token")
    request.state.actor = actor
    return actor


async def current_actor(actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
    if actor is None:
        raise Unauthorized()
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]


def require_role(*roles: Role) -> Callable[..., Coroutine[Any, Any, Actor]]:
    """A dependency that lets only ``roles`` through (403 FORBIDDEN for any other role)."""

    async def dependency(actor: ActorDep) -> Actor:
        require(actor, *roles)
        return actor

    return dependency


CustomerDep = Annotated[Actor, Depends(require_role(Role.CUSTOMER))]
VendorDep = Annotated[Actor, Depends(require_role(Role.VENDOR))]
AdminDep = Annotated[Actor, Depends(require_role(Role.ADMIN))]
CustomerOrAdminDep = Annotated[Actor, Depends(require_role(Role.CUSTOMER, Role.ADMIN))]
VendorOrAdminDep = Annotated[Actor, Depends(require_role(Role.VENDOR, Role.ADMIN))]

# An action that takes no input: no body, ``{}``, or only an ``idempotency_key``. The body is
# optional with a concrete schema (not "model or null"), so generated clients may leave it out.
EmptyBody = Annotated[EmptyRequest, Body(default_factory=EmptyRequest)]


def all_dependants(dependant: Dependant) -> list[Dependant]:
    """``dependant`` (a route's, say) and everything it depends on, at any depth."""
    found = [dependant]
    for sub in dependant.dependencies:
        found.extend(all_dependants(sub))
    return found
