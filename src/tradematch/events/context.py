"""What an event's notifications are made from: its ``context``.

The emitting service fills it in; the notification rules (``notifications/rules.py``) read it,
and it is kept beside the log (``notification_inputs``) so that ``tradematch events replay`` can
apply the rules again. It is never shown to anyone as it is: the rules pick the recipients from
``customer_id``, ``vendor_id`` and ``recipient_id`` and format their texts with the rest.
"""

from __future__ import annotations

from typing import TypedDict, Unpack, cast


class Details(TypedDict, total=False):
    """The texts a rule may use (each optional: a rule falls back to a text without it)."""

    job_title: str | None
    job_title_short: str  # already redacted where the recipient has not accepted the lead
    amount_text: str
    sender_name: str
    preview: str
    title: str  # a milestone's
    reason: str
    rating: int
    resolution: str


class NotificationContext(Details, total=False):
    """Recipients (user ids) and the texts for them."""

    customer_id: str | None
    vendor_id: str | None
    recipient_id: str


def for_parties(
    customer_id: str | None, vendor_id: str | None, **details: Unpack[Details]
) -> NotificationContext:
    """The context of an event about a job's parties (a party given as None is left out)."""
    parties = {"customer_id": customer_id, "vendor_id": vendor_id}
    context = {key: value for key, value in parties.items() if value is not None}
    return cast(NotificationContext, {**context, **details})
