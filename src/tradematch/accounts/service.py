"""Accounts: registration, signing in (rate-limited), the signed-in user."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tradematch.accounts import repository
from tradematch.accounts.models import User
from tradematch.accounts.schemas import RegisterRequest, UserResponse
from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role
from tradematch.core.config import Settings
from tradematch.core.errors import Conflict, NotFound, RateLimited, Unauthorized
from tradematch.core.security import hash_password, issue_token, verify_password
from tradematch.events.unit_of_work import unit_of_work
from tradematch.kit.ids import new_id
from tradematch.kit.postcodes import outcode_of
from tradematch.vendors import service as vendors


class EmailTaken(
    Conflict, code="EMAIL_TAKEN", message="An account with this email already exists"
): ...


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


def issue(settings: Settings, signing_key: str, user: User) -> IssuedToken:
    token = issue_token(signing_key, user.id, user.role, settings.jwt_ttl_seconds)
    return IssuedToken(access_token=token, expires_in=settings.jwt_ttl_seconds)


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    name: str,
    phone: str,
    postcode: str,
    role: Role,
) -> User:
    if await repository.email_taken(session, email):
        raise EmailTaken()
    user = User(
        id=new_id("usr"),
        email=email,
        password_hash=hash_password(password),
        name=name,
        phone=phone,
        postcode=postcode,
        outcode=outcode_of(postcode),
        role=role.value,
    )
    return await repository.add(session, user)


async def register(session: AsyncSession, request: RegisterRequest) -> User:
    user = await create_user(
        session,
        email=request.email,
        password=request.password,
        name=request.name,
        phone=request.phone,
        postcode=request.postcode,
        role=Role(request.role),
    )
    if request.role == "vendor":
        assert request.business_name and request.trades and request.service_radius_miles
        await vendors.create_profile(
            session,
            user.id,
            business_name=request.business_name,
            postcode=request.postcode,
            service_radius_miles=request.service_radius_miles,
            trades=request.trades,
        )
    return user


def _retry_after(window_seconds: int, oldest: datetime) -> int:
    elapsed = (datetime.now(UTC) - oldest).total_seconds()
    return max(1, math.ceil(window_seconds - elapsed))


async def _refuse_over_limits(
    session: AsyncSession, limits: dict[str, int], window_seconds: int
) -> None:
    """429 if any bucket has reached its limit within the window (Retry-After: when its oldest
    counted attempt leaves the window)."""
    waits = [
        _retry_after(window_seconds, oldest)
        for bucket, count, oldest in await repository.recent_failures(
            session, list(limits), window_seconds
        )
        if count >= limits[bucket]
    ]
    if waits:
        raise RateLimited(retry_after=max(waits))


async def check_registration_allowed(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    client: str,
) -> None:
    """Registration attempts (taken or not) are counted per client address: creating accounts
    in bulk, or probing which emails have one (409 EMAIL_TAKEN), is bounded (429)."""
    bucket = f"{repository.REGISTER_PREFIX}{client}"
    await _refuse_over_limits(
        session, {bucket: settings.register_max_per_client}, settings.register_window_seconds
    )
    # Counted in a transaction of its own: a refused registration rolls its own one back.
    async with unit_of_work(sessionmaker) as side:
        await repository.record_failure(side, [bucket])


async def login(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    email: str,
    password: str,
    client: str,
) -> User:
    """Failed logins are counted per email from this client (the tight limit: an attacker
    guessing from one address), per email over all clients (a higher ceiling: an attack spread
    over many addresses) and per client over all emails. The owner signing in from their own
    address is held back only by the ceiling, never by someone else's guesses alone."""
    address = email.lower()
    limits = {
        f"email-client:{address}|{client}": settings.login_max_attempts,
        f"email:{address}": settings.login_max_attempts_per_email,
        f"client:{client}": settings.login_max_attempts_per_client,
    }
    await _refuse_over_limits(session, limits, settings.login_window_seconds)
    user = await repository.by_email(session, email)
    # The password is verified whether or not the account exists (against a dummy hash when it
    # does not): a failed login costs the same either way, so its timing tells no one whether
    # the email has an account.
    matches = verify_password(user.password_hash if user else None, password)
    if user is None or not user.is_active or not matches:
        # Recorded in a transaction of its own: this request's transaction rolls back on 401.
        async with unit_of_work(sessionmaker) as side:
            await repository.record_failure(side, list(limits))
        raise Unauthorized("Incorrect email or password")
    return user


async def forget_old_failures(session: AsyncSession, settings: Settings) -> int:
    """Housekeeping: attempts outside every rate-limit window no longer count."""
    return await repository.forget_failures(
        session, settings.login_window_seconds, settings.register_window_seconds
    )


async def actor_for(session: AsyncSession, user_id: str) -> Actor | None:
    """The acting user behind a token: the role as stored now (a role change applies at once);
    None for an unknown or disabled account."""
    role = await repository.active_role(session, user_id)
    return None if role is None else Actor(user_id=user_id, role=Role(role))


async def active_roles(conn: Any, user_ids: Sequence[str]) -> dict[str, str]:
    """The role of each still-active account among ``user_ids`` (the live-update hub checks
    its sockets' users with it, on its own connection)."""
    return await repository.active_roles(conn, user_ids)


async def account(session: AsyncSession, actor: Actor) -> User:
    """The actor's own account."""
    user = await repository.by_id(session, actor.user_id)
    if user is None:
        raise NotFound()
    return user


async def load_profile(session: AsyncSession, user: User) -> UserResponse:
    """The user as they see themself (with their vendor profile, for vendors)."""
    profile = None
    if user.role == Role.VENDOR.value:
        profile = await vendors.own_profile(session, Actor(user.id, Role(user.role)))
    return UserResponse(
        user_id=user.id,
        role=Role(user.role),
        email=user.email,
        name=user.name,
        phone=user.phone,
        postcode=user.postcode,
        vendor_profile=profile,
    )


async def me(session: AsyncSession, actor: Actor) -> UserResponse:
    return await load_profile(session, await account(session, actor))
