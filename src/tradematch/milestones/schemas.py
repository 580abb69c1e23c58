from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, model_validator

from tradematch.kit.money import Money
from tradematch.kit.schemas import LongText, Reason, RequestModel, ResponseModel
from tradematch.messaging.schemas import HttpsUrl
from tradematch.milestones.states import MilestoneStatus
from tradematch.uploads.schemas import UploadIds, UploadView


class Evidence(RequestModel):
    photos: Annotated[list[HttpsUrl], Field(max_length=10)] = Field(default_factory=list)
    photo_upload_ids: UploadIds = Field(default_factory=list)
    description: LongText

    @model_validator(mode="after")
    def _at_most_ten_photos(self) -> Evidence:
        if len(self.photos) + len(self.photo_upload_ids) > 10:
            raise ValueError("evidence carries at most 10 photos (URLs and uploads)")
        return self


class EvidenceView(ResponseModel):
    description: str
    photos: list[str]
    photo_upload_ids: list[str]
    photo_uploads: list[UploadView]


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
    status: MilestoneStatus
    evidence: EvidenceView | None
    changes_reason: str | None
    submitted_at: datetime | None
    approved_at: datetime | None
    released_at: datetime | None


class MilestoneList(ResponseModel):
    items: list[MilestoneView]


class MilestoneChanged(ResponseModel):
    milestone_id: str
    status: MilestoneStatus
    event_id: str
    message: str | None = None
