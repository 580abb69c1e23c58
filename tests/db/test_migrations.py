"""The migrations are the schema: they must match the table models exactly."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from tests.flows.database import Database
from tradematch.core.database import create_engine
from tradematch.migrations import head_revision
from tradematch.tables import Base


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_and_migrations_agree(worker_db: Database) -> None:
    engine = create_engine(worker_db.async_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(_diff)
    finally:
        await engine.dispose()
    assert differences == []


async def test_database_is_at_head(worker_db: Database) -> None:
    conn = await worker_db.connect()
    try:
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == head_revision()
        triggers = {
            r["tgname"]
            for r in await conn.fetch("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        }
    finally:
        await conn.close()
    for table in ("event_log", "event_audience", "messages", "ledger_entries"):
        assert {f"{table}_immutable", f"{table}_no_truncate"} <= triggers
    assert {"ledger_entries_apply", "ledger_entries_balanced"} <= triggers
