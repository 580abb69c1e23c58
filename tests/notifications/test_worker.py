"""The worker as a process: killed with SIGKILL while holding claimed rows, another worker
delivers them once the lease runs out; and the worker inside the API process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.flows.apps import JWT_SECRET, app_for, dispatching, eventually, make_settings
from tests.flows.database import Database, fetch
from tests.flows.peers import SmtpPeer, smtp_server
from tests.flows.users import marketplace
from tradematch.app import create_app

EMAILS = "SELECT * FROM notifications WHERE channel = 'email' ORDER BY id"
LEASE = 6.0


def _start_worker(db: Database, data_dir: Path, smtp_port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TRADEMATCH_DATABASE_URL": db.url,
        "TRADEMATCH_DATA_DIR": str(data_dir),
        "TRADEMATCH_JWT_SECRET": JWT_SECRET,
        "TRADEMATCH_SMTP_HOST": "127.0.0.1",
        "TRADEMATCH_SMTP_PORT": str(smtp_port),
        "TRADEMATCH_NOTIFY_LEASE_SECONDS": str(LEASE),
        "TRADEMATCH_NOTIFY_SEND_TIMEOUT_SECONDS": str(LEASE - 1),
        "TRADEMATCH_NOTIFY_POLL_SECONDS": "0.1",
    }
    log = (data_dir / "worker.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "tradematch", "worker"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def test_a_killed_workers_claimed_rows_are_delivered_by_another_after_the_lease(
    fresh_db: Database, tmp_path: Path
) -> None:
    slow = SmtpPeer(data_delay=120)  # holds every delivery: the worker keeps its rows claimed
    healthy = SmtpPeer()
    async with smtp_server(slow) as slow_port, smtp_server(healthy) as healthy_port:
        settings = make_settings(
            tmp_path,
            smtp_host="127.0.0.1",
            smtp_port=healthy_port,
            notify_lease_seconds=LEASE,
            notify_send_timeout_seconds=LEASE - 1,
        )
        async with app_for(fresh_db, settings) as (app, api):
            market = await marketplace(api, vendors=3)
            for vendor in market.vendors[:2]:
                await api.accept(vendor, market.leads[vendor.user_id])
            queued = await fetch(fresh_db, EMAILS)
            assert len(queued) == 7

            worker = _start_worker(fresh_db, tmp_path, slow_port)
            try:

                async def mid_batch() -> bool:
                    assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                    claimed = [r for r in await fetch(fresh_db, EMAILS) if r["attempts"] == 1]
                    return len(claimed) == len(queued) and len(slow.data_started) == len(queued)

                await eventually(mid_batch, seconds=60, what="the worker to hold every row")
            finally:
                os.kill(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
            assert worker.returncode == -signal.SIGKILL
            held = await fetch(fresh_db, EMAILS)
            assert all(r["status"] == "pending" and r["leased_until"] for r in held)

            async with dispatching(app):

                async def delivered() -> bool:
                    return all(r["status"] == "sent" for r in await fetch(fresh_db, EMAILS))

                await eventually(delivered, seconds=LEASE + 30, what="delivery after the lease")

    final = await fetch(fresh_db, EMAILS)
    assert all(r["attempts"] == 2 for r in final)
    # Not one was sent again before its lease ran out (database clock on both sides).
    assert all(r["sent_at"] >= h["leased_until"] for r, h in zip(final, held, strict=True))
    assert not slow.accepted  # the killed worker's sends never completed
    assert sorted(healthy.accepted_ids().elements()) == sorted(
        f"<{r['id']}@tradematch.local>" for r in final
    )


async def test_the_api_process_runs_the_worker_when_asked(
    fresh_db: Database, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    async with app_for(fresh_db, settings) as (_, api):
        await marketplace(api, vendors=2)
    app = create_app(settings, database_url=fresh_db.async_url, run_worker=True)
    async with app.router.lifespan_context(app):

        async def all_sent() -> bool:
            return all(
                r["status"] == "sent" for r in await fetch(fresh_db, "SELECT * FROM notifications")
            )

        await eventually(all_sent, what="the in-process worker to deliver")
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2


async def test_the_worker_stops_cleanly_on_sigterm(fresh_db: Database, tmp_path: Path) -> None:
    worker = _start_worker(fresh_db, tmp_path, smtp_port=1)
    log = tmp_path / "worker.log"
    try:

        async def started() -> bool:
            assert worker.poll() is None, log.read_text()
            return log.exists() and "worker_started" in log.read_text()

        await eventually(started, seconds=60, what="the worker to start")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
    assert "worker_stopped" in log.read_text()
