"""Notification rules as data: which event notifies whom, with what words.

Each rule names the recipient by a key of the event's context (``customer_id``, ``vendor_id``,
``recipient_id``) and gives the title and body, formatted with the same context. The texts are
the seed's where it gives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tradematch.events.types import EventType as E
from tradematch.kit.ids import new_id

if TYPE_CHECKING:
    from tradematch.events.service import PendingEvent


@dataclass(frozen=True)
class Rule:
    recipient: str
    title: str
    body: str


RULES: dict[E, tuple[Rule, ...]] = {
    E.LEAD_OFFERED: (Rule("vendor_id", "New lead", "New lead: {job_title_short}"),),
    E.LEAD_ACCEPTED: (
        Rule("customer_id", "Lead accepted", "Vendor accepted your job"),
        Rule("vendor_id", "Lead accepted", "Lead accepted. Messaging enabled."),
    ),
    E.LEAD_CLOSED: (Rule("vendor_id", "Job unavailable", "This job is no longer available"),),
    E.MESSAGE_SENT: (Rule("recipient_id", "New message", "{sender_name}: {preview}"),),
    E.QUOTE_SENT: (Rule("customer_id", "Quote received", "Quote received: {amount_text}"),),
    E.QUOTE_ACCEPTED: (
        Rule(
            "vendor_id", "Quote accepted", "Your quote was accepted! {amount_text} job starts now."
        ),
    ),
    E.MILESTONE_SUBMITTED: (
        Rule("customer_id", "Milestone submitted", "Vendor submitted milestone for approval"),
    ),
    E.MILESTONE_APPROVED: (
        Rule("vendor_id", "Milestone approved", "Milestone approved. Payment releasing..."),
    ),
}

CHANNELS_NOW = ("in_app",)


def notifications_for(event: PendingEvent) -> list[dict[str, Any]]:
    """The outbox rows for one event (one per recipient and channel)."""
    rows: list[dict[str, Any]] = []
    for rule in RULES.get(event.type, ()):
        recipient = event.context.get(rule.recipient)
        if not recipient:
            continue
        for channel in CHANNELS_NOW:
            rows.append(
                {
                    "id": new_id("ntf"),
                    "event_id": event.id,
                    "user_id": recipient,
                    "channel": channel,
                    "title": rule.title.format(**event.context),
                    "body": rule.body.format(**event.context),
                }
            )
    return rows
