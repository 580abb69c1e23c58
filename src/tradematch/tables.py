"""Every table model, imported so that ``Base.metadata`` knows the whole schema."""

from tradematch.accounts.models import LoginAttempt, Outcode, User
from tradematch.core.orm import Base
from tradematch.denials.models import DenialCount
from tradematch.disputes.models import Dispute
from tradematch.escrow.models import (
    EscrowAccount,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payout,
)
from tradematch.events.models import EventAudience, EventRecord
from tradematch.idempotency.models import IdempotencyRecord
from tradematch.jobs.models import Job
from tradematch.leads.models import Lead
from tradematch.messaging.models import Conversation, ConversationRead, Message
from tradematch.milestones.models import Milestone
from tradematch.notifications.models import (
    Notification,
    NotificationCategoryPreference,
    NotificationInput,
    NotificationPreference,
    PushSubscription,
)
from tradematch.quotes.models import Quote
from tradematch.reviews.models import Review
from tradematch.uploads.models import Upload
from tradematch.vendors.models import VendorProfile, VendorTrade

__all__ = [
    "Base",
    "Conversation",
    "ConversationRead",
    "DenialCount",
    "Dispute",
    "EscrowAccount",
    "EventAudience",
    "EventRecord",
    "IdempotencyRecord",
    "Job",
    "Lead",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "LoginAttempt",
    "Message",
    "Milestone",
    "Notification",
    "NotificationCategoryPreference",
    "NotificationInput",
    "NotificationPreference",
    "Outcode",
    "Payout",
    "PushSubscription",
    "Quote",
    "Review",
    "Upload",
    "User",
    "VendorProfile",
    "VendorTrade",
]
