from __future__ import annotations

from datetime import datetime
from typing import Literal

from tradematch.escrow.states import EscrowStatus
from tradematch.kit.money import Money, Pounds
from tradematch.kit.schemas import RequestModel, ResponseModel


class EscrowView(ResponseModel):
    """The job's escrow, for its customer, the winning vendor (read-only) and admins."""

    escrow_id: str
    job_id: str
    status: EscrowStatus
    total: Money
    funded: Money
    released: Money
    refunded: Money
    balance: Money
    created_at: datetime
    updated_at: datetime


class EscrowFunded(ResponseModel):
    escrow_id: str
    job_id: str
    status: EscrowStatus
    funded: Money
    event_id: str


class TopUp(RequestModel):
    amount: Pounds


class WalletEntry(ResponseModel):
    transaction_id: str
    kind: str
    amount: Money
    job_id: str | None
    created_at: datetime


class WalletView(ResponseModel):
    balance: Money
    currency: str = "GBP"
    entries: list[WalletEntry]


class ToppedUp(ResponseModel):
    balance: Money
    transaction_id: str
    event_id: str


class EscrowAdminView(EscrowView):
    """Admins also see who the parties are and which quote the escrow is for."""

    customer_id: str
    vendor_id: str
    quote_id: str


class PayoutRequest(RequestModel):
    amount: Pounds


class PayoutView(ResponseModel):
    """Money sent from the user's wallet to their bank through the payment provider."""

    payout_id: str
    amount: Money
    status: str
    wallet: Literal["customer_wallet", "vendor_wallet"]
    provider: str
    transaction_id: str
    created_at: datetime
    sent_at: datetime | None


class PayoutMade(PayoutView):
    balance: Money  # what is left in the wallet
    event_id: str


class PayoutList(ResponseModel):
    items: list[PayoutView]


class PayoutAdminView(PayoutView):
    user_id: str


class PayoutAdminList(ResponseModel):
    items: list[PayoutAdminView]
