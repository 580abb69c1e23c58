"""Vendor profiles: the limited public view, the vendor's own, and the rating aggregate."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role, require
from tradematch.authz.scopes import (
    active_vendors,
    own_vendor_profile,
    vendors_with_public_reviews,
)
from tradematch.core.errors import NotFound
from tradematch.kit.catalogue import Badge, Trade
from tradematch.kit.postcodes import distance_miles, outcode_of
from tradematch.vendors import repository
from tradematch.vendors.models import VendorProfile
from tradematch.vendors.schemas import VendorProfileOwn, VendorProfileUpdate, VendorPublicProfile


def rating_average(profile: VendorProfile) -> float | None:
    if profile.rating_count == 0:
        return None
    return round(profile.rating_total / profile.rating_count, 2)


def _own_view(profile: VendorProfile, trades: list[str]) -> VendorProfileOwn:
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


async def create_profile(
    session: AsyncSession,
    vendor_id: str,
    *,
    business_name: str,
    postcode: str,
    service_radius_miles: int,
    trades: list[Trade],
) -> None:
    """A new vendor's profile (registration), accepting leads from the start."""
    await repository.add(
        session,
        VendorProfile(
            user_id=vendor_id,
            business_name=business_name,
            postcode=postcode,
            outcode=outcode_of(postcode),
            service_radius_miles=service_radius_miles,
            accepting_leads=True,
            badges=[],
        ),
    )
    await repository.replace_trades(session, vendor_id, [t.value for t in trades])


async def own_profile(session: AsyncSession, actor: Actor) -> VendorProfileOwn | None:
    """The actor's own vendor profile (None for other roles)."""
    profile = await repository.get(session, own_vendor_profile(actor), actor.user_id)
    if profile is None:
        return None
    return _own_view(profile, await repository.trades(session, actor.user_id))


async def reviews_readable(session: AsyncSession, actor: Actor, vendor_id: str) -> bool:
    """Whether the actor may read ``vendor_id``'s published reviews: any vendor, active or not
    (their reviews stay readable), for customers and admins; a vendor only its own."""
    return await repository.exists(session, vendors_with_public_reviews(actor), vendor_id)


async def public_profile(
    session: AsyncSession, actor: Actor, vendor_id: str
) -> VendorPublicProfile:
    profile = await repository.get(session, active_vendors(actor), vendor_id)
    if profile is None:
        raise NotFound("Vendor not found")
    viewer_outcode = await repository.outcode_of_user(session, actor.user_id)
    distance = None
    if viewer_outcode is not None:
        distance = round(distance_miles(viewer_outcode, profile.outcode), 1)
    return VendorPublicProfile(
        vendor_id=profile.user_id,
        business_name=profile.business_name,
        trades=[Trade(t) for t in await repository.trades(session, profile.user_id)],
        badges=[Badge(b) for b in profile.badges],
        rating_average=rating_average(profile),
        rating_count=profile.rating_count,
        distance_miles=distance,
    )


async def update_own_profile(
    session: AsyncSession, actor: Actor, change: VendorProfileUpdate
) -> VendorProfileOwn:
    require(actor, Role.VENDOR)
    profile = await repository.get(session, own_vendor_profile(actor), actor.user_id, lock=True)
    if profile is None:
        raise NotFound("Vendor profile not found")
    if change.business_name is not None:
        profile.business_name = change.business_name
    if change.postcode is not None:
        profile.postcode = change.postcode
        profile.outcode = outcode_of(change.postcode)
    if change.service_radius_miles is not None:
        profile.service_radius_miles = change.service_radius_miles
    if change.accepting_leads is not None:
        profile.accepting_leads = change.accepting_leads
    if change.trades is not None:
        await repository.replace_trades(session, actor.user_id, [t.value for t in change.trades])
    await session.flush()
    return _own_view(profile, await repository.trades(session, actor.user_id))


async def add_rating(session: AsyncSession, vendor_id: str, rating: int) -> None:
    """A published review counts towards the vendor's rating."""
    await repository.add_rating(session, vendor_id, rating)
