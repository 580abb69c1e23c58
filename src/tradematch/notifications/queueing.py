"""Queueing notifications: the rules applied to events, filtered by each user's preferences.

``NotificationQueue`` is the event log's outbox (``events.log.Outbox``, wired into every session
by ``tradematch.sessions``): ``events.log.flush()`` calls ``plan`` and writes its ``rows`` in the
statement that inserts the events, so the notifications commit with the change or not at all.
``tradematch events replay`` plans and ``write``s for stored events.

The rows planned here are every (event, recipient, channel) a rule asks for, with the rule's
category. The recipients' preferences are applied by the database as the rows are inserted
(``tm_notification_wanted``, migration 0010: an active account, the channel and the category
not turned off, push only with a subscription), by the event append and by ``write`` alike, so
the rule is stated once and an event flush reads nothing first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.events.log import OutboxRows
from tradematch.kit.ids import new_id
from tradematch.notifications import repository
from tradematch.notifications.rules import Planned
from tradematch.notifications.rules import plan as plan_rules


class EventLike(Protocol):
    """What queueing needs of an event (``events.log.PendingEvent`` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def actor_id(self) -> str | None: ...
    @property
    def context(self) -> Mapping[str, Any]: ...


@dataclass
class NotificationPlan:
    rows: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)


def plan(events: Sequence[EventLike], *, keep_inputs: bool = True) -> NotificationPlan:
    """The outbox rows the rules ask for ``events``: one per (event, recipient, channel), with
    the rule's category (the recipient's preferences are applied as they are inserted).

    With ``keep_inputs``, each event's context is kept too (``notification_inputs``) so a
    replay can apply the rules again later.
    """
    result = NotificationPlan()
    for event in events:
        if keep_inputs and event.context:
            result.inputs.append({"event_id": event.id, "context": _json_safe(event.context)})
        for planned in plan_rules(event.type, event.context, event.actor_id):
            result.rows.extend(_rows(event.id, planned))
    return result


def _rows(event_id: str, planned: Planned) -> list[dict[str, Any]]:
    return [
        {
            "id": new_id("ntf"),
            "event_id": event_id,
            "user_id": planned.user_id,
            "channel": channel,
            "category": planned.category,
            "title": planned.title,
            "body": planned.body,
        }
        for channel in planned.channels
    ]


async def write(session: AsyncSession, planned: NotificationPlan) -> int:
    """Insert the planned rows the recipients' preferences let through (an existing (event,
    user, channel) row is left as it is); return how many were new."""
    if planned.inputs:
        await repository.keep_inputs(session, planned.inputs)
    if not planned.rows:
        return 0
    return await repository.queue(session, planned.rows)


def _json_safe(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context as JSON (anything JSON cannot hold becomes its text)."""
    text = json.dumps({str(k): v for k, v in context.items()}, default=str, allow_nan=False)
    loaded: dict[str, Any] = json.loads(text)
    return loaded


class NotificationQueue:
    """The event log's outbox: the notifications of each transaction's events, queued in it."""

    async def plan(self, session: AsyncSession, events: Sequence[EventLike]) -> NotificationPlan:
        return plan(events)

    def rows(self, planned: NotificationPlan) -> OutboxRows:
        return OutboxRows(notifications=planned.rows, inputs=planned.inputs)
