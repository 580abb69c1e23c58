"""Notification rules as data: which event notifies whom, with what words, on which channels.

Each rule names its recipient by a key of the event's ``context`` (``customer_id``,
``vendor_id``, ``recipient_id``; the value is a user id or a list of them) and gives the title
and body, formatted with the same context. The texts are the seed's where it gives them.

A rule never breaks the transaction that emits the event: a missing recipient key means no
notification, and a body whose fields are missing (or malformed) falls back to ``fallback``, a
text without fields. Context keys the rules read, besides the recipients: ``job_title_short``
(already redacted for unaccepted leads), ``job_title``, ``amount_text`` (or ``amount_pence``),
``sender_name``, ``preview``, ``title`` (a milestone's), ``reason``, ``rating``,
``resolution``.

Which of the recipient's channels are used is decided later (``queueing.plan``): a channel the
user turned off gets nothing, and push only goes to users with a push subscription.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tradematch.events.types import EventType as E
from tradematch.notifications.states import CHANNELS

DEFAULT_CATEGORY = "updates"  # an event CATEGORY_OF does not name
TITLE_MAX = 200
BODY_MAX = 2000
_FIELD_MAX = 200


@dataclass(frozen=True)
class Rule:
    recipient: str
    title: str
    body: str
    fallback: str | None = None
    channels: tuple[str, ...] = CHANNELS
    skip_actor: bool = False  # never tell the user who did it


@dataclass(frozen=True)
class Planned:
    """One notification a rule asks for, before preferences are applied."""

    user_id: str
    channels: tuple[str, ...]
    title: str
    body: str
    category: str = DEFAULT_CATEGORY


def _both(title: str, body: str, fallback: str | None = None) -> tuple[Rule, Rule]:
    return (
        Rule("customer_id", title, body, fallback, skip_actor=True),
        Rule("vendor_id", title, body, fallback, skip_actor=True),
    )


RULES: dict[E, tuple[Rule, ...]] = {
    E.LEAD_OFFERED: (
        Rule("vendor_id", "New lead", "New lead: {job_title_short}", "You have a new lead"),
    ),
    E.LEAD_ACCEPTED: (
        Rule("customer_id", "Lead accepted", "Vendor accepted your job"),
        Rule("vendor_id", "Lead accepted", "Lead accepted. Messaging enabled."),
    ),
    E.LEAD_CLOSED: (Rule("vendor_id", "Job unavailable", "This job is no longer available"),),
    E.LEAD_EXPIRED: (
        Rule(
            "vendor_id",
            "Lead expired",
            "Your lead expired: {job_title_short}",
            "A lead you were offered has expired",
        ),
    ),
    E.JOB_EXPIRED: (
        Rule(
            "customer_id",
            "Job expired",
            "Your job expired before a vendor was chosen: {job_title}",
            "Your job expired before a vendor was chosen",
        ),
    ),
    E.MESSAGE_SENT: (
        Rule("recipient_id", "New message", "{sender_name}: {preview}", "You have a new message"),
    ),
    E.QUOTE_SENT: (
        Rule("customer_id", "Quote received", "Quote received: {amount_text}", "Quote received"),
    ),
    E.QUOTE_UPDATED: (
        Rule("customer_id", "Quote updated", "Quote updated: {amount_text}", "A quote was updated"),
    ),
    E.QUOTE_ACCEPTED: (
        Rule(
            "vendor_id",
            "Quote accepted",
            "Your quote was accepted! {amount_text} job starts now.",
            "Your quote was accepted! The job starts now.",
        ),
    ),
    E.QUOTE_REJECTED: (
        Rule(
            "vendor_id",
            "Quote declined",
            "The customer declined your quote. You can send a new one.",
        ),
    ),
    E.QUOTE_WITHDRAWN: (Rule("customer_id", "Quote withdrawn", "A vendor withdrew their quote"),),
    E.ESCROW_CREATED: (
        Rule(
            "customer_id",
            "Fund your job",
            "Fund the escrow ({amount_text}) so the work can start.",
            "Fund the escrow so the work can start.",
        ),
    ),
    E.ESCROW_FUNDED: (
        Rule("vendor_id", "Escrow funded", "The customer funded the escrow. You can start work."),
    ),
    E.MILESTONE_SUBMITTED: (
        Rule("customer_id", "Milestone submitted", "Vendor submitted milestone for approval"),
    ),
    E.MILESTONE_APPROVED: (
        Rule("vendor_id", "Milestone approved", "Milestone approved. Payment releasing..."),
    ),
    E.MILESTONE_CHANGES_REQUESTED: (
        Rule(
            "vendor_id",
            "Changes requested",
            "The customer asked for changes: {reason}",
            "The customer asked for changes to a milestone",
        ),
    ),
    E.PAYMENT_RELEASED: (
        Rule(
            "vendor_id",
            "Payment released",
            "Payment released: {amount_text}",
            "A payment was released to your wallet",
        ),
    ),
    E.PAYOUT_SENT: (
        Rule(
            "recipient_id",
            "Payout sent",
            "Payout sent to your bank: {amount_text}",
            "A payout was sent to your bank",
        ),
    ),
    E.PAYMENT_REFUNDED: (
        Rule(
            "customer_id",
            "Payment refunded",
            "Refunded to your wallet: {amount_text}",
            "Money was refunded to your wallet",
        ),
    ),
    E.JOB_COMPLETED: (
        Rule("customer_id", "Job completed", "Your job is complete. Please leave a review."),
        Rule("vendor_id", "Job completed", "Job completed. All payments released."),
    ),
    E.DISPUTE_RAISED: _both(
        "Dispute raised",
        "A dispute was raised on {job_title}. Payments are frozen while an admin reviews it.",
        "A dispute was raised on your job. Payments are frozen while an admin reviews it.",
    ),
    E.DISPUTE_RESOLVED: (
        Rule(
            "customer_id",
            "Dispute resolved",
            "The dispute on your job was resolved: {resolution}",
            "The dispute on your job was resolved",
        ),
        Rule(
            "vendor_id",
            "Dispute resolved",
            "The dispute on your job was resolved: {resolution}",
            "The dispute on your job was resolved",
        ),
    ),
    E.REVIEW_POSTED: (
        Rule(
            "vendor_id",
            "New review",
            "You received a {rating}-star review",
            "You received a new review",
        ),
    ),
    E.REVIEW_RESPONDED: (
        Rule("customer_id", "Vendor responded", "The vendor responded to your review"),
    ),
    E.REVIEW_REPLIED: (Rule("vendor_id", "Customer replied", "The customer replied to you"),),
    E.REVIEW_MODERATED: (
        Rule("customer_id", "Review moderated", "A moderator reviewed your review"),
    ),
}


# What each event is about, for turning a category off on a channel (one-click unsubscribe from
# email). An event not named here is an "updates" one; every category is in CATEGORIES.
CATEGORY_OF: dict[E, str] = {
    E.LEAD_OFFERED: "leads",
    E.LEAD_ACCEPTED: "leads",
    E.LEAD_CLOSED: "leads",
    E.LEAD_EXPIRED: "leads",
    E.JOB_EXPIRED: "leads",
    E.MESSAGE_SENT: "messages",
    E.QUOTE_SENT: "quotes",
    E.QUOTE_UPDATED: "quotes",
    E.QUOTE_ACCEPTED: "quotes",
    E.QUOTE_REJECTED: "quotes",
    E.QUOTE_WITHDRAWN: "quotes",
    E.ESCROW_CREATED: "payments",
    E.ESCROW_FUNDED: "payments",
    E.MILESTONE_SUBMITTED: "payments",
    E.MILESTONE_APPROVED: "payments",
    E.MILESTONE_CHANGES_REQUESTED: "payments",
    E.PAYMENT_RELEASED: "payments",
    E.PAYMENT_REFUNDED: "payments",
    E.PAYOUT_SENT: "payments",
    E.JOB_COMPLETED: "payments",
    E.DISPUTE_RAISED: "disputes",
    E.DISPUTE_RESOLVED: "disputes",
    E.REVIEW_POSTED: "reviews",
    E.REVIEW_RESPONDED: "reviews",
    E.REVIEW_REPLIED: "reviews",
    E.REVIEW_MODERATED: "reviews",
}


def category_of(event_type: str) -> str:
    """The category of an event type (never raises: an unknown type is an "updates" one)."""
    try:
        return CATEGORY_OF.get(E(event_type), DEFAULT_CATEGORY)
    except ValueError:
        return DEFAULT_CATEGORY


def plan(event_type: str, context: Mapping[str, Any], actor_id: str | None) -> list[Planned]:
    """The notifications ``RULES`` ask for one event; never raises on a bad context."""
    try:
        rules = RULES.get(E(event_type), ())
    except ValueError:
        return []
    fields = _fields(context)
    category = category_of(event_type)
    planned: dict[str, Planned] = {}
    for rule in rules:
        body = _render(rule.body, fields) or _render(rule.fallback or "", fields)
        title = _render(rule.title, fields)
        if not body or not title:
            continue
        for user_id in _recipients(context.get(rule.recipient)):
            if rule.skip_actor and user_id == actor_id:
                continue
            # One notification per recipient and event: the first rule naming them wins.
            planned.setdefault(
                user_id,
                Planned(
                    user_id,
                    rule.channels,
                    _one_line(title)[:TITLE_MAX],
                    body[:BODY_MAX],
                    category,
                ),
            )
    return list(planned.values())


def _recipients(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list | tuple | set | frozenset):
        return [v for v in value if isinstance(v, str) and v]
    return []


def pounds_text(pence: int) -> str:
    """``£120`` or ``£120.50``."""
    return f"£{pence // 100:,}" + (f".{pence % 100:02d}" if pence % 100 else "")


def _fields(context: Mapping[str, Any]) -> dict[str, str]:
    fields = {
        str(key): _one_line(str(value))[:_FIELD_MAX]
        for key, value in context.items()
        if value is not None and value != ""
    }
    if "amount_text" not in fields:
        pence = context.get("amount_pence")
        if isinstance(pence, int) and not isinstance(pence, bool):
            fields["amount_text"] = pounds_text(pence)
    if "job_title_short" not in fields and "job_title" in fields:
        title = fields["job_title"]
        fields["job_title_short"] = title if len(title) <= 40 else f"{title[:37].rstrip()}…"
    return fields


_FORMATTER = string.Formatter()


def _render(template: str, fields: Mapping[str, str]) -> str | None:
    """``template`` with ``fields``; None if a field is missing or the template is malformed."""
    if not template:
        return None
    try:
        for _, name, _, _ in _FORMATTER.parse(template):
            if name is not None and name not in fields:
                return None
        return template.format_map(fields)
    except (KeyError, IndexError, AttributeError, ValueError, TypeError):
        return None


_WHITESPACE = re.compile(r"\s+")


def _one_line(text: str) -> str:
    """Titles become email subjects: no line breaks (header injection), no runs of spaces."""
    return _WHITESPACE.sub(" ", text).strip()
