"""Request dependencies: the transaction's session and the acting user."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.accounts import service as accounts
from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role
from tradematch.core.config import Settings
from tradematch.core.errors import Forbidden, Unauthorized
from tradematch.core.security import read_token

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/auth/login")


async def get_session(request: Request) -> AsyncSession:
    """The request's session; its transaction is committed by the route (see core.routing)."""
    session: AsyncSession = request.state.session
    return session


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def optional_actor(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor | None:
    if credentials is None:
        return None
    claims = read_token(request.app.state.signing_key, credentials.credentials)
    actor = await accounts.actor_for(session, claims.user_id)
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
        if actor.role not in roles:
            raise Forbidden()
        return actor

    return dependency


CustomerDep = Annotated[Actor, Depends(require_role(Role.CUSTOMER))]
VendorDep = Annotated[Actor, Depends(require_role(Role.VENDOR))]
AdminDep = Annotated[Actor, Depends(require_role(Role.ADMIN))]
CustomerOrAdminDep = Annotated[Actor, Depends(require_role(Role.CUSTOMER, Role.ADMIN))]
VendorOrAdminDep = Annotated[Actor, Depends(require_role(Role.VENDOR, Role.ADMIN))]
