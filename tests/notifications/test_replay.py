"""``tradematch events replay`` re-drives notifications of a range of events, duplicating none."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.flows.apps import app_for, make_settings
from tests.flows.database import Database, fetch
from tests.flows.deals import accepted_conversation, send_message
from tests.flows.users import marketplace

ALL = "SELECT * FROM notifications ORDER BY id"


def _replay(db: Database, data_dir: Path, *args: str) -> str:
    env = {
        **os.environ,
        "TRADEMATCH_DATABASE_URL": db.url,
        "TRADEMATCH_DATA_DIR": str(data_dir),
        "TRADEMATCH_LOG_JSON": "true",
    }
    result = subprocess.run(
        [sys.executable, "-m", "tradematch", "events", "replay", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _counts(output: str) -> tuple[int, int, int]:
    found = re.search(r"(\d+) events replayed .* (\d+) notifications queued, (\d+) dead", output)
    assert found, output
    events, queued, revived = (int(g) for g in found.groups())
    return events, queued, revived


async def test_replay_requeues_what_is_missing_and_duplicates_nothing(
    fresh_db: Database, tmp_path: Path
) -> None:
    async with app_for(fresh_db, make_settings(tmp_path)) as (_, api):
        market = await marketplace(api, vendors=2)
        conversation = await accepted_conversation(api, market)
        await send_message(api, market.customer, conversation, "Can you come on Monday?")
        await send_message(api, market.vendors[0], conversation, "Yes, from 8am.")
    original = {r["id"]: r for r in await fetch(fresh_db, ALL)}
    seqs = await fetch(
        fresh_db,
        "SELECT e.seq, e.id FROM event_log e WHERE EXISTS"
        " (SELECT 1 FROM notifications n WHERE n.event_id = e.id) ORDER BY e.seq",
    )
    first, last = seqs[0], seqs[-1]

    conn = await fresh_db.connect()
    try:
        # Lost rows (inside the range, and one of the last event, outside a range ending before
        # it), a sent row, and a dead one.
        lost = await conn.fetch(
            "DELETE FROM notifications WHERE channel = 'email' AND event_id <> $1 RETURNING *",
            last["id"],
        )
        outside = await conn.fetchrow(
            "DELETE FROM notifications WHERE event_id = $1 AND channel = 'in_app' RETURNING *",
            last["id"],
        )
        sent = await conn.fetchrow(
            "UPDATE notifications SET status = 'sent', sent_at = now(), attempts = 1"
            " WHERE id = (SELECT min(id) FROM notifications WHERE channel = 'in_app')"
            " RETURNING *"
        )
        dead = await conn.fetchrow(
            "UPDATE notifications SET status = 'dead', attempts = 8, last_error = 'boom'"
            " WHERE id = (SELECT max(id) FROM notifications WHERE channel = 'in_app'"
            " AND status = 'pending') RETURNING *"
        )
    finally:
        await conn.close()
    assert lost and outside and sent and dead

    output = _replay(
        fresh_db, tmp_path, "--since", str(first["seq"]), "--until", str(last["seq"] - 1)
    )
    events, queued, revived = _counts(output)
    assert queued == len(lost) and revived == 1 and events >= len(seqs) - 1

    after = {(r["event_id"], r["user_id"], r["channel"]): r for r in await fetch(fresh_db, ALL)}
    expected = {(r["event_id"], r["user_id"], r["channel"]) for r in original.values()}
    missing_outside = (outside["event_id"], outside["user_id"], outside["channel"])
    assert set(after) == expected - {missing_outside}
    assert len(after) == len(original) - 1  # nothing twice (and the unique key holds anyway)
    # Recreated rows have the same words; untouched rows are exactly as they were.
    for row in lost:
        again = after[(row["event_id"], row["user_id"], row["channel"])]
        assert (again["title"], again["body"], again["status"]) == (
            row["title"],
            row["body"],
            "pending",
        )
    kept = after[(sent["event_id"], sent["user_id"], sent["channel"])]
    assert (kept["id"], kept["status"], kept["sent_at"]) == (sent["id"], "sent", sent["sent_at"])
    revived_row = after[(dead["event_id"], dead["user_id"], dead["channel"])]
    assert (revived_row["id"], revived_row["status"], revived_row["attempts"]) == (
        dead["id"],
        "pending",
        0,
    )

    # Replaying everything now restores the last event's row, and only that; again, nothing.
    assert _counts(_replay(fresh_db, tmp_path, "--since", "1"))[1:] == (1, 0)
    assert _counts(_replay(fresh_db, tmp_path, "--since", "1"))[1:] == (0, 0)
    assert len(await fetch(fresh_db, ALL)) == len(original)
