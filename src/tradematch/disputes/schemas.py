from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import model_validator

from tradematch.disputes.states import DisputeStatus
from tradematch.escrow.states import EscrowStatus
from tradematch.jobs.states import JobStatus
from tradematch.kit.money import Money, Pounds
from tradematch.kit.schemas import LongText, RequestModel, ResponseModel


class RaiseDispute(RequestModel):
    reason: LongText


class ResolveDispute(RequestModel):
    resolution: Literal["release_to_vendor", "refund_customer", "split", "resume"]
    vendor_share: Pounds | None = None
    note: LongText | None = None

    @model_validator(mode="after")
    def _share_only_for_split(self) -> ResolveDispute:
        if (self.resolution == "split") != (self.vendor_share is not None):
            raise ValueError("vendor_share is required for a split, and only for a split")
        return self


class DisputeView(ResponseModel):
    dispute_id: str
    job_id: str
    raised_by: str
    reason: str
    status: DisputeStatus
    resolution: str | None
    vendor_share: Money | None
    resolution_note: str | None
    created_at: datetime
    resolved_at: datetime | None


class DisputeList(ResponseModel):
    items: list[DisputeView]


class DisputeRaised(ResponseModel):
    dispute_id: str
    job_id: str
    status: DisputeStatus
    event_id: str


class DisputeResolved(ResponseModel):
    dispute_id: str
    job_id: str
    resolution: str
    job_status: JobStatus
    escrow_status: EscrowStatus | None
    event_id: str
