"""The event log as the API shows it.

Every event is one schema per type (``JobCreatedEvent``, ``MessageSentEvent``, ...), told apart
by ``type`` (an OpenAPI discriminator), each with its own payload schema. The payload models list
what each ``emit()`` writes, as participants see it (the ``admin`` part removed; older events in
the shape of today's: ``events/payloads.py``). Administrators read the log as written
(``AdminEventView``: any payload, with the hash chain).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, cast

from pydantic import BeforeValidator, ConfigDict, Field, TypeAdapter, WithJsonSchema, create_model

from tradematch.disputes.states import DisputeStatus
from tradematch.escrow.states import EscrowStatus
from tradematch.events.types import EventType
from tradematch.jobs.states import JobStatus
from tradematch.kit.schemas import ResponseModel
from tradematch.kit.text import redact_free_text
from tradematch.leads.states import LeadStatus
from tradematch.messaging.states import MessageType
from tradematch.reviews.states import ReviewStatus

# An amount in pounds, as written in the payload (120 for £120.00, 120.5 for £120.50).
PayloadPounds = Annotated[int | float, WithJsonSchema({"type": "number", "multipleOf": 0.01})]


class Payload(ResponseModel):
    """A payload: the fields below, and any a later version adds (kept, never dropped)."""

    model_config = ConfigDict(extra="allow")


class JobStatusPayload(Payload):
    status: JobStatus


class JobCreatedPayload(JobStatusPayload):
    trade_category: str
    photo_upload_ids: list[str] = Field(default_factory=list)


class JobUpdatedPayload(Payload):
    fields: list[str] = Field(description="The names of the fields the edit changed.")


class JobClosedPayload(JobStatusPayload):
    reason: str | None = Field(
        default=None, description='"auto_close" when the scheduler closed it.'
    )


class LeadPayload(Payload):
    lead_id: str


class LeadOfferedPayload(LeadPayload):
    vendor_id: str


class LeadAcceptedPayload(LeadPayload):
    vendor_id: str
    conversation_id: str


class LeadExpiredPayload(LeadPayload):
    status: LeadStatus


class LeadClosedPayload(LeadPayload):
    message: str


class QuoteAmountPayload(Payload):
    quote_id: str
    amount: PayloadPounds


class QuoteSentPayload(QuoteAmountPayload):
    lead_id: str


class QuoteClosedPayload(Payload):
    quote_id: str
    lead_id: str
    reason: str | None = None


class QuoteExpiredPayload(Payload):
    quote_id: str
    lead_id: str | None = None


class EscrowCreatedPayload(Payload):
    escrow_id: str
    total: PayloadPounds


class EscrowFundedPayload(Payload):
    escrow_id: str
    funded: PayloadPounds


class PaymentReleasedPayload(Payload):
    escrow_id: str
    amount: PayloadPounds
    transaction_id: str


class MoneyMovedPayload(Payload):
    """A money event: the ledger transaction it caused and its amount."""

    amount: PayloadPounds
    transaction_id: str


class PaymentRefundedPayload(MoneyMovedPayload):
    escrow_id: str


class WalletToppedUpPayload(MoneyMovedPayload):
    pass


class PayoutSentPayload(MoneyMovedPayload):
    payout_id: str
    provider: str


class SubmittedEvidence(ResponseModel):
    description: str
    photos: list[str] = Field(default_factory=list)
    photo_upload_ids: list[str] = Field(default_factory=list)


class MilestoneSubmittedPayload(Payload):
    milestone_id: str
    position: int
    evidence: SubmittedEvidence


class MilestoneChangesRequestedPayload(Payload):
    milestone_id: str
    reason: str


class MilestoneApprovedPayload(Payload):
    milestone_id: str
    amount: PayloadPounds
    automatic: bool = Field(description="Approved by the scheduler after the waiting period.")


class MessageSentPayload(Payload):
    conversation_id: str
    message_id: str
    position: int
    type: MessageType
    sender_id: str
    attachment_upload_ids: list[str] = Field(default_factory=list)


class MessagesReadPayload(Payload):
    conversation_id: str
    reader_id: str
    last_read_position: int


class DisputeRaisedPayload(Payload):
    dispute_id: str
    reason: str


class DisputeResolvedPayload(Payload):
    dispute_id: str
    resolution: str
    vendor_share: PayloadPounds | None = None
    job_status: JobStatus
    escrow_status: EscrowStatus | None = None
    status: DisputeStatus | None = None


class ReviewPayload(Payload):
    review_id: str


class ReviewStatusPayload(ReviewPayload):
    status: ReviewStatus


class ReviewPostedPayload(ReviewStatusPayload):
    rating: int


PAYLOADS: dict[EventType, type[Payload]] = {
    EventType.JOB_CREATED: JobCreatedPayload,
    EventType.JOB_UPDATED: JobUpdatedPayload,
    EventType.JOB_POSTED: JobStatusPayload,
    EventType.LEAD_OFFERED: LeadOfferedPayload,
    EventType.LEAD_ACCEPTED: LeadAcceptedPayload,
    EventType.LEAD_DECLINED: LeadPayload,
    EventType.LEAD_EXPIRED: LeadExpiredPayload,
    EventType.LEAD_CLOSED: LeadClosedPayload,
    EventType.QUOTE_SENT: QuoteSentPayload,
    EventType.QUOTE_UPDATED: QuoteAmountPayload,
    EventType.QUOTE_ACCEPTED: QuoteSentPayload,
    EventType.QUOTE_REJECTED: QuoteClosedPayload,
    EventType.QUOTE_WITHDRAWN: QuoteClosedPayload,
    EventType.QUOTE_EXPIRED: QuoteExpiredPayload,
    EventType.JOB_IN_PROGRESS: JobStatusPayload,
    EventType.ESCROW_CREATED: EscrowCreatedPayload,
    EventType.ESCROW_FUNDED: EscrowFundedPayload,
    EventType.MILESTONE_SUBMITTED: MilestoneSubmittedPayload,
    EventType.MILESTONE_APPROVED: MilestoneApprovedPayload,
    EventType.MILESTONE_CHANGES_REQUESTED: MilestoneChangesRequestedPayload,
    EventType.PAYMENT_RELEASED: PaymentReleasedPayload,
    EventType.PAYMENT_REFUNDED: PaymentRefundedPayload,
    EventType.WALLET_TOPPED_UP: WalletToppedUpPayload,
    EventType.PAYOUT_SENT: PayoutSentPayload,
    EventType.MESSAGE_SENT: MessageSentPayload,
    EventType.MESSAGES_READ: MessagesReadPayload,
    EventType.JOB_COMPLETED: JobStatusPayload,
    EventType.JOB_CLOSED: JobClosedPayload,
    EventType.JOB_CANCELLED: JobStatusPayload,
    EventType.JOB_EXPIRED: JobStatusPayload,
    EventType.DISPUTE_RAISED: DisputeRaisedPayload,
    EventType.DISPUTE_RESOLVED: DisputeResolvedPayload,
    EventType.REVIEW_POSTED: ReviewPostedPayload,
    EventType.REVIEW_RESPONDED: ReviewPayload,
    EventType.REVIEW_REPLIED: ReviewPayload,
    EventType.REVIEW_MODERATED: ReviewStatusPayload,
}


def _redacted(value: Any) -> Any:
    # Free text in a payload (a dispute's reason, ...) has contact details redacted.
    return redact_free_text(value) if isinstance(value, dict) else value


class EventBase(ResponseModel):
    event_id: str
    seq: int = Field(
        description="Global sequence number: the event's position in the log (the writing "
        "transaction's id * 65536 + its order within it). Increasing, not contiguous; the cursor "
        "for `GET /events?after=` and `resume_from`."
    )
    type: EventType
    job_id: str | None
    actor_role: str
    actor_id: str | None = Field(description="Shown to admins, and to the actor themself.")
    payload: Any
    created_at: datetime


def _event_model(event_type: EventType, payload: type[Payload]) -> type[EventBase]:
    name = "".join(part.title() for part in event_type.value.split("_")) + "Event"
    tag: Any = cast(Any, Literal)[event_type.value]
    shown: Any = Annotated[
        payload,
        BeforeValidator(_redacted),
        Field(description="Free text in it has contact details redacted."),
    ]
    return create_model(
        name,
        __base__=EventBase,
        __doc__=f"A {event_type.value} event.",
        type=(tag, ...),
        payload=(shown, ...),
    )


EVENT_MODELS = {
    event_type: _event_model(event_type, model) for event_type, model in PAYLOADS.items()
}

if TYPE_CHECKING:
    EventView = EventBase
else:
    EventView = Annotated[
        Union[tuple(EVENT_MODELS.values())],  # noqa: UP007 (a Union built at runtime)
        Field(discriminator="type"),
    ]

EVENT_VIEW: TypeAdapter[EventBase] = TypeAdapter(EventView)


class EventPage(ResponseModel):
    items: list[EventView]
    next_after: int = Field(description="Pass as `after` to continue; unchanged when nothing new.")


class AdminEventView(EventBase):
    payload: dict[str, Any] = Field(description="As written in the log (the hash chain covers it).")
    idempotency_key: str | None
    chain_index: int
    prev_hash: str | None
    hash: str


class AdminEventPage(ResponseModel):
    items: list[AdminEventView]
    next_after: int


class ChainBreak(ResponseModel):
    event_id: str
    seq: int
    reason: str


class ChainVerification(ResponseModel):
    job_id: str
    ok: bool
    events: int
    first_break: ChainBreak | None
