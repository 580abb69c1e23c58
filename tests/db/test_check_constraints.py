"""Every CHECK constraint in the database against the code's state tables and catalogues.

Alembic's comparison (``test_migrations.py``) does not look at CHECK constraints, so a state
added to a ``states.py`` table without a migration (or a migration that left one out) would
only show as a 500 when the first row tries to enter that state. Here, read from
``pg_constraint``:

- the database has exactly the CHECK constraints the table models declare;
- each constraint that lists a column's allowed values lists exactly the code's values;
- every other literal a constraint compares a listed column with is one of those values.
"""

from __future__ import annotations

import re

from tests.flows.database import Database
from tradematch.authz.roles import ROLES
from tradematch.disputes.states import DISPUTE, RESOLUTIONS
from tradematch.escrow.models import (
    LEDGER_ACCOUNT_KINDS,
    LEDGER_TRANSACTION_KINDS,
    WALLET_KINDS,
)
from tradematch.escrow.states import ESCROW, PAYOUT
from tradematch.jobs.states import JOB
from tradematch.kit.catalogue import BADGES, TIMEFRAMES, TRADES
from tradematch.leads.states import LEAD
from tradematch.messaging.states import CONVERSATION, MESSAGE_KINDS
from tradematch.milestones.states import MILESTONE
from tradematch.notifications.states import CHANNELS, NOTIFICATION_STATES
from tradematch.quotes.states import QUOTE
from tradematch.reviews.states import REVIEW
from tradematch.tables import Base
from tradematch.uploads.models import CONTENT_TYPES

# (table, column) → the values the code allows in it.
VALUES: dict[tuple[str, str], tuple[str, ...]] = {
    ("users", "role"): ROLES,
    ("vendor_profiles", "badges"): BADGES,
    ("vendor_trades", "trade"): TRADES,
    ("jobs", "status"): JOB.states,
    ("jobs", "trade_category"): TRADES,
    ("jobs", "timeframe"): TIMEFRAMES,
    ("leads", "status"): LEAD.states,
    ("quotes", "status"): QUOTE.states,
    ("conversations", "status"): CONVERSATION.states,
    ("messages", "kind"): MESSAGE_KINDS,
    ("escrow_accounts", "status"): ESCROW.states,
    ("ledger_accounts", "kind"): LEDGER_ACCOUNT_KINDS,
    ("ledger_transactions", "kind"): LEDGER_TRANSACTION_KINDS,
    ("milestones", "status"): MILESTONE.states,
    ("payouts", "status"): PAYOUT.states,
    ("payouts", "wallet_kind"): WALLET_KINDS,
    ("disputes", "status"): DISPUTE.states,
    ("disputes", "resolution"): RESOLUTIONS,
    ("reviews", "status"): REVIEW.states,
    ("notifications", "channel"): CHANNELS,
    ("notifications", "status"): NOTIFICATION_STATES,
    ("notification_preferences", "channel"): CHANNELS,
    ("uploads", "content_type"): CONTENT_TYPES,
}
# A column compared with a literal: "(status)::text = 'draft'::text", "kind = 'provider'".
COMPARISON = re.compile(r"\(?(\w+)\)?(?:::\w+(?: \w+)?)? (?:=|<>) '([^']*)'")
LITERAL = re.compile(r"'([^']*)'")


async def _checks(db: Database) -> dict[str, tuple[str, str]]:
    conn = await db.connect()
    try:
        rows = await conn.fetch(
            "SELECT c.conname, t.relname, pg_get_constraintdef(c.oid) AS definition"
            " FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid"
            " JOIN pg_namespace n ON n.oid = t.relnamespace"
            " WHERE c.contype = 'c' AND n.nspname = 'public'"
        )
    finally:
        await conn.close()
    return {r["conname"]: (r["relname"], r["definition"]) for r in rows}


def _declared() -> set[str]:
    names = set()
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            if constraint.__class__.__name__ == "CheckConstraint":
                names.add(str(constraint.name))
    return names


async def test_the_database_has_the_checks_the_models_declare(worker_db: Database) -> None:
    in_database = set(await _checks(worker_db))
    assert in_database == _declared()


async def test_value_lists_are_the_codes(worker_db: Database) -> None:
    checks = await _checks(worker_db)
    for (table, column), allowed in VALUES.items():
        name = f"ck_{table}_{column}"
        assert name in checks, f"no CHECK on {table}.{column}"
        listed = LITERAL.findall(checks[name][1])
        assert sorted(listed) == sorted(allowed), (name, checks[name][1])


async def test_every_other_literal_is_an_allowed_value(worker_db: Database) -> None:
    problems = []
    for name, (table, definition) in (await _checks(worker_db)).items():
        for column, value in COMPARISON.findall(definition):
            allowed = VALUES.get((table, column))
            if allowed is None:
                problems.append(f"{name}: {column} = {value!r} has no list of values in code")
            elif value not in allowed:
                problems.append(f"{name}: {value!r} is not a value of {table}.{column}")
    assert problems == []


def test_the_comparison_pattern_reads_postgresql_s_rendering() -> None:
    rendered = "CHECK ((((status)::text = 'draft'::text) = (published_at IS NULL)))"
    assert COMPARISON.findall(rendered) == [("status", "draft")]
    assert COMPARISON.findall("CHECK (((kind)::text <> 'provider'::text))") == [
        ("kind", "provider")
    ]
