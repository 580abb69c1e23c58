"""Queueing notifications: the rules applied to events, filtered by each user's preferences.

``NotificationQueue`` is the event log's outbox (``events.log.Outbox``, wired into every session
by ``tradematch.sessions``): ``events.log.flush()`` calls ``plan`` (the preference lookup) and
writes its ``rows`` in the statement that inserts the events, so the notifications commit with
the change or not at all. ``tradematch events replay`` plans and ``write``s for stored events.
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


async def plan(
    session: AsyncSession, events: Sequence[EventLike], *, keep_inputs: bool = True
) -> NotificationPlan:
    """The outbox rows for ``events``: one per (event, recipient, channel the recipient has on,
    unless the event's category is turned off on that channel).

    With ``keep_inputs``, each event's context is kept too (``notification_inputs``) so a
    replay can apply the rules again later.
    """
    result = NotificationPlan()
    wanted: list[tuple[str, Planned]] = []
    for event in events:
        if keep_inputs and event.context:
            result.inputs.append({"event_id": event.id, "context": _json_safe(event.context)})
        wanted.extend((event.id, p) for p in plan_rules(event.type, event.context, event.actor_id))
    if not wanted:
        return result
    recipients = {p.user_id for _, p in wanted}
    reachable = await repository.reachable(session, recipients)
    for event_id, planned in wanted:
        user = reachable.get(planned.user_id)
        if user is None:
            continue
        for channel in planned.channels:
            if channel in user.channels and (planned.category, channel) not in user.categories_off:
                result.rows.append(
                    {
                        "id": new_id("ntf"),
                        "event_id": event_id,
                        "user_id": planned.user_id,
                        "channel": channel,
                        "title": planned.title,
                        "body": planned.body,
                    }
                )
    return result


async def write(session: AsyncSession, planned: NotificationPlan) -> int:
    """Insert the planned rows (an existing (event, user, channel) row is left as it is);
    return how many were new."""
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
        return await plan(session, events)

    def rows(self, planned: NotificationPlan) -> OutboxRows:
        return OutboxRows(notifications=planned.rows, inputs=planned.inputs)
