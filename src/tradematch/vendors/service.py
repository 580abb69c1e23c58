from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.accounts import repository as accounts
from tradematch.accounts.models import User
from tradematch.accounts.schemas import VendorProfileOwn
from tradematch.accounts.service import own_vendor_profile, rating_average
from tradematch.authz.actor import Actor
from tradematch.authz.scopes import active_vendors
from tradematch.core.errors import NotFound
from tradematch.kit.catalogue import Badge, Trade
from tradematch.kit.postcodes import distance_miles, outcode_of
from tradematch.vendors.models import VendorProfile
from tradematch.vendors.schemas import VendorProfileUpdate, VendorPublicProfile


async def public_profile(
    session: AsyncSession, actor: Actor, vendor_id: str
) -> VendorPublicProfile:
    row = (
        await session.execute(
            select(VendorProfile)
            .join(User, User.id == VendorProfile.user_id)
            .where(VendorProfile.user_id == vendor_id, active_vendors())
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("Vendor not found")
    viewer = await accounts.by_id(session, actor.user_id)
    distance = None
    if viewer is not None:
        distance = round(distance_miles(viewer.outcode, row.outcode), 1)
    return VendorPublicProfile(
        vendor_id=row.user_id,
        business_name=row.business_name,
        trades=[Trade(t) for t in await accounts.vendor_trades(session, row.user_id)],
        badges=[Badge(b) for b in row.badges],
        rating_average=rating_average(row),
        rating_count=row.rating_count,
        distance_miles=distance,
    )


async def update_own_profile(
    session: AsyncSession, actor: Actor, change: VendorProfileUpdate
) -> VendorProfileOwn:
    profile = await accounts.vendor_profile(session, actor.user_id, lock=True)
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
        await accounts.replace_trades(session, actor.user_id, [t.value for t in change.trades])
    await session.flush()
    return own_vendor_profile(profile, await accounts.vendor_trades(session, actor.user_id))
