"""Signed checkpoints anchor the hash chains: a superuser who deletes a job's last events, or
rewrites an event and recomputes that job's hashes, leaves chains that verify on their own —
``tradematch events verify`` catches both against the checkpoints, and reports a checkpoint
that is forged, edited or unsigned."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import asyncpg
from fastapi import FastAPI

from tests.flows.apps import sessionmaker_of, settings_of
from tests.flows.commands import superuser, tradematch
from tests.flows.database import Database, events_settled
from tests.flows.users import Api, marketplace
from tradematch.events.chain import event_hash
from tradematch.events.checkpoints import checkpoint_files
from tradematch.worker.scheduler import run_once


async def _cli(db: Database, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The checkpoint directory and secret come from the data dir, not from the environment.
    unset = ("TRADEMATCH_CHECKPOINT_DIR", "TRADEMATCH_CHECKPOINT_SECRET")
    return await tradematch(db, data_dir, "events", *args, unset=unset)


def _lines(result: subprocess.CompletedProcess[str], kind: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(kind)]


async def _flow(api: Api) -> tuple[str, str]:
    """Two jobs with history; the first's vendor accepted its lead."""
    market = await marketplace(api, vendors=2)
    vendor = market.vendors[0]
    await api.accept(vendor, market.leads[vendor.user_id])
    other = await api.create_job(market.other_customer)
    return market.job_id, other["job_id"]


async def _checkpointed(api: Api, db: Database, data_dir: Path) -> tuple[str, str]:
    job_id, other = await _flow(api)
    written = await _cli(db, data_dir, "checkpoint")
    assert written.returncode == 0 and "checkpoint-" in written.stdout, written.stderr
    return job_id, other


async def _chain(conn: asyncpg.Connection, job_id: str) -> list[asyncpg.Record]:
    return list(
        await conn.fetch("SELECT * FROM event_log WHERE job_id = $1 ORDER BY chain_index", job_id)
    )


async def _delete(conn: asyncpg.Connection, event: asyncpg.Record) -> None:
    await conn.execute("DELETE FROM event_audience WHERE seq = $1", event["seq"])
    await conn.execute("DELETE FROM notifications WHERE event_id = $1", event["id"])
    await conn.execute("DELETE FROM notification_inputs WHERE event_id = $1", event["id"])
    await conn.execute("DELETE FROM event_log WHERE id = $1", event["id"])


IMMUTABLE = ("event_log", "event_audience")


async def test_an_untouched_log_verifies_against_every_checkpoint(
    fresh_api: Api, fresh_db: Database, tmp_path: Path
) -> None:
    job_id, _ = await _checkpointed(fresh_api, fresh_db, tmp_path)
    nothing_new = await _cli(fresh_db, tmp_path, "checkpoint")
    assert "nothing new" in nothing_new.stdout, nothing_new.stdout
    await _flow(fresh_api)  # more events: the next checkpoint records only the chains that moved
    assert (await _cli(fresh_db, tmp_path, "checkpoint")).returncode == 0
    files = checkpoint_files(tmp_path / "checkpoints")
    assert len(files) == 2
    first, second = (json.loads(path.read_text()) for path in files)
    assert second["after_seq"] == first["max_seq"] < second["max_seq"]
    assert job_id not in {head[0] for head in second["heads"]}

    result = await _cli(fresh_db, tmp_path, "verify")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "checkpoints: 2 checked: ok" in result.stdout


async def test_a_deleted_last_event_is_reported_as_truncation(
    fresh_api: Api, fresh_db: Database, tmp_path: Path
) -> None:
    job_id, _ = await _checkpointed(fresh_api, fresh_db, tmp_path)
    async with superuser(fresh_db, *IMMUTABLE) as conn:
        chain = await _chain(conn, job_id)
        await _delete(conn, chain[-1])

    # The shortened chain is consistent on its own: without checkpoints nothing is noticed.
    alone = await _cli(fresh_db, tmp_path, "verify", "--checkpoints", str(tmp_path / "none"))
    assert alone.returncode == 0 and "checkpoints: none found" in alone.stdout, alone.stdout

    result = await _cli(fresh_db, tmp_path, "verify")

    assert result.returncode == 1, result.stdout + result.stderr
    assert _lines(result, "BROKEN") == []
    [truncated] = [line for line in _lines(result, "TRUNCATED") if job_id in line]
    assert f"TRUNCATED job {job_id} " in truncated
    assert f"recorded {len(chain)} events" in truncated and f"only {len(chain) - 1}" in truncated
    # The log as a whole lost an event below the checkpointed sequence number.
    assert any(line.startswith("TRUNCATED the log") for line in _lines(result, "TRUNCATED"))


async def test_a_rewritten_and_rehashed_chain_is_reported(
    fresh_api: Api, fresh_db: Database, tmp_path: Path
) -> None:
    job_id, other = await _checkpointed(fresh_api, fresh_db, tmp_path)
    async with superuser(fresh_db, *IMMUTABLE) as conn:
        chain = await _chain(conn, job_id)
        prev_hash = chain[0]["prev_hash"]
        for position, event in enumerate(chain):
            payload = json.loads(event["payload"])
            if position == 1:
                payload["forged"] = True
            digest = event_hash(
                seq=event["seq"],
                event_id=event["id"],
                type=event["type"],
                job_id=event["job_id"],
                actor_id=event["actor_id"],
                actor_role=event["actor_role"],
                payload=payload,
                idempotency_key=event["idempotency_key"],
                created_at=event["created_at"],
                chain_index=event["chain_index"],
                prev_hash=prev_hash,
            )
            await conn.execute(
                "UPDATE event_log SET payload = $2::jsonb, prev_hash = $3, hash = $4 WHERE id = $1",
                event["id"],
                json.dumps(payload),
                prev_hash,
                digest,
            )
            prev_hash = digest

    alone = await _cli(fresh_db, tmp_path, "verify", "--checkpoints", str(tmp_path / "none"))
    assert alone.returncode == 0, alone.stdout  # the recomputed chain verifies on its own

    result = await _cli(fresh_db, tmp_path, "verify")

    assert result.returncode == 1, result.stdout + result.stderr
    assert _lines(result, "BROKEN") == []
    rewritten = _lines(result, "REWRITTEN")
    assert len(rewritten) == 1 and rewritten[0].startswith(f"REWRITTEN job {job_id} ")
    assert other not in result.stdout


async def test_forged_edited_and_unsigned_checkpoints_are_reported(
    fresh_api: Api, fresh_db: Database, tmp_path: Path
) -> None:
    await _checkpointed(fresh_api, fresh_db, tmp_path)
    directory = tmp_path / "checkpoints"
    [genuine] = checkpoint_files(directory)
    document = json.loads(genuine.read_text())

    edited = dict(document, events=document["events"] + 1)  # the old signature kept
    (directory / "checkpoint-99999999999999999997-edited.json").write_text(json.dumps(edited))
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    (directory / "checkpoint-99999999999999999998-unsigned.json").write_text(json.dumps(unsigned))
    # Signed, but with a key of its own: another data dir's generated secret.
    elsewhere = tmp_path / "elsewhere"
    assert (await _cli(fresh_db, elsewhere, "checkpoint")).returncode == 0
    [foreign] = checkpoint_files(elsewhere / "checkpoints")
    shutil.copy(foreign, directory / "checkpoint-99999999999999999999-foreign.json")

    result = await _cli(fresh_db, tmp_path, "verify")

    assert result.returncode == 1, result.stdout + result.stderr
    forged = _lines(result, "FORGED")
    assert len(forged) == 3, result.stdout
    assert any("edited" in line and "signature does not match" in line for line in forged)
    assert any("unsigned" in line for line in forged)
    assert any("foreign" in line and "signature does not match" in line for line in forged)
    assert genuine.name not in " ".join(forged)
    assert "checkpoints: 4 checked: 3 FINDINGS" in result.stdout


async def test_the_scheduler_writes_checkpoints_into_an_append_only_directory(
    fresh_app: FastAPI, fresh_api: Api, fresh_db: Database, tmp_path: Path
) -> None:
    directory = tmp_path / "anchors"
    settings = settings_of(fresh_app).model_copy(update={"checkpoint_dir": directory})
    sessionmaker = sessionmaker_of(fresh_app)
    await _flow(fresh_api)
    # A checkpoint covers the events below the horizon; a transaction of a test running beside
    # this one on the same server can hold it back for a moment.
    await events_settled(fresh_db)

    await run_once(sessionmaker, settings, only=["checkpoint"])
    await run_once(sessionmaker, settings, only=["checkpoint"])  # nothing new: no second file

    [path] = checkpoint_files(directory)
    document = json.loads(path.read_text())
    assert document["after_seq"] == 0 and document["heads"] and document["signature"]
    await fresh_api.create_job(await fresh_api.customer())
    await events_settled(fresh_db)
    await run_once(sessionmaker, settings, only=["checkpoint"])
    assert checkpoint_files(directory)[0] == path  # the first is kept as it was
    assert len(checkpoint_files(directory)) == 2
