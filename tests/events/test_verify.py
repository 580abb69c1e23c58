"""``tradematch events verify`` proves the log untouched, and names the first tampered event."""

from __future__ import annotations

import subprocess
from pathlib import Path

import asyncpg

from tests.flows.commands import superuser, tradematch
from tests.flows.database import Database
from tests.flows.users import Api, marketplace


async def _verify(db: Database, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return await tradematch(db, data_dir, "events", "verify")


async def _flow(api: Api) -> str:
    """A job with history: created, posted, offered to two vendors, accepted by one."""
    market = await marketplace(api, vendors=2)
    vendor = market.vendors[0]
    await api.accept(vendor, market.leads[vendor.user_id])
    # A second, untouched chain, so a break is pinned to the right job.
    await api.create_job(market.other_customer)
    return market.job_id


async def _chain(conn: asyncpg.Connection, job_id: str) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT id, seq, type, chain_index FROM event_log WHERE job_id = $1"
            " ORDER BY chain_index",
            job_id,
        )
    )


async def test_an_untouched_log_verifies(
    fresh_api: Api, fresh_db: Database, tmp_path: Path
) -> None:
    await _flow(fresh_api)
    result = await _verify(fresh_db, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout
    conn = await fresh_db.connect()
    try:
        events = await conn.fetchval("SELECT count(*) FROM event_log")
        chains = await conn.fetchval("SELECT count(DISTINCT job_id) FROM event_log")
    finally:
        await conn.close()
    assert f"{events} events in {chains} chains: ok" in result.stdout


async def test_an_altered_payload_is_named(
    fresh_api: Api, fresh_db: Database, tmp_path: Path
) -> None:
    job_id = await _flow(fresh_api)
    async with superuser(fresh_db, "event_log") as conn:
        chain = await _chain(conn, job_id)
        assert len(chain) >= 4
        target = chain[len(chain) // 2]
        updated = await conn.execute(
            "UPDATE event_log SET payload = payload || $2::jsonb WHERE id = $1",
            target["id"],
            '{"vendor_id": "usr_forged"}',
        )
    assert updated == "UPDATE 1"

    result = await _verify(fresh_db, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [line for line in result.stdout.splitlines() if line.startswith("BROKEN")]
    # Exactly one report: the altered event itself, not the innocent events after it.
    assert len(broken) == 1, result.stdout
    assert broken[0].startswith(f"BROKEN {target['id']} ")
    assert job_id in broken[0] and "altered" in broken[0]
    assert "TAMPERED" in result.stdout


async def test_a_deleted_middle_event_is_detected(
    fresh_api: Api, fresh_db: Database, tmp_path: Path
) -> None:
    job_id = await _flow(fresh_api)
    async with superuser(fresh_db, "event_log", "event_audience") as conn:
        chain = await _chain(conn, job_id)
        middle = len(chain) // 2
        removed, successor = chain[middle], chain[middle + 1]
        await conn.execute("DELETE FROM event_audience WHERE seq = $1", removed["seq"])
        await conn.execute("DELETE FROM notifications WHERE event_id = $1", removed["id"])
        deleted = await conn.execute("DELETE FROM event_log WHERE id = $1", removed["id"])
    assert deleted == "DELETE 1"

    result = await _verify(fresh_db, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [line for line in result.stdout.splitlines() if line.startswith("BROKEN")]
    assert len(broken) == 1, result.stdout
    # The gap shows at the event that followed the deleted one.
    assert broken[0].startswith(f"BROKEN {successor['id']} ")
    assert "missing" in broken[0]


async def test_a_rewritten_chain_tail_is_detected(
    fresh_api: Api, fresh_db: Database, tmp_path: Path
) -> None:
    """Deleting the last event leaves a shorter, self-consistent chain; deleting one and
    renumbering the next to close the gap must still fail on the broken hash link."""
    job_id = await _flow(fresh_api)
    async with superuser(fresh_db, "event_log", "event_audience") as conn:
        chain = await _chain(conn, job_id)
        removed, successor = chain[1], chain[2]
        await conn.execute("DELETE FROM event_audience WHERE seq = $1", removed["seq"])
        await conn.execute("DELETE FROM notifications WHERE event_id = $1", removed["id"])
        await conn.execute("DELETE FROM event_log WHERE id = $1", removed["id"])
        for later in chain[2:]:  # one by one, upwards, so the unique index never collides
            await conn.execute(
                "UPDATE event_log SET chain_index = chain_index - 1 WHERE id = $1", later["id"]
            )

    result = await _verify(fresh_db, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [line for line in result.stdout.splitlines() if line.startswith("BROKEN")]
    assert len(broken) == 1 and broken[0].startswith(f"BROKEN {successor['id']} "), result.stdout
    assert "previous-hash link" in broken[0]
