from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from tradematch.kit.money import Money
from tradematch.kit.schemas import LongText, Reason, RequestModel, ResponseModel
from tradematch.messaging.schemas import HttpsUrl


class Evidence(RequestModel):
    photos: Annotated[list[HttpsUrl], Field(max_length=10)] = Field(default_factory=list)
    description: LongText


class SubmitMilestone(RequestModel):
    completion_evidence: Evidence


class RequestChanges(RequestModel):
    reason: Reason


class MilestoneView(ResponseModel):
    milestone_id: str
    job_id: str
    position: int
    title: str
    amount: Money
    status: str
    evidence: dict[str, Any] | None
    changes_reason: str | None
    submitted_at: datetime | None
    approved_at: datetime | None
    released_at: datetime | None


class MilestoneList(ResponseModel):
    items: list[MilestoneView]


class MilestoneChanged(ResponseModel):
    milestone_id: str
    status: str
    event_id: str
    message: str | None = None
