"""``tradematch events verify`` cross-checks the money the event log records against the
ledger: a superuser who changes what a transaction moved, keeping it balanced and the hash
chains intact, is reported."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.flows.commands import superuser, tradematch
from tests.flows.database import Database
from tests.flows.deals import funded_deal, ok
from tests.flows.users import Api

PLAN = (4050, 8000)


async def _verify(db: Database, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return await tradematch(db, data_dir, "events", "verify")


async def test_verify_reports_a_ledger_that_disagrees_with_the_log(
    fresh_api: Api, fresh_db: Database, tmp_path: Path
) -> None:
    deal = await funded_deal(fresh_api, plan=PLAN)
    ok(await deal.submit(0))
    ok(await deal.approve(0))
    untouched = await _verify(fresh_db, tmp_path)
    assert untouched.returncode == 0, untouched.stdout + untouched.stderr
    assert "ledger against the log: ok" in untouched.stdout

    # A superuser moves £10 more to the vendor, keeping the transaction balanced and the hash
    # chain untouched: only the cross-check can see it.
    async with superuser(fresh_db, "ledger_entries") as conn:
        [release] = await conn.fetch(
            "SELECT id, event_id FROM ledger_transactions WHERE job_id = $1"
            " AND kind = 'milestone_release'",
            deal.job_id,
        )
        changed = await conn.execute(
            "UPDATE ledger_entries SET amount_pence = amount_pence + sign(amount_pence) * 1000"
            " WHERE transaction_id = $1",
            release["id"],
        )
    assert changed == "UPDATE 2"

    result = await _verify(fresh_db, tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    mismatches = [line for line in result.stdout.splitlines() if line.startswith("MISMATCH")]
    assert len(mismatches) == 1, result.stdout
    assert mismatches[0].startswith(f"MISMATCH {release['id']} (event {release['event_id']},")
    assert "PAYMENT_RELEASED records £40.50" in mismatches[0]
    assert "moved £50.50" in mismatches[0]
    assert "chains: ok" in result.stdout  # the log itself is intact
