from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from tradematch.kit.ids import UploadId
from tradematch.kit.schemas import ResponseModel


def _distinct(ids: list[str]) -> list[str]:
    if len(set(ids)) != len(ids):
        raise ValueError("an upload can be attached only once")
    return ids


UploadIds = Annotated[
    list[UploadId],
    Field(max_length=10, description="Ids from POST /uploads: your own, not yet attached."),
    AfterValidator(_distinct),
]


class UploadView(ResponseModel):
    """An upload attached to something you may see. ``url`` and ``thumbnail_url`` are signed for
    you and expire after minutes (re-read the object for fresh ones); they also work with your
    bearer token instead."""

    upload_id: str
    content_type: str
    width: int | None
    height: int | None
    filename: str
    url: str
    thumbnail_url: str | None = Field(description="null for a PDF")


class UploadCreated(UploadView):
    size: int = Field(description="Bytes of the stored (re-encoded) file.")
    sha256: str = Field(description="SHA-256 of the stored file (hex).")
    created_at: datetime
