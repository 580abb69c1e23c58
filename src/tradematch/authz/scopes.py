"""Authorization by query scope.

Every read of a protected table filters by a scope built here from the acting user. The scope
types are ``NewType``s that only these functions produce, so a repository function cannot be
called without one: forgetting the ownership filter is a type error, not a leak. Rows outside the
scope simply are not found (404), exactly like rows that do not exist.
"""

from __future__ import annotations

from typing import NewType

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from tradematch.accounts.models import User
from tradematch.authz.actor import Actor
from tradematch.escrow.models import EscrowAccount
from tradematch.jobs.models import Job
from tradematch.leads.models import Lead
from tradematch.leads.states import OPEN_LEAD_STATES
from tradematch.messaging.models import Conversation, Message
from tradematch.milestones.models import Milestone
from tradematch.quotes.models import Quote
from tradematch.reviews.models import Review
from tradematch.uploads.models import Upload

JobScope = NewType("JobScope", ColumnElement[bool])
LeadScope = NewType("LeadScope", ColumnElement[bool])
ConversationScope = NewType("ConversationScope", ColumnElement[bool])
UserScope = NewType("UserScope", ColumnElement[bool])
QuoteScope = NewType("QuoteScope", ColumnElement[bool])
EscrowScope = NewType("EscrowScope", ColumnElement[bool])
ReviewScope = NewType("ReviewScope", ColumnElement[bool])
UploadScope = NewType("UploadScope", ColumnElement[bool])


def jobs_owned_by(actor: Actor) -> JobScope:
    """Jobs the actor may manage: a customer's own jobs; every job for admin."""
    if actor.is_admin:
        return JobScope(true())
    if actor.is_customer:
        return JobScope(Job.customer_id == actor.user_id)
    return JobScope(false())


def jobs_involving(actor: Actor) -> JobScope:
    """Jobs the actor takes part in: own jobs (customer), jobs with a lead of theirs (vendor)."""
    if actor.is_vendor:
        return JobScope(Job.id.in_(select(Lead.job_id).where(Lead.vendor_id == actor.user_id)))
    return jobs_owned_by(actor)


def leads_held_by(actor: Actor) -> LeadScope:
    if actor.is_admin:
        return LeadScope(true())
    if actor.is_vendor:
        return LeadScope(Lead.vendor_id == actor.user_id)
    return LeadScope(false())


def conversations_of(actor: Actor) -> ConversationScope:
    if actor.is_admin:
        return ConversationScope(true())
    return ConversationScope(
        or_(Conversation.customer_id == actor.user_id, Conversation.vendor_id == actor.user_id)
    )


def active_vendors() -> UserScope:
    """Vendor profiles anyone signed in may look at (limited profile)."""
    return UserScope((User.role == "vendor") & User.is_active)


def quotes_visible_to(actor: Actor) -> QuoteScope:
    """A vendor's own quotes; quotes on a customer's own jobs; all for admin."""
    if actor.is_admin:
        return QuoteScope(true())
    if actor.is_vendor:
        return QuoteScope(Quote.vendor_id == actor.user_id)
    return QuoteScope(Quote.job_id.in_(select(Job.id).where(Job.customer_id == actor.user_id)))


def escrows_visible_to(actor: Actor) -> EscrowScope:
    """The job's customer and the winning vendor (read-only); all for admin."""
    if actor.is_admin:
        return EscrowScope(true())
    return EscrowScope(
        or_(EscrowAccount.customer_id == actor.user_id, EscrowAccount.vendor_id == actor.user_id)
    )


def reviews_written_by(actor: Actor) -> ReviewScope:
    if actor.is_admin:
        return ReviewScope(true())
    return ReviewScope(Review.customer_id == actor.user_id)


def reviews_about(actor: Actor) -> ReviewScope:
    if actor.is_admin:
        return ReviewScope(true())
    return ReviewScope(Review.vendor_id == actor.user_id)


def jobs_in_contract(actor: Actor) -> JobScope:
    """Jobs after award, for their two parties: the customer and the winning vendor."""
    if actor.is_admin:
        return JobScope(true())
    if actor.is_vendor:
        return JobScope(Job.awarded_vendor_id == actor.user_id)
    return JobScope(Job.customer_id == actor.user_id)


# Vendors holding one of these leads on a job see its photos (as in their lead preview).
PHOTO_LEAD_STATES = (*OPEN_LEAD_STATES, "quote_accepted")


def uploads_readable_by(actor: Actor) -> UploadScope:
    """An upload is readable by whoever may read what it is attached to: job photos by the
    job's customer and the vendors holding a lead on it; message attachments by the two
    participants; milestone evidence by the job's customer and the winning vendor. Admins read
    every attached upload. Unattached, by its uploader alone (not even admins: it is shared with
    nobody yet)."""
    me = actor.user_id
    unattached = and_(
        Upload.job_id.is_(None), Upload.message_id.is_(None), Upload.milestone_id.is_(None)
    )
    if actor.is_admin:
        return UploadScope(or_(~unattached, Upload.uploader_id == me))
    job_photo = exists().where(
        Job.id == Upload.job_id,
        or_(
            Job.customer_id == me,
            exists().where(
                Lead.job_id == Job.id, Lead.vendor_id == me, Lead.status.in_(PHOTO_LEAD_STATES)
            ),
        ),
    )
    message_attachment = exists().where(
        Message.id == Upload.message_id,
        Conversation.id == Message.conversation_id,
        or_(Conversation.customer_id == me, Conversation.vendor_id == me),
    )
    milestone_evidence = exists().where(
        Milestone.id == Upload.milestone_id,
        Job.id == Milestone.job_id,
        or_(Job.customer_id == me, Job.awarded_vendor_id == me),
    )
    return UploadScope(
        or_(
            and_(unattached, Upload.uploader_id == me),
            and_(Upload.job_id.is_not(None), job_photo),
            and_(Upload.message_id.is_not(None), message_attachment),
            and_(Upload.milestone_id.is_not(None), milestone_evidence),
        )
    )
