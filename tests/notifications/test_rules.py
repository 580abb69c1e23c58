"""Rules as data: every rule renders with whatever context it gets, and a bad context never
breaks the transaction that emits the event."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

from fastapi import FastAPI

from tests.flows.database import Database, fetch
from tests.flows.users import Api
from tradematch.authz.actor import SYSTEM
from tradematch.events import log as events
from tradematch.events.types import EventType
from tradematch.notifications.rules import RULES, plan

SEED_TEXTS = {
    "Vendor accepted your job",
    "Lead accepted. Messaging enabled.",
    "Quote received: £120",
    "Your quote was accepted! £120 job starts now.",
    "This job is no longer available",
    "Vendor submitted milestone for approval",
    "Milestone approved. Payment releasing...",
}
PARTIES = {"customer_id": "usr_C", "vendor_id": "usr_V", "recipient_id": "usr_R"}


def test_the_seed_texts_come_out_of_the_rules() -> None:
    context = {**PARTIES, "amount_pence": 12000, "job_title_short": "Fix leaking kitchen tap"}
    bodies = {p.body for event_type in RULES for p in plan(event_type, context, actor_id="usr_X")}
    assert bodies >= SEED_TEXTS
    assert "New lead: Fix leaking kitchen tap" in bodies


def test_every_rule_renders_with_any_context() -> None:
    contexts: list[dict[str, Any]] = [
        {},
        PARTIES,
        {**PARTIES, "amount_text": None, "job_title": "", "preview": "{0}", "sender_name": "{x}"},
        {**PARTIES, "amount_pence": "lots", "rating": object(), "reason": "line\nbreak"},
        {"customer_id": ["usr_A", "usr_B", 7, None], "vendor_id": 42, "recipient_id": None},
    ]
    for event_type in EventType:
        for context in contexts:
            for planned in plan(event_type, context, actor_id=None):
                assert planned.title and planned.body
                assert "\n" not in planned.title and "{" not in planned.title
                assert planned.user_id.startswith("usr_")
    # Missing fields fall back to a text without them.
    (quote,) = plan(EventType.QUOTE_SENT, {"customer_id": "usr_C"}, actor_id=None)
    assert quote.body == "Quote received"
    # A list of recipients notifies each once; the actor is skipped where the rule says so.
    raised = plan(EventType.DISPUTE_RAISED, PARTIES, actor_id="usr_C")
    assert [p.user_id for p in raised] == ["usr_V"]
    many = plan(EventType.JOB_COMPLETED, {"customer_id": ["usr_A", "usr_B", "usr_A"]}, None)
    assert [p.user_id for p in many] == ["usr_A", "usr_B"]


async def test_a_bad_context_never_breaks_the_transaction(
    app: FastAPI, api: Api, worker_db: Database
) -> None:
    customer = await api.customer()
    async with app.state.sessionmaker() as session:
        ids = [
            events.emit(
                session,
                EventType.QUOTE_SENT,
                actor=SYSTEM,
                job_id=None,
                payload={},
                audience=[],
                context=cast(  # what a careless caller might pass: the rules must cope
                    Any,
                    {
                        "customer_id": customer.user_id,
                        "amount_text": None,
                        "when": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                        "amount": Decimal("1.10"),
                        7: "not a string key",
                    },
                ),
            ),
            events.emit(
                session,
                EventType.MILESTONE_APPROVED,
                actor=SYSTEM,
                job_id=None,
                payload={},
                audience=[],
                context=cast(Any, {"vendor_id": "usr_that_does_not_exist", "customer_id": 3}),
            ),
        ]
        await events.flush(session)
        await session.commit()
    queued = await fetch(
        worker_db,
        "SELECT event_id, user_id, channel, body FROM notifications WHERE event_id = ANY($1)"
        " ORDER BY channel",
        ids,
    )
    assert [(r["user_id"], r["channel"], r["body"]) for r in queued] == [
        (customer.user_id, "email", "Quote received"),
        (customer.user_id, "in_app", "Quote received"),
    ]
    kept = await fetch(
        worker_db, "SELECT context FROM notification_inputs WHERE event_id = $1", ids[0]
    )
    assert len(kept) == 1
