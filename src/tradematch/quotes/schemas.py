from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from tradematch.kit.ids import JobId
from tradematch.kit.money import Money, Pounds
from tradematch.kit.schemas import LongText, Reason, RequestModel, ResponseModel, Title
from tradematch.kit.text import NoContactDetails
from tradematch.quotes.states import QuoteStatus

# A quote stays visible to the customer after the vendor's lead has closed (and its contact
# details are hidden again), and its text is copied into the conversation and the milestones:
# contact details are refused (422) here, once, rather than chased through every copy.
Duration = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), NoContactDetails
]
QuoteText = Annotated[LongText, NoContactDetails]
MilestoneTitle = Annotated[Title, NoContactDetails]


class MilestonePlanItem(RequestModel):
    title: MilestoneTitle
    amount: Pounds


MilestonePlan = Annotated[list[MilestonePlanItem], Field(min_length=1, max_length=10)]


def _check_plan(amount: int | None, plan: list[MilestonePlanItem] | None) -> None:
    if plan is not None and amount is not None and sum(m.amount for m in plan) != amount:
        raise ValueError("milestone amounts must add up to the quote amount")


class QuoteCreate(RequestModel):
    job_id: JobId
    amount: Pounds
    description: QuoteText | None = None
    estimated_duration: Duration | None = None
    milestones: MilestonePlan | None = Field(
        default=None, description="Default: one milestone for the whole amount."
    )

    @model_validator(mode="after")
    def _plan_adds_up(self) -> QuoteCreate:
        _check_plan(self.amount, self.milestones)
        return self


class QuoteUpdate(RequestModel):
    amount: Pounds | None = None
    description: QuoteText | None = None
    estimated_duration: Duration | None = None
    milestones: MilestonePlan | None = None

    @model_validator(mode="after")
    def _something(self) -> QuoteUpdate:
        changed = self.model_fields_set
        if not changed:
            raise ValueError("give at least one field to change")
        for name in changed & {"amount", "milestones"}:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class QuoteDecision(RequestModel):
    reason: Reason | None = None


class MilestonePlanView(ResponseModel):
    title: str
    amount: Money


class QuoteView(ResponseModel):
    """A quote as its vendor, the job's customer and admins see it (no lead price anywhere)."""

    quote_id: str
    job_id: str
    vendor_id: str
    status: QuoteStatus
    amount: Money
    description: str | None
    estimated_duration: str | None
    milestones: list[MilestonePlanView]
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None


class QuoteList(ResponseModel):
    items: list[QuoteView]


class QuoteSent(ResponseModel):
    quote_id: str
    status: QuoteStatus
    event_id: str


class QuoteChanged(ResponseModel):
    quote_id: str
    status: QuoteStatus
    event_id: str


class QuoteAccepted(ResponseModel):
    quote_id: str
    job_id: str
    event_id: str
    message: str
