from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tradematch.accounts import repository
from tradematch.accounts.models import User
from tradematch.accounts.schemas import RegisterRequest, UserResponse, VendorProfileOwn
from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role
from tradematch.core.config import Settings
from tradematch.core.errors import Conflict, NotFound, RateLimited, Unauthorized
from tradematch.core.security import hash_password, issue_token, verify_password
from tradematch.events.unit_of_work import unit_of_work
from tradematch.kit.catalogue import Trade
from tradematch.kit.ids import new_id
from tradematch.kit.postcodes import outcode_of
from tradematch.vendors.models import VendorProfile


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"
    message = "An account with this email already exists"


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
    session.add(user)
    await session.flush()
    return user


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
        session.add(
            VendorProfile(
                user_id=user.id,
                business_name=request.business_name,
                postcode=request.postcode,
                outcode=outcode_of(request.postcode),
                service_radius_miles=request.service_radius_miles,
                accepting_leads=True,
                badges=[],
            )
        )
        await session.flush()
        await repository.replace_trades(session, user.id, [t.value for t in request.trades])
    return user


async def login(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    email: str,
    password: str,
    client: str,
) -> User:
    limits = {
        f"email:{email.lower()}": settings.login_max_attempts,
        f"client:{client}": settings.login_max_attempts_per_client,
    }
    buckets = list(limits)
    for bucket, count, oldest in await repository.recent_failures(
        session, buckets, settings.login_window_seconds
    ):
        if count >= limits[bucket]:
            elapsed = (datetime.now(UTC) - oldest).total_seconds()
            raise RateLimited(
                retry_after=max(1, math.ceil(settings.login_window_seconds - elapsed))
            )
    user = await repository.by_email(session, email)
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        # Recorded in a transaction of its own: this request's transaction rolls back on 401.
        async with unit_of_work(sessionmaker) as side:
            await repository.record_failure(side, buckets)
        raise Unauthorized("Incorrect email or password")
    return user


async def load_profile(session: AsyncSession, user: User) -> UserResponse:
    profile = None
    if user.role == Role.VENDOR.value:
        vendor = await repository.vendor_profile(session, user.id)
        if vendor is not None:
            profile = own_vendor_profile(vendor, await repository.vendor_trades(session, user.id))
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
    user = await repository.by_id(session, actor.user_id)
    if user is None:
        raise NotFound()
    return await load_profile(session, user)


def rating_average(profile: VendorProfile) -> float | None:
    if profile.rating_count == 0:
        return None
    return round(profile.rating_total / profile.rating_count, 2)


def own_vendor_profile(profile: VendorProfile, trades: list[str]) -> VendorProfileOwn:
    return VendorProfileOwn(
        business_name=profile.business_name,
        trades=[Trade(t) for t in trades],
        postcode=profile.postcode,
        service_radius_miles=profile.service_radius_miles,
        accepting_leads=profile.accepting_leads,
        badges=profile.badges,
        rating_average=rating_average(profile),
        rating_count=profile.rating_count,
    )
