"""Event writers behind a slow COMMIT: does one writer's commit hold up the others?

Each transaction appends one event with ``tm_append_events`` (the statement every event-writing
request sends; each writer on a job of its own, with an audience and an in-app notification)
and then spends ``--hold`` milliseconds before its COMMIT completes (``pg_sleep``: a stand-in
for a slow WAL flush, a busy disk or a stalled client, the stall that used to hold up every
writer). With ``W`` concurrent writers and nothing serialising them, throughput is about
``W ÷ hold``; behind one lock held through COMMIT it stays about ``1 ÷ hold`` whatever ``W``.

For comparison in the same run, ``global lock`` sends the same transactions with one
transaction-scoped advisory lock taken before the append, as the log's design before positions
did (the lock was held from drawing the sequence numbers until COMMIT ended). What this measures
is independent of the number of CPUs: the writers wait, they do not compute.

    python bench/commit_overlap.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

import benchdb
import uvloop
from write_paths import APPEND, NOTIFY_CHANNEL, benchdb_pool, event, in_app
from ws_latency import insert_users, machine

from tradematch.kit.ids import new_id

GLOBAL_LOCK = "SELECT pg_advisory_xact_lock(7311)"  # any one key: every writer takes the same
DESIGNS = {"positions (now)": False, "global lock (before)": True}


async def insert_jobs(url: str, customers: list[str]) -> list[str]:
    """One live job per writer, straight into the table (the bench needs rows, not a flow)."""
    jobs = [new_id("job") for _ in customers]
    conn = await benchdb.connect(url)
    try:
        await conn.executemany(
            "INSERT INTO jobs (id, customer_id, title, description, trade_category,"
            " budget_min_pence, budget_max_pence, timeframe, postcode, outcode, status,"
            " published_at) SELECT $1, u.id, 'Bench job', 'A bench job', 'Plumbing', 10000, 20000,"
            " 'flexible', u.postcode, u.outcode, 'live', now() FROM users u WHERE u.id = $2::text",
            list(zip(jobs, customers, strict=True)),
        )
    finally:
        await conn.close()
    return jobs


async def writer(
    pool: Any, job_id: str, customer_id: str, count: int, hold: float, lock: bool
) -> list[float]:
    """``count`` transactions one after another; each one's time from BEGIN to COMMIT's end."""
    took = []
    for _ in range(count):
        started = time.perf_counter()
        async with pool.acquire() as conn, conn.transaction():
            if lock:
                await conn.execute(GLOBAL_LOCK)
            payload = {"fields": ["description"]}
            updated = event("JOB_UPDATED", job_id, customer_id, "customer", payload, [customer_id])
            rows = [in_app(updated["id"], customer_id, "Job updated", "jobs")]
            await conn.fetchval(APPEND, json.dumps([updated]), json.dumps(rows), "[]",
                                NOTIFY_CHANNEL)  # fmt: skip
            await conn.execute("SELECT pg_sleep($1)", hold)
        took.append(time.perf_counter() - started)
    return took


async def run(args: argparse.Namespace) -> dict[str, Any]:
    server_url = benchdb.server_url(args.database_url)
    most = max(args.writers)
    hold = args.hold / 1000
    results: list[dict[str, Any]] = []
    async with benchdb.bench_database(server_url, args.keep) as url:
        pairs = await insert_users(url, most)
        customers = [p.customer_id for p in pairs]
        jobs = await insert_jobs(url, customers)
        pool = await benchdb_pool(url, most)
        try:
            warm_up = 5  # per design, unmeasured: connections' first statements, caches
            for lock in DESIGNS.values():
                await writer(pool, jobs[0], customers[0], warm_up, hold, lock)
            for writers in args.writers:
                for design, lock in DESIGNS.items():
                    started = time.perf_counter()
                    per_writer = await asyncio.gather(
                        *(
                            writer(pool, jobs[w], customers[w], args.transactions, hold, lock)
                            for w in range(writers)
                        )
                    )
                    wall = time.perf_counter() - started
                    times = sorted(t for each in per_writer for t in each)
                    row = {
                        "design": design,
                        "writers": writers,
                        "transactions_per_s": len(times) / wall,
                        "median_ms": statistics.median(times) * 1000,
                        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
                    }
                    results.append(row)
                    print(
                        f"{design:22} {writers:3} writers  {row['transactions_per_s']:7.1f} "
                        f"transactions/s  median {row['median_ms']:7.1f} ms  "
                        f"p99 {row['p99_ms']:7.1f} ms",
                        flush=True,
                    )
            conn = await benchdb.connect(url)
            try:
                written = await conn.fetchval("SELECT count(*) FROM event_log")
            finally:
                await conn.close()
        finally:
            await pool.close()
    expected = (sum(args.writers) * args.transactions + warm_up) * len(DESIGNS)
    assert written == expected, (written, expected)  # every append committed, none lost
    return {
        "machine": machine(),
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help=f"PostgreSQL server (default: ${benchdb.URL_ENV})")
    parser.add_argument(
        "--writers", type=int, nargs="+", default=[1, 2, 4, 8, 16], help="concurrent writers"
    )
    parser.add_argument("--transactions", type=int, default=25, help="per writer and level")
    parser.add_argument("--hold", type=float, default=20.0, help="ms before COMMIT completes")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        report = runner.run(run(args))
    for design in DESIGNS:
        rows = [r for r in report["results"] if r["design"] == design]
        one = rows[0]["transactions_per_s"]
        scaling = "  ".join(
            f"{r['writers']}: x{r['transactions_per_s'] / one:.2f}" for r in rows[1:]
        )
        print(f"{design:22} throughput against {rows[0]['writers']} writer(s) — {scaling}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
