"""Lead views per audience. A field missing from a schema cannot leak through it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from tradematch.kit.catalogue import Timeframe, Trade
from tradematch.kit.money import Money
from tradematch.kit.schemas import Reason, RequestModel, ResponseModel
from tradematch.kit.text import Redacted
from tradematch.leads.states import LeadStatus
from tradematch.uploads.schemas import UploadView


class LeadPreview(ResponseModel):
    """What a vendor sees before accepting: no customer identity, no full postcode, no price.

    Contact details typed into the title or description are redacted.
    """

    lead_id: str
    job_id: str
    status: LeadStatus
    trade_category: Trade
    title: Redacted
    description: Redacted | None
    budget_min: Money
    budget_max: Money
    timeframe: Timeframe
    outcode: str
    approx_distance_miles: float
    offered_at: datetime
    expires_at: datetime
    photo_uploads: list[UploadView] = Field(
        description="The job's photos (contact details in their names redacted)."
    )
    contact_unlocked: bool = Field(False, description="False: customer details are hidden.")


class CustomerContact(ResponseModel):
    name: str
    phone: str
    email: str
    postcode: str


class LeadDetail(ResponseModel):
    """What a vendor sees once it has accepted: the customer's contact and the full job."""

    lead_id: str
    job_id: str
    status: LeadStatus
    trade_category: Trade
    title: str
    description: str | None
    budget_min: Money
    budget_max: Money
    timeframe: Timeframe
    outcode: str
    postcode: str
    approx_distance_miles: float
    offered_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    conversation_id: str | None
    customer: CustomerContact
    photo_uploads: list[UploadView] = Field(description="The job's photos.")
    contact_unlocked: bool = Field(True, description="True: customer details are shown.")


LeadView = LeadDetail | LeadPreview


class LeadList(ResponseModel):
    items: list[LeadDetail | LeadPreview]
    next_cursor: str | None


class LeadAdmin(ResponseModel):
    """Admin only: the unmasked lead with its price."""

    lead_id: str
    job_id: str
    vendor_id: str
    status: LeadStatus
    price: Money
    distance_miles: float
    offered_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    declined_at: datetime | None
    decline_reason: str | None
    closed_at: datetime | None


class LeadAccepted(ResponseModel):
    lead_id: str
    conversation_id: str
    event_id: str
    message: str


class LeadDeclined(ResponseModel):
    lead_id: str
    status: LeadStatus
    event_id: str


class DeclineRequest(RequestModel):
    reason: Annotated[Reason | None, Field(description="Optional, kept for the platform only.")] = (
        None
    )


class VendorContact(ResponseModel):
    name: str
    phone: str
    email: str


class EngagedVendor(ResponseModel):
    """A vendor who accepted the customer's lead: limited profile plus contact details."""

    vendor_id: str
    business_name: str
    rating_average: float | None
    rating_count: int
    badges: list[str]
    distance_miles: float
    lead_status: LeadStatus
    conversation_id: str | None
    contact: VendorContact


class EngagedVendorList(ResponseModel):
    items: list[EngagedVendor]
