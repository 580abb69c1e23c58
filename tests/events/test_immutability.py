"""The event log and messages are append-only, enforced by the database itself (contract §1).

The statements run directly in SQL, as a superuser, bypassing the application entirely.
"""

from __future__ import annotations

import asyncpg
import pytest

from tests.flows.database import Database
from tests.flows.users import Api, marketplace

STATEMENTS = {
    "event_log": {
        "UPDATE": "UPDATE event_log SET payload = '{}' WHERE chain_index = 1",
        "DELETE": "DELETE FROM event_log WHERE seq = (SELECT max(seq) FROM event_log)",
        # CASCADE gets past the foreign keys (event_audience, notifications) to the trigger.
        "TRUNCATE": "TRUNCATE event_log CASCADE",
    },
    "messages": {
        "UPDATE": "UPDATE messages SET body = 'forged'",
        "DELETE": "DELETE FROM messages",
        "TRUNCATE": "TRUNCATE messages CASCADE",
    },
}
CASES = [(table, op) for table, ops in STATEMENTS.items() for op in ops]


async def _snapshot(conn: asyncpg.Connection) -> tuple[object, ...]:
    return (
        await conn.fetch("SELECT seq, id, payload, hash FROM event_log ORDER BY seq"),
        await conn.fetch("SELECT id, body FROM messages ORDER BY id"),
        await conn.fetchval("SELECT count(*) FROM event_audience"),
        await conn.fetchval("SELECT count(*) FROM notifications"),
    )


@pytest.mark.parametrize(("table", "operation"), CASES, ids=[f"{t}-{o}" for t, o in CASES])
async def test_changing_history_in_sql_is_refused(
    fresh_api: Api, fresh_db: Database, table: str, operation: str
) -> None:
    market = await marketplace(fresh_api, vendors=1)
    await fresh_api.accept(market.vendors[0], market.leads[market.vendors[0].user_id])

    conn = await fresh_db.connect()
    try:
        before = await _snapshot(conn)
        assert before[0] and before[1], "the flow wrote events and a message"
        with pytest.raises(asyncpg.RestrictViolationError) as refused:
            await conn.execute(STATEMENTS[table][operation])
        # The trigger's own words (for TRUNCATE … CASCADE, the first append-only table it meets).
        assert f"is append-only: {operation} is not allowed" in str(refused.value)
        if operation != "TRUNCATE":
            assert str(refused.value).startswith(f"{table} is append-only")
        assert await _snapshot(conn) == before
    finally:
        await conn.close()


@pytest.mark.parametrize("table", ["event_log", "messages"])
async def test_plain_truncate_is_refused_too(
    fresh_api: Api, fresh_db: Database, table: str
) -> None:
    market = await marketplace(fresh_api, vendors=1)
    await fresh_api.accept(market.vendors[0], market.leads[market.vendors[0].user_id])
    conn = await fresh_db.connect()
    try:
        before = await _snapshot(conn)
        with pytest.raises(asyncpg.PostgresError):
            await conn.execute(f"TRUNCATE {table}")
        assert await _snapshot(conn) == before
    finally:
        await conn.close()


async def test_the_triggers_exist_for_every_append_only_table(fresh_db: Database) -> None:
    conn = await fresh_db.connect()
    try:
        rows = await conn.fetch(
            "SELECT tgrelid::regclass::text AS table_name, tgname FROM pg_trigger"
            " WHERE NOT tgisinternal AND tgenabled = 'O' AND tgfoid = 'tm_reject_change'::regproc"
        )
    finally:
        await conn.close()
    found = {(r["table_name"], r["tgname"]) for r in rows}
    for table in ("event_log", "event_audience", "messages", "ledger_entries"):
        assert (table, f"{table}_immutable") in found
        assert (table, f"{table}_no_truncate") in found
