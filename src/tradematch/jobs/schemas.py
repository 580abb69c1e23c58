from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, model_validator

from tradematch.jobs.states import JobStatus
from tradematch.kit.catalogue import Timeframe, Trade
from tradematch.kit.money import Money, Pounds
from tradematch.kit.postcodes import Postcode
from tradematch.kit.schemas import LongText, RequestModel, ResponseModel, Title
from tradematch.uploads.schemas import UploadIds, UploadView


class JobCreate(RequestModel):
    title: Title
    trade_category: Trade
    budget_min: Pounds
    budget_max: Pounds
    timeframe: Timeframe
    description: LongText | None = None
    postcode: Postcode | None = None
    photo_upload_ids: UploadIds = Field(default_factory=list)

    @model_validator(mode="after")
    def _budget_order(self) -> JobCreate:
        if self.budget_min > self.budget_max:
            raise ValueError("budget_min must not exceed budget_max")
        return self


class JobUpdate(RequestModel):
    title: Title | None = None
    trade_category: Trade | None = None
    budget_min: Pounds | None = None
    budget_max: Pounds | None = None
    timeframe: Timeframe | None = None
    description: LongText | None = None
    postcode: Postcode | None = None
    photo_upload_ids: Annotated[
        UploadIds | None, Field(description="The draft's photos, replacing the current ones.")
    ] = None

    @model_validator(mode="after")
    def _something(self) -> JobUpdate:
        changed = self.model_fields_set
        if not changed:
            raise ValueError("give at least one field to change")
        for name in changed - {"description"}:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class JobCreated(ResponseModel):
    job_id: str
    status: JobStatus
    event_id: str


class JobPublished(ResponseModel):
    job_id: str
    status: JobStatus
    leads_assigned: int
    message: str
    event_id: str


class JobChanged(ResponseModel):
    job_id: str
    status: JobStatus
    event_id: str


class JobDetail(ResponseModel):
    """The customer's (and admin's) view of a job."""

    job_id: str
    status: JobStatus
    title: str
    description: str | None
    trade_category: Trade
    budget_min: Money
    budget_max: Money
    timeframe: Timeframe
    postcode: str
    leads_assigned: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    cancelled_at: datetime | None
    photo_uploads: list[UploadView]


class JobList(ResponseModel):
    items: list[JobDetail]
    next_cursor: str | None
