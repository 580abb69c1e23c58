from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyUrl, Field, UrlConstraints, model_validator

from tradematch.kit.ids import MessageId
from tradematch.kit.schemas import LongText, RequestModel, ResponseModel
from tradematch.messaging.states import ConversationStatus, MessageType
from tradematch.uploads.schemas import UploadIds, UploadView

HttpsUrl = Annotated[
    AnyUrl, UrlConstraints(max_length=2048, allowed_schemes=["https"], host_required=True)
]


class SendMessage(RequestModel):
    body: LongText | None = None
    attachments: Annotated[list[HttpsUrl], Field(max_length=10)] = Field(default_factory=list)
    attachment_upload_ids: UploadIds = Field(default_factory=list)

    @model_validator(mode="after")
    def _content(self) -> SendMessage:
        if self.body is None and not self.attachments and not self.attachment_upload_ids:
            raise ValueError("a message needs a body or at least one attachment")
        if len(self.attachments) + len(self.attachment_upload_ids) > 10:
            raise ValueError("a message carries at most 10 attachments (URLs and uploads)")
        return self


class MarkRead(RequestModel):
    up_to_message_id: Annotated[
        MessageId | None, Field(description="Default: everything in the conversation.")
    ] = None


class MessageView(ResponseModel):
    message_id: str
    conversation_id: str
    position: int = Field(description="1, 2, 3 … within the conversation; the page cursor.")
    type: MessageType = Field(description="The seed's message type.")
    sender_id: str | None
    sender_role: Literal["customer", "vendor", "system"]
    body: str | None
    attachments: list[str]
    attachment_uploads: list[UploadView]
    quote_id: str | None
    created_at: datetime


class MessagePage(ResponseModel):
    items: list[MessageView]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class MessageSent(ResponseModel):
    message_id: str
    conversation_id: str
    event_id: str


class MarkedRead(ResponseModel):
    conversation_id: str
    last_read_position: int
    unread_count: int
    event_id: str


class LastMessage(ResponseModel):
    message_id: str
    type: MessageType
    body: str | None
    sender_id: str | None
    created_at: datetime


class ConversationSummary(ResponseModel):
    conversation_id: str
    job_id: str
    job_title: str
    status: ConversationStatus
    messaging_enabled: bool
    counterpart_name: str = Field(description="The customer's name, or the vendor's business name.")
    unread_count: int
    last_message: LastMessage | None
    last_message_at: datetime | None


class ConversationList(ResponseModel):
    items: list[ConversationSummary]
