from __future__ import annotations

from fastapi import APIRouter

from tradematch.api.deps import ActorDep, SessionDep, VendorDep
from tradematch.api.idempotency import Idempotent
from tradematch.api.routing import TransactionalRoute
from tradematch.kit.catalogue import Trade
from tradematch.kit.ids import UserId
from tradematch.vendors import service
from tradematch.vendors.schemas import (
    TradeCatalogue,
    VendorProfileOwn,
    VendorProfileUpdate,
    VendorPublicProfile,
)

router = APIRouter(tags=["vendors"], route_class=TransactionalRoute)


class OwnProfileResponse(VendorProfileOwn):
    vendor_id: str


@router.get("/trades", response_model=TradeCatalogue)
async def trade_catalogue() -> TradeCatalogue:
    """The fixed catalogue of trades (for sign-up and job forms); no sign-in needed."""
    return TradeCatalogue(items=list(Trade))


@router.patch("/vendors/me", response_model=OwnProfileResponse, dependencies=[Idempotent])
async def update_my_profile(
    body: VendorProfileUpdate, actor: VendorDep, session: SessionDep
) -> OwnProfileResponse:
    """Change my business name, trades, base postcode, service radius or availability."""
    profile = await service.update_own_profile(session, actor, body)
    return OwnProfileResponse(vendor_id=actor.user_id, **profile.model_dump())


@router.get("/vendors/{vendor_id}", response_model=VendorPublicProfile)
async def get_vendor(
    vendor_id: UserId, actor: ActorDep, session: SessionDep
) -> VendorPublicProfile:
    """A vendor's limited profile: name, trades, rating, badges and distance from you.

    Customers and admins read any active vendor's profile. A vendor reads only its own: another
    vendor's id answers 404, exactly like an id that does not exist (a vendor sees nothing about
    competing vendors)."""
    return await service.public_profile(session, actor, vendor_id)
