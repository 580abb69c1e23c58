from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from tradematch.api.deps import (
    ActorDep,
    CustomerDep,
    EmptyBody,
    SessionDep,
    SettingsDep,
    require_role,
)
from tradematch.api.idempotency import Idempotent
from tradematch.api.routing import TransactionalRoute
from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role
from tradematch.escrow import service
from tradematch.escrow.schemas import (
    EscrowFunded,
    EscrowView,
    PayoutList,
    PayoutMade,
    PayoutRequest,
    ToppedUp,
    TopUp,
    WalletView,
)
from tradematch.kit.ids import JobId
from tradematch.kit.schemas import PAYMENT_REQUIRED, ErrorBody

router = APIRouter(tags=["escrow"], route_class=TransactionalRoute)

CAPPED: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorBody,
        "description": "`WALLET_CAP_EXCEEDED`: the top-up would take the wallet above the cap",
    }
}
WalletUser = Annotated[Actor, Depends(require_role(Role.CUSTOMER, Role.VENDOR))]


@router.get("/jobs/{job_id}/escrow", response_model=EscrowView)
async def get_escrow(job_id: JobId, actor: ActorDep, session: SessionDep) -> EscrowView:
    """The job's escrow: the customer's, the winning vendor's (read-only), or any for admins."""
    return await service.get_view(session, actor, job_id)


@router.post(
    "/jobs/{job_id}/escrow/fund",
    response_model=EscrowFunded,
    responses=PAYMENT_REQUIRED,
    dependencies=[Idempotent],
)
async def fund_escrow(
    job_id: JobId,
    actor: CustomerDep,
    session: SessionDep,
    settings: SettingsDep,
    body: EmptyBody,
) -> EscrowFunded:
    """Pay the quote's full amount into escrow (402 `ESCROW_INSUFFICIENT_BALANCE`: no change)."""
    return await service.fund(session, actor, settings, job_id)


@router.get("/wallet", response_model=WalletView)
async def get_wallet(actor: WalletUser, session: SessionDep) -> WalletView:
    """My wallet: a customer's sandbox balance, or a vendor's released earnings."""
    return await service.wallet(session, actor)


@router.post("/wallet/top-up", response_model=ToppedUp, responses=CAPPED, dependencies=[Idempotent])
async def top_up(
    body: TopUp, actor: CustomerDep, session: SessionDep, settings: SettingsDep
) -> ToppedUp:
    """Add sandbox money to my wallet (only with the sandbox payment provider), up to the
    sandbox cap on a wallet's balance (409 `WALLET_CAP_EXCEEDED`)."""
    return await service.top_up(session, actor, settings, body.amount)


@router.post(
    "/wallet/payouts",
    response_model=PayoutMade,
    status_code=201,
    responses=PAYMENT_REQUIRED,
    dependencies=[Idempotent],
)
async def request_payout(
    body: PayoutRequest, actor: WalletUser, session: SessionDep, settings: SettingsDep
) -> PayoutMade:
    """Send money from my wallet to my bank (402 `INSUFFICIENT_FUNDS`: no change). The sandbox
    provider sends it at once."""
    return await service.pay_out(session, actor, settings, body.amount)


@router.get("/wallet/payouts", response_model=PayoutList)
async def list_payouts(actor: WalletUser, session: SessionDep) -> PayoutList:
    """My payouts, newest first (the latest 50)."""
    return await service.payouts(session, actor)
