"""Who may read what: one scope per protected table, made here from the acting user.

A ``Scope[Model]`` is a SQL condition on ``Model``'s rows, and this module is the only place that
makes one: every repository read of a protected table takes a scope for that table, so a read
without the ownership filter does not type-check (a ``Scope[Lead]`` will not pass for a
``Scope[Job]`` either). A row outside the scope simply is not found: 404, exactly like a row that
does not exist.

Scopes compose without losing their type: ``scope & condition`` narrows a scope (the result is
still a ``Scope[Model]``, and can only show less), ``scope | other_scope`` joins two scopes of the
same table. Nothing widens a scope with a bare condition.

Protected are the rows a user can name by id: jobs, leads, quotes, conversations and their
messages, escrow accounts, milestones, reviews, disputes, events, in-app notifications, vendor
profiles, denial counts, uploads. Rows a user only ever reaches as their own (the account, the
wallet, notification preferences, push subscriptions) are read by the actor's own id.

``SYSTEM`` (the scheduler, commands, and the cascades a user's action sets off on rows that user
may not see, such as closing the other vendors' leads when a job is awarded) sees everything, as
an administrator does; every such read names ``SYSTEM`` where it is made.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, String, and_, bindparam, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from tradematch.accounts.models import User
from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role
from tradematch.denials.models import DenialCount
from tradematch.disputes.models import Dispute
from tradematch.escrow.models import EscrowAccount
from tradematch.events.models import EventAudience, EventRecord
from tradematch.jobs.models import Job
from tradematch.leads.models import Lead
from tradematch.leads.states import PHOTO_LEAD_STATES
from tradematch.messaging.models import Conversation, Message
from tradematch.milestones.models import Milestone
from tradematch.notifications.models import Notification
from tradematch.quotes.models import Quote
from tradematch.reviews.models import Review
from tradematch.uploads.models import Upload
from tradematch.vendors.models import VendorProfile

Model = TypeVar("Model")
_MINT = object()


class Scope(Generic[Model]):
    """The rows of ``Model`` an actor may read. Use it in ``.where()`` like any condition."""

    __slots__ = ("condition",)

    def __init__(self, condition: ColumnElement[bool], *, _mint: object = None) -> None:
        if _mint is not _MINT:
            raise TypeError("scopes are made by tradematch.authz.scopes, from an actor")
        self.condition = condition

    def __clause_element__(self) -> ColumnElement[bool]:
        return self.condition

    def __and__(self, narrower: Scope[Model] | ColumnElement[bool]) -> Scope[Model]:
        """The rows in this scope that also meet ``narrower``."""
        other = narrower.condition if isinstance(narrower, Scope) else narrower
        return Scope(and_(self.condition, other), _mint=_MINT)

    def __or__(self, other: Scope[Model]) -> Scope[Model]:
        """The rows in either scope."""
        if not isinstance(other, Scope):
            raise TypeError("only another scope may widen a scope")
        return Scope(or_(self.condition, other.condition), _mint=_MINT)

    def __repr__(self) -> str:
        return f"Scope({self.condition})"


def _scope(condition: ColumnElement[bool]) -> Scope[Model]:
    return Scope(condition, _mint=_MINT)


def _everything() -> Scope[Model]:
    return _scope(true())


def _a_party(
    actor: Actor, customer_id: InstrumentedAttribute[str], vendor_id: InstrumentedAttribute[str]
) -> ColumnElement[bool]:
    """Rows naming the actor as their customer or their vendor."""
    return or_(customer_id == actor.user_id, vendor_id == actor.user_id)


def _nothing() -> Scope[Model]:
    return _scope(false())


JobScope = Scope[Job]
LeadScope = Scope[Lead]
QuoteScope = Scope[Quote]
ConversationScope = Scope[Conversation]
MessageScope = Scope[Message]
EscrowScope = Scope[EscrowAccount]
MilestoneScope = Scope[Milestone]
ReviewScope = Scope[Review]
DisputeScope = Scope[Dispute]
EventScope = Scope[EventRecord]
NotificationScope = Scope[Notification]
VendorProfileScope = Scope[VendorProfile]
DenialScope = Scope[DenialCount]
UploadScope = Scope[Upload]


# --- jobs ----------------------------------------------------------------------------------


def jobs_owned_by(actor: Actor) -> JobScope:
    """Jobs the actor may manage: a customer's own jobs; every job for admin."""
    if actor.is_admin:
        return _everything()
    if actor.is_customer:
        return _scope(Job.customer_id == actor.user_id)
    return _nothing()


def jobs_involving(actor: Actor) -> JobScope:
    """Jobs the actor takes part in: own jobs (customer), jobs with a lead of theirs (vendor)."""
    if actor.is_vendor:
        return _scope(Job.id.in_(select(Lead.job_id).where(Lead.vendor_id == actor.user_id)))
    return jobs_owned_by(actor)


def jobs_in_contract(actor: Actor) -> JobScope:
    """Jobs after award, for their two parties: the customer and the winning vendor."""
    if actor.is_admin:
        return _everything()
    if actor.is_vendor:
        return _scope(Job.awarded_vendor_id == actor.user_id)
    return _scope(Job.customer_id == actor.user_id)


# --- leads, quotes, conversations ---------------------------------------------------------


def leads_held_by(actor: Actor) -> LeadScope:
    """A vendor's own leads; every lead for admin."""
    if actor.is_admin:
        return _everything()
    if actor.is_vendor:
        return _scope(Lead.vendor_id == actor.user_id)
    return _nothing()


def leads_on_jobs_of(actor: Actor) -> LeadScope:
    """The leads on a customer's own jobs (who engaged, never at what price: the schemas
    customers get have no price); every lead for admin."""
    if actor.is_admin:
        return _everything()
    if actor.is_customer:
        return _scope(Lead.job_id.in_(select(Job.id).where(Job.customer_id == actor.user_id)))
    return _nothing()


def quotes_visible_to(actor: Actor) -> QuoteScope:
    """A vendor's own quotes; quotes on a customer's own jobs; all for admin."""
    if actor.is_admin:
        return _everything()
    if actor.is_vendor:
        return _scope(Quote.vendor_id == actor.user_id)
    return _scope(Quote.job_id.in_(select(Job.id).where(Job.customer_id == actor.user_id)))


def conversations_of(actor: Actor) -> ConversationScope:
    """The conversations the actor is a party to; all for admin."""
    if actor.is_admin:
        return _everything()
    return _scope(_a_party(actor, Conversation.customer_id, Conversation.vendor_id))


def messages_visible_to(actor: Actor) -> MessageScope:
    """The messages of the actor's conversations; all for admin."""
    if actor.is_admin:
        return _everything()
    return _scope(
        Message.conversation_id.in_(select(Conversation.id).where(conversations_of(actor)))
    )


# --- money ---------------------------------------------------------------------------------


def escrows_visible_to(actor: Actor) -> EscrowScope:
    """The job's customer and the winning vendor (read-only); all for admin."""
    if actor.is_admin:
        return _everything()
    return _scope(_a_party(actor, EscrowAccount.customer_id, EscrowAccount.vendor_id))


def milestones_in_contract(actor: Actor) -> MilestoneScope:
    """The milestones of jobs in contract (``jobs_in_contract``); all for admin."""
    if actor.is_admin:
        return _everything()
    return _scope(Milestone.job_id.in_(select(Job.id).where(jobs_in_contract(actor))))


def disputes_visible_to(actor: Actor) -> DisputeScope:
    """Disputes on the actor's jobs in contract; all for admin (who resolves them)."""
    if actor.is_admin:
        return _everything()
    return _scope(Dispute.job_id.in_(select(Job.id).where(jobs_in_contract(actor))))


# --- reviews and vendors -------------------------------------------------------------------


def published_reviews(actor: Actor) -> ReviewScope:
    """Published reviews the actor may read: every one for customers and admins; a vendor only
    those about itself (it sees nothing about competing vendors)."""
    if actor.is_vendor:
        return _scope(and_(Review.status == "published", Review.vendor_id == actor.user_id))
    return _scope(Review.status == "published")


def reviews_written_by(actor: Actor) -> ReviewScope:
    if actor.is_admin:
        return _everything()
    return _scope(Review.customer_id == actor.user_id)


def reviews_about(actor: Actor) -> ReviewScope:
    if actor.is_admin:
        return _everything()
    return _scope(Review.vendor_id == actor.user_id)


def _vendors_in_view_of(actor: Actor) -> ColumnElement[bool]:
    """A vendor sees nothing about competing vendors (contract §6): only its own profile.
    Customers and admins see every vendor."""
    if actor.is_vendor:
        return VendorProfile.user_id == actor.user_id
    return true()


def active_vendors(actor: Actor) -> VendorProfileScope:
    """Vendor profiles the actor may look at (limited profile): active vendor accounts, for
    customers and admins; a vendor only its own."""
    return _scope(
        and_(
            _vendors_in_view_of(actor),
            VendorProfile.user_id.in_(
                select(User.id).where(User.role == Role.VENDOR, User.is_active)
            ),
        )
    )


def vendors_with_public_reviews(actor: Actor) -> VendorProfileScope:
    """The vendors whose published reviews the actor may read: every vendor, active or not (their
    reviews stay public), for customers and admins; a vendor only itself."""
    return _scope(_vendors_in_view_of(actor))


def own_vendor_profile(actor: Actor) -> VendorProfileScope:
    return _scope(VendorProfile.user_id == actor.user_id)


# --- events, notifications, denials --------------------------------------------------------


def events_visible_to(actor: Actor) -> EventScope:
    """Events whose audience includes the actor (participants); every event for admin."""
    if actor.is_admin:
        return _everything()
    return _scope(
        EventRecord.seq.in_(select(EventAudience.seq).where(EventAudience.user_id == actor.user_id))
    )


def notifications_of(actor: Actor) -> NotificationScope:
    """The actor's own notifications (nobody else's, admins included)."""
    return _scope(Notification.user_id == actor.user_id)


def every_notification_for(actor: Actor) -> NotificationScope:
    """Every user's notifications, for admins (who look after delivery: the dead letters);
    nothing for anyone else."""
    return _everything() if actor.is_admin else _nothing()


def denial_counts_visible_to(actor: Actor) -> DenialScope:
    return _everything() if actor.is_admin else _nothing()


# --- uploads -------------------------------------------------------------------------------


def uploads_readable_by(actor: Actor) -> UploadScope:
    """An upload is readable by whoever may read what it is attached to: job photos by the
    job's customer and the vendors holding a lead in play on it (``PHOTO_LEAD_STATES``, as in
    their lead view); message attachments by the conversation's two parties; milestone evidence
    by the job's two parties in contract. Admins read every attached upload. Unattached, by its
    uploader alone (not even admins: it is shared with nobody yet)."""
    unattached = and_(
        Upload.job_id.is_(None), Upload.message_id.is_(None), Upload.milestone_id.is_(None)
    )
    leads_in_play = leads_held_by(actor) & Lead.status.in_(PHOTO_LEAD_STATES)
    return _scope(
        or_(
            and_(unattached, Upload.uploader_id == actor.user_id),
            Upload.job_id.in_(select(Job.id).where(jobs_owned_by(actor))),
            Upload.job_id.in_(select(Lead.job_id).where(leads_in_play)),
            Upload.message_id.in_(select(Message.id).where(messages_visible_to(actor))),
            Upload.milestone_id.in_(select(Milestone.id).where(milestones_in_contract(actor))),
        )
    )


# --- the actor as a parameter --------------------------------------------------------------
# For statements compiled once and run many times (``kit/driver.py``): the same conditions as
# above for a customer or a vendor, with the acting user's id as the statement's parameter
# ``name``, bound per execution. The caller binds the acting user's id (admins do not use them).


def _bound(name: str) -> Any:
    return bindparam(name, type_=String)


def conversations_of_bound_party(name: str) -> ConversationScope:
    """``conversations_of`` a customer or vendor: the conversations naming them."""
    return _scope(
        or_(Conversation.customer_id == _bound(name), Conversation.vendor_id == _bound(name))
    )


def leads_held_by_bound_vendor(name: str) -> LeadScope:
    """``leads_held_by`` a vendor: its own leads."""
    return _scope(Lead.vendor_id == _bound(name))


def jobs_involving_bound_vendor(name: str) -> JobScope:
    """``jobs_involving`` a vendor: the jobs it holds a lead on."""
    return _scope(Job.id.in_(select(Lead.job_id).where(Lead.vendor_id == _bound(name))))
