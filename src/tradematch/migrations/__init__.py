"""The schema's migrations (Alembic, in ``versions/``), applied programmatically by
``tradematch db upgrade`` and ``serve``.

Alembic is loaded when a function here first needs it, not with the module: every API process
imports this for ``/readyz``, and loading Alembic up front would add about half a second to each
process's start."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.set_main_option(
        "file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d_%%(slug)s"
    )
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    # Alembic's env.py runs its own event loop; give it a thread of its own.
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)


@functools.cache
def head_revision() -> str | None:
    """The newest revision in ``versions/`` (read once: the files do not change under a running
    process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("postgresql+asyncpg://")).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
        )
