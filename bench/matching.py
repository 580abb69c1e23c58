"""Matching benchmark: publish jobs against 100,000 vendors spread over the UK.

Creates a database of its own (on the embedded PostgreSQL by default, or on the server named by
``--database-url`` / ``TRADEMATCH_BENCH_DATABASE_URL``), migrates it, bulk-loads the vendors in
SQL, then publishes jobs through the real HTTP API (in process) and prints:

* publish latency (``PATCH /jobs/{id}/publish``: auth, row lock, matching, lead rows, events,
  notifications, commit) — median, p95, max;
* the matching query alone (``leads.repository.best_matches``) — median, p95, max;
* ``EXPLAIN (ANALYZE, BUFFERS)`` of the matching query for the slowest job.

The database is dropped at the end unless ``--keep`` is given. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import benchdb
import httpx
from pydantic import SecretStr
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tradematch.app import create_app
from tradematch.core.config import Settings
from tradematch.core.database import create_engine, to_async_url
from tradematch.core.logging import configure_logging
from tradematch.jobs.models import Job
from tradematch.kit.catalogue import TIMEFRAMES, TRADES
from tradematch.leads import repository as leads
from tradematch.sessions import create_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
URL_ENV = "TRADEMATCH_BENCH_DATABASE_URL"
PASSWORD = "bench-password-123"

# Share of vendors by service radius (miles): most work locally, a few travel far.
RADIUS_MIX = (
    (5, 0.15),
    (10, 0.30),
    (15, 0.20),
    (20, 0.15),
    (25, 0.08),
    (30, 0.06),
    (50, 0.04),
    (100, 0.02),
)


def _radius_case() -> str:
    """SQL CASE turning a uniform random number ``r_radius`` into a radius from RADIUS_MIX."""
    parts, cumulative = [], 0.0
    for miles, share in RADIUS_MIX[:-1]:
        cumulative += share
        parts.append(f"WHEN r_radius < {cumulative:.4f} THEN {miles}")
    return f"CASE {' '.join(parts)} ELSE {RADIUS_MIX[-1][0]} END"


# Vendors are placed uniformly over the 2,975 outcode districts. Districts are small where
# people live densely (central London has hundreds within 15 miles; the Highlands a handful),
# so this gives city-dense, country-sparse vendors: the realistic worst case for a city job.
NUMBER_OUTCODES = (
    "CREATE TEMP TABLE bench_outcodes AS "
    "SELECT outcode, row_number() OVER (ORDER BY outcode)::int AS rn FROM outcodes"
)
DRAW_VENDORS = """
    CREATE TEMP TABLE bench_vendors AS
    SELECT g,
           'usr_BENCH' || lpad(g::text, 17, '0') AS id,
           1 + floor(random() * (SELECT count(*) FROM outcodes))::int AS outcode_rn,
           random() AS r_radius,
           random() < 0.9 AS accepting,
           random() < 0.7 AS rated,
           1 + floor(random() * 60)::int AS reviews,
           3 + random() * 2 AS average,
           1 + floor(random() * 3)::int AS trade_count,
           floor(random() * 13)::int AS first_trade
      FROM generate_series(1, $1) AS g
"""
INSERT_USERS = """
    INSERT INTO users (id, email, password_hash, name, phone, postcode, outcode, role)
    SELECT v.id, 'bench-vendor-' || v.g || '@example.com', 'no-login', 'Bench Vendor ' || v.g,
           '07700' || lpad((v.g % 1000000)::text, 6, '0'),
           o.outcode || ' ' || (v.g % 10) || 'AB', o.outcode, 'vendor'
      FROM bench_vendors v JOIN bench_outcodes o ON o.rn = v.outcode_rn
"""
INSERT_PROFILES = f"""
    INSERT INTO vendor_profiles (user_id, business_name, postcode, outcode, service_radius_miles,
                                 accepting_leads, rating_count, rating_total)
    SELECT v.id, 'Bench Trades ' || v.g, u.postcode, u.outcode, {_radius_case()}, v.accepting,
           CASE WHEN v.rated THEN v.reviews ELSE 0 END,
           CASE WHEN v.rated THEN round(v.average * v.reviews)::int ELSE 0 END
      FROM bench_vendors v JOIN users u ON u.id = v.id
"""
# 1-3 distinct trades each (steps of 5 modulo 13 never repeat within three).
INSERT_TRADES = """
    INSERT INTO vendor_trades (vendor_id, trade)
    SELECT v.id, ($1::text[])[1 + (v.first_trade + i * 5) % 13]
      FROM bench_vendors v CROSS JOIN generate_series(0, 2) AS i
     WHERE i < v.trade_count
"""


async def load_vendors(url: str, count: int, seed: float) -> None:
    conn = await benchdb.connect(url)
    try:
        started = time.perf_counter()
        await conn.execute("SELECT setseed($1)", seed)
        await conn.execute(NUMBER_OUTCODES)
        await conn.execute(DRAW_VENDORS, count)
        await conn.execute(INSERT_USERS)
        await conn.execute(INSERT_PROFILES)
        await conn.execute(INSERT_TRADES, list(TRADES))
        await conn.execute("ANALYZE")
        elapsed = time.perf_counter() - started
        stats = await conn.fetchrow(
            """
            SELECT count(*) AS vendors,
                   count(DISTINCT outcode) AS districts,
                   count(*) FILTER (WHERE accepting_leads) AS accepting,
                   (SELECT count(*) FROM vendor_trades) AS trades
              FROM vendor_profiles
            """
        )
    finally:
        await conn.close()
    counts = (
        f"{stats['districts']:,} districts, {stats['accepting']:,} accepting leads, "
        f"{stats['trades']:,} vendor trades"
    )
    print(f"loaded {stats['vendors']:,} vendors in {elapsed:.1f} s: {counts}")


def _ms(values: Sequence[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"median {statistics.median(ordered) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms   "
        f"max {ordered[-1] * 1000:7.2f} ms   (n={len(ordered)})"
    )


class CapturedQuery:
    """Records the matching statement as sent to the driver, to EXPLAIN it verbatim."""

    def __init__(self) -> None:
        self.statement: str | None = None
        self.parameters: Any = None

    def __call__(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if "tm_distance_miles" in statement:
            self.statement, self.parameters = statement, parameters


async def time_matching(session_factory: Any, job_ids: list[str], limit: int) -> dict[str, float]:
    """The matching query alone, per job (each in its own read-only transaction)."""
    timings: dict[str, float] = {}
    for job_id in job_ids:
        async with session_factory() as session:
            job = (await session.execute(select(Job).where(Job.id == job_id))).scalar_one()
            started = time.perf_counter()
            await leads.best_matches(session, job, limit)
            timings[job_id] = time.perf_counter() - started
            await session.rollback()
    return timings


async def explain(session: AsyncSession, job_id: str, limit: int) -> tuple[str, list[str]]:
    capture = CapturedQuery()
    connection: AsyncConnection = await session.connection()
    event.listen(connection.sync_engine, "before_cursor_execute", capture)
    try:
        job = (await session.execute(select(Job).where(Job.id == job_id))).scalar_one()
        matches = await leads.best_matches(session, job, limit)
    finally:
        event.remove(connection.sync_engine, "before_cursor_execute", capture)
    assert capture.statement is not None
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    rows = await driver.fetch(
        "EXPLAIN (ANALYZE, BUFFERS) " + capture.statement, *capture.parameters
    )
    plan = [row[0] for row in rows]
    return job.outcode + f" {job.trade_category} ({len(matches)} matches)", plan


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    configure_logging("WARNING", json_logs=False)  # no per-request log lines
    server_url = benchdb.server_url(args.database_url)
    async with benchdb.bench_database(server_url, args.keep) as url:
        await load_vendors(url, args.vendors, args.seed)
        async_url = to_async_url(url)
        settings = Settings(
            data_dir=ROOT / ".tmp" / "bench" / "data",
            jwt_secret=SecretStr("bench-signing-key-that-is-long-enough-to-be-safe"),
            db_pool_size=5,
            log_json=False,
            log_level="WARNING",
            register_max_per_client=1_000_000,  # every user registers from here
        )
        app = create_app(settings, database_url=async_url)
        engine = create_engine(async_url, pool_size=2)
        session_factory = create_sessionmaker(engine)
        transport = httpx.ASGITransport(app=app)
        try:
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=transport, base_url="http://bench", timeout=60
                ) as client,
            ):
                register = await client.post(
                    "/api/auth/register",
                    json={
                        "email": f"bench-customer-{uuid.uuid4().hex[:8]}@example.com",
                        "password": PASSWORD,
                        "name": "Bench Customer",
                        "phone": "07700 900123",
                        "postcode": "SW1A 1AA",
                        "role": "customer",
                    },
                )
                register.raise_for_status()
                headers = {"Authorization": f"Bearer {register.json()['access_token']}"}

                conn = await benchdb.connect(url)
                try:
                    outcodes = [
                        r["outcode"]
                        for r in await conn.fetch("SELECT outcode FROM outcodes ORDER BY 1")
                    ]
                finally:
                    await conn.close()
                job_ids = []
                for i in range(args.jobs + args.warmup):
                    outcode = rng.choice(outcodes)
                    response = await client.post(
                        "/api/connection/jobs",
                        json={
                            "title": f"Bench job {i}",
                            "trade_category": rng.choice(TRADES),
                            "budget_min": 50,
                            "budget_max": 500,
                            "timeframe": rng.choice(TIMEFRAMES),
                            "postcode": f"{outcode} 1AA",
                        },
                        headers=headers,
                    )
                    response.raise_for_status()
                    job_ids.append(response.json()["job_id"])
                warmup, measured = job_ids[: args.warmup], job_ids[args.warmup :]

                await time_matching(session_factory, warmup, settings.max_open_leads)
                matching = await time_matching(session_factory, measured, settings.max_open_leads)

                for job_id in warmup:
                    (
                        await client.patch(
                            f"/api/connection/jobs/{job_id}/publish", json={}, headers=headers
                        )
                    ).raise_for_status()
                publish: list[float] = []
                assigned: list[int] = []
                for job_id in measured:
                    started = time.perf_counter()
                    response = await client.patch(
                        f"/api/connection/jobs/{job_id}/publish", json={}, headers=headers
                    )
                    publish.append(time.perf_counter() - started)
                    response.raise_for_status()
                    assigned.append(response.json()["leads_assigned"])

                # EXPLAIN the slowest job's matching on a twin draft (the original now has leads).
                slowest = max(matching, key=lambda j: matching[j])
                async with session_factory() as session:
                    twin = (
                        await session.execute(select(Job).where(Job.id == slowest))
                    ).scalar_one()
                response = await client.post(
                    "/api/connection/jobs",
                    json={
                        "title": "Bench twin",
                        "trade_category": twin.trade_category,
                        "budget_min": 50,
                        "budget_max": 500,
                        "timeframe": twin.timeframe,
                        "postcode": twin.postcode,
                    },
                    headers=headers,
                )
                response.raise_for_status()
                async with session_factory() as session:
                    label, plan = await explain(
                        session, response.json()["job_id"], settings.max_open_leads
                    )
                    await session.rollback()
        finally:
            await engine.dispose()

    full = sum(1 for a in assigned if a == settings.max_open_leads)
    print()
    print(f"vendors {args.vendors:,}   jobs published {len(measured)} (+{args.warmup} warm-up)")
    print(f"publish (HTTP, whole transaction)  {_ms(publish)}")
    print(f"matching query alone               {_ms(list(matching.values()))}")
    print(
        f"leads per job: mean {statistics.fmean(assigned):.2f}, {full} of {len(assigned)} jobs got "
        f"{settings.max_open_leads}, {assigned.count(0)} got none"
    )
    print()
    print(f"EXPLAIN (ANALYZE, BUFFERS) of the matching query, slowest job: {label}")
    for line in plan:
        print("  " + line)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--database-url",
        help=f"PostgreSQL server to use (a database is created on it); default ${URL_ENV}, "
        "else an embedded server in .tmp/bench",
    )
    parser.add_argument("--vendors", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=200, help="jobs published and timed")
    parser.add_argument("--warmup", type=int, default=20, help="jobs published first, not timed")
    parser.add_argument("--seed", type=float, default=0.42, help="random seed in [-1, 1]")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if not -1 <= args.seed <= 1:
        parser.error("--seed must be between -1 and 1 (PostgreSQL setseed)")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
