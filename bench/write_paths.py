"""Write-path benchmark: send-message and accept-lead through HTTP against the same statements
sent by a bare asyncpg client.

Starts a real ``tradematch serve`` process (``--processes`` of them) on a database of its own
(embedded PostgreSQL by default, or ``--database-url`` / ``TRADEMATCH_BENCH_DATABASE_URL``) and,
for each of ``--runs`` runs:

1. through HTTP, ``--clients`` concurrent clients (``httpload``: keep-alive connections,
   responses parsed in C, so the client's CPU stays out of the way): every vendor accepts one
   lead (``--pairs`` requests), then ``--messages`` messages are sent in the pairs'
   conversations;
2. through a pool of ``--clients`` bare asyncpg connections, the statements those requests send
   (role check, locks, rows, ``tm_append_events``, inside BEGIN/COMMIT), on
   leads and conversations of their own.

It reports, per path, throughput (requests per second), the serve process's CPU per request
(HTTP) and the benchmark client's, and HTTP ÷ raw throughput, as min / median / max over the
runs, with the machine's load averages; and, with one API process per serve command, the
garbage collector's passes and the time they took during the HTTP phase (read from the
processes' /metrics, ``tradematch_gc_pause_seconds``). Setup (users in SQL, jobs published
through the API) is not measured.

    python bench/write_paths.py                      # 100 pairs, 8 clients, 3 runs
    python bench/write_paths.py --processes 2        # event-writing throughput, 2 processes
    python bench/write_paths.py --cpus-per-process 0.4 --processes 2   # as if on cores of their own

``--cpus-per-process`` caps every API process at that many CPUs (``cpucap``: a cgroup each), so
that one and two processes can be compared on a machine whose cores PostgreSQL and the client
already fill; the runs then also print how often each process used up its budget.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchdb
import cpucap
import httpx
import uvloop
from httpload import HttpLoad
from prometheus_client.parser import text_string_to_metric_families
from ws_latency import (
    Pair,
    Stops,
    child_pids,
    cpu_seconds,
    host_port,
    insert_users,
    machine,
    offer_lead,
    serve,
)

from tradematch.events.chain import canonical_pieces
from tradematch.kit.ids import new_id

ROOT = Path(__file__).resolve().parent.parent
NOTIFY_CHANNEL = "tradematch_events"

# -- setup ----------------------------------------------------------------------------------


async def offer_leads(http: httpx.AsyncClient, pairs: list[Pair], clients: int) -> list[str]:
    """Each customer posts and publishes a job (offered to its vendor only): the lead ids."""
    limit = asyncio.Semaphore(clients)

    async def one(pair: Pair) -> str:
        async with limit:
            return await offer_lead(http, pair)

    return list(await asyncio.gather(*(one(p) for p in pairs)))


# -- the HTTP side --------------------------------------------------------------------------


async def timed(jobs: list[Any], clients: int) -> float:
    """Run the coroutine factories ``jobs`` with ``clients`` at a time; the wall time."""
    queue = list(reversed(jobs))

    async def worker() -> None:
        while queue:
            await queue.pop()()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - started


def http_accepts(http: HttpLoad, pairs: list[Pair], leads: list[str]) -> list[Any]:
    def job(pair: Pair, lead_id: str) -> Any:
        async def go() -> None:
            path = f"/api/connection/leads/{lead_id}/accept"
            accepted = await http.post(path, {}, pair.vendor_token)
            pair.conversation_id = accepted["conversation_id"]

        return go

    return [job(p, lead) for p, lead in zip(pairs, leads, strict=True)]


def http_messages(http: HttpLoad, pairs: list[Pair], count: int) -> list[Any]:
    def job(i: int) -> Any:
        pair = pairs[i % len(pairs)]
        token = pair.vendor_token if i % 2 else pair.customer_token

        async def go() -> None:
            await http.post(
                f"/api/connection/conversations/{pair.conversation_id}/messages",
                {"body": f"Bench message {i}: would Tuesday morning suit you?"},
                token,
            )

        return go

    return [job(i) for i in range(count)]


# -- the raw side: the same statements, bare asyncpg ----------------------------------------

ROLE = "SELECT role FROM users WHERE id = $1 AND is_active"
APPEND = "SELECT tm_append_events($1::jsonb, $2::jsonb, $3::jsonb, $4)"
FOR_SENDING = (
    "SELECT c.id, c.job_id, c.customer_id, c.vendor_id, c.status, c.lead_id, l.status, u.name"
    " FROM conversations c JOIN leads l ON l.id = c.lead_id JOIN users u ON u.id = $2"
    " WHERE c.id = $1 AND (c.customer_id = $2 OR c.vendor_id = $2) FOR NO KEY UPDATE OF c"
)
MESSAGE = (  # numbered under the conversation's row lock and stored, in one statement
    "WITH next AS (UPDATE conversations SET message_count = message_count + 1,"
    " last_message_at = now(), updated_at = now() WHERE id = $2 RETURNING message_count)"
    " INSERT INTO messages (id, conversation_id, position, sender_id, kind, body, attachments)"
    " SELECT $1, $2, next.message_count, $3, 'text', $4, '[]'::jsonb FROM next"
    " RETURNING position"
)
LOCK_JOB = (
    "SELECT j.id, j.customer_id, j.status FROM jobs j WHERE j.id ="
    " (SELECT l.job_id FROM leads l WHERE l.id = $1 AND l.vendor_id = $2)"
    " AND j.id IN (SELECT l.job_id FROM leads l WHERE l.vendor_id = $2) FOR NO KEY UPDATE"
)
LOCK_LEAD = (
    "SELECT id, status, job_id FROM leads WHERE id = $1 AND vendor_id = $2 FOR NO KEY UPDATE"
)
ACCEPT = "UPDATE leads SET status = 'accepted', accepted_at = $2, updated_at = now() WHERE id = $1"
OPEN = (  # the conversation and its first message, in one statement
    "WITH opened AS (INSERT INTO conversations (id, job_id, lead_id, customer_id, vendor_id,"
    " status, message_count, last_message_at) VALUES ($1, $2, $3, $4, $5, 'open', 1, now())"
    " RETURNING id) INSERT INTO messages (id, conversation_id, position, sender_id, kind, body)"
    " SELECT $6, opened.id, 1, NULL, 'system', 'Lead accepted. Messaging enabled.' FROM opened"
)


def event(type_: str, job_id: str, actor_id: str, role: str, payload: dict[str, Any],
          audience: list[str]) -> dict[str, Any]:  # fmt: skip
    event_id, created_at = new_id("evt"), datetime.now(UTC)
    return {
        "id": event_id,
        "type": type_,
        "job_id": job_id,
        "actor_id": actor_id,
        "actor_role": role,
        "payload": payload,
        "idempotency_key": None,
        "created_at": created_at.isoformat(timespec="microseconds"),
        "audience": audience,
        "parts": canonical_pieces(
            event_id=event_id,
            type=type_,
            job_id=job_id,
            actor_id=actor_id,
            actor_role=role,
            payload=payload,
            idempotency_key=None,
            created_at=created_at,
        ),
    }


def in_app(event_id: str, user_id: str, title: str, category: str) -> dict[str, Any]:
    return {
        "id": new_id("ntf"),
        "event_id": event_id,
        "user_id": user_id,
        "channel": "in_app",
        "category": category,
        "title": title,
        "body": title,
    }


def raw_accepts(pool: Any, pairs: list[Pair], leads: list[str]) -> list[Any]:
    def job(pair: Pair, lead_id: str) -> Any:
        async def go() -> None:
            async with pool.acquire() as conn, conn.transaction():
                await conn.fetchval(ROLE, pair.vendor_id)
                job_row = await conn.fetchrow(LOCK_JOB, lead_id, pair.vendor_id)
                await conn.fetchrow(LOCK_LEAD, lead_id, pair.vendor_id)
                await conn.execute(ACCEPT, lead_id, datetime.now(UTC))
                conversation_id = new_id("conv")
                await conn.execute(
                    OPEN,
                    conversation_id,
                    job_row["id"],
                    lead_id,
                    pair.customer_id,
                    pair.vendor_id,
                    new_id("msg"),
                )
                payload = {
                    "lead_id": lead_id,
                    "vendor_id": pair.vendor_id,
                    "conversation_id": conversation_id,
                }
                audience = [pair.customer_id, pair.vendor_id]
                accepted = event(
                    "LEAD_ACCEPTED", job_row["id"], pair.vendor_id, "vendor", payload, audience
                )
                rows = [
                    in_app(accepted["id"], pair.customer_id, "A tradesperson accepted", "leads")
                ]
                await conn.fetchval(
                    APPEND, json.dumps([accepted]), json.dumps(rows), "[]", NOTIFY_CHANNEL
                )
            pair.conversation_id = conversation_id

        return go

    return [job(p, lead) for p, lead in zip(pairs, leads, strict=True)]


def raw_messages(pool: Any, pairs: list[Pair], count: int) -> list[Any]:
    def job(i: int) -> Any:
        pair = pairs[i % len(pairs)]
        sender, recipient = (
            (pair.vendor_id, pair.customer_id) if i % 2 else (pair.customer_id, pair.vendor_id)
        )

        async def go() -> None:
            async with pool.acquire() as conn, conn.transaction():
                await conn.fetchval(ROLE, sender)
                found = await conn.fetchrow(FOR_SENDING, pair.conversation_id, sender)
                message_id = new_id("msg")
                body = f"Bench message {i}: would Tuesday morning suit you?"
                position = await conn.fetchval(
                    MESSAGE, message_id, pair.conversation_id, sender, body
                )
                payload = {
                    "conversation_id": pair.conversation_id,
                    "message_id": message_id,
                    "position": position,
                    "kind": "text",
                    "sender_id": sender,
                    "attachment_upload_ids": [],
                }
                sent = event(
                    "MESSAGE_SENT",
                    found["job_id"],
                    sender,
                    "vendor" if i % 2 else "customer",
                    payload,
                    [pair.customer_id, pair.vendor_id],
                )
                rows = [in_app(sent["id"], recipient, "New message", "messages")]
                inputs = [{"event_id": sent["id"], "context": {"preview": body[:80]}}]
                await conn.fetchval(
                    APPEND, json.dumps([sent]), json.dumps(rows), json.dumps(inputs), NOTIFY_CHANNEL
                )

        return go

    return [job(i) for i in range(count)]


# -- main -----------------------------------------------------------------------------------


def spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    server_url = benchdb.server_url(args.database_url)
    results: dict[str, dict[str, list[float]]] = {
        path: {
            "http_rps": [],
            "raw_rps": [],
            "cpu_ms": [],
            "client_cpu_ms": [],
            "ratio": [],
            "gc_share": [],
        }
        for path in ("accept_lead", "send_message")
    }
    loads = [os.getloadavg()]
    async with benchdb.bench_database(server_url, args.keep) as url:
        pairs = await insert_users(url, args.pairs)
        raw_pairs = [Pair(p.customer_id, p.vendor_id, p.outcode) for p in pairs]
        stops = Stops()
        async with contextlib.AsyncExitStack() as stack:
            servers = [
                stack.enter_context(serve(url, ROOT / ".tmp" / "bench" / f"w{n}", args, stops))
                for n in range(args.processes)
            ]
            limits = httpx.Limits(max_connections=args.clients * 2)
            setup = await stack.enter_async_context(
                httpx.AsyncClient(base_url=servers[0][0], timeout=60, limits=limits)
            )
            clients = [HttpLoad(*host_port(base)) for base, _ in servers]
            for client in clients:
                stack.push_async_callback(client.close)
            pids = [process.pid for _, process in servers]
            await asyncio.sleep(1)  # with --workers N, each serve's API processes are up by now
            children = [child for pid in pids for child in child_pids(pid)]
            api_children = [child for child in children if not resource_tracker(child)]
            api_pids = api_children if args.workers > 1 else pids
            pids += children
            groups: list[cpucap.Group] = []
            if args.cpus_per_process:
                groups = stack.enter_context(cpucap.capped(api_pids, args.cpus_per_process))
            pool = await benchdb_pool(url, args.clients)
            stack.push_async_callback(pool.close)
            for run_number in range(args.runs):
                http_leads = await offer_leads(setup, pairs, args.clients)
                raw_leads = await offer_leads(setup, pairs, args.clients)
                for p, raw in zip(pairs, raw_pairs, strict=True):
                    raw.customer_token, raw.vendor_token = p.customer_token, p.vendor_token

                for path in ("accept_lead", "send_message"):
                    if path == "accept_lead":
                        per = [
                            http_accepts(c, pairs[k :: len(clients)], http_leads[k :: len(clients)])
                            for k, c in enumerate(clients)
                        ]  # taken in turns, so every process has work from the start
                        http_jobs = [j for turn in itertools.zip_longest(*per) for j in turn if j]
                        raw_jobs = raw_accepts(pool, raw_pairs, raw_leads)
                        count = len(pairs)
                    else:
                        count = args.messages
                        per = [http_messages(c, pairs, count // len(clients)) for c in clients]
                        http_jobs = [j for group in zip(*per, strict=True) for j in group]
                        raw_jobs = raw_messages(pool, raw_pairs, count)
                    gc_before = await gc_pauses(setup, servers, args.workers)
                    throttled_before = [group.throttled() for group in groups]
                    cpu_before = sum(cpu_seconds(pid) for pid in pids)
                    client_before = time.process_time()
                    http_wall = await timed(http_jobs, args.clients)
                    cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
                    client_cpu = time.process_time() - client_before
                    gc_after = await gc_pauses(setup, servers, args.workers)
                    throttled = [
                        (after[1] - before[1]) / max(1, after[0] - before[0])
                        for before, after in zip(
                            throttled_before, [g.throttled() for g in groups], strict=True
                        )
                    ]
                    raw_wall = await timed(raw_jobs, args.clients)
                    http_rps, raw_rps = len(http_jobs) / http_wall, len(raw_jobs) / raw_wall
                    got = results[path]
                    got["http_rps"].append(http_rps)
                    got["raw_rps"].append(raw_rps)
                    got["cpu_ms"].append(cpu / len(http_jobs) * 1000)
                    got["client_cpu_ms"].append(client_cpu / len(http_jobs) * 1000)
                    got["ratio"].append(http_rps / raw_rps)
                    print(
                        f"run {run_number + 1} {path:12} http {http_rps:7.1f}/s "
                        f"(server CPU {cpu / len(http_jobs) * 1000:5.2f} ms/request, "
                        f"client {client_cpu / len(http_jobs) * 1000:4.2f})  "
                        f"raw {raw_rps:7.1f}/s  http/raw {http_rps / raw_rps:5.1%}",
                        flush=True,
                    )
                    if groups:
                        print(
                            f"      {path:12} capped at {args.cpus_per_process} CPU each: "
                            "budget used up in "
                            + ", ".join(f"{share:.0%}" for share in throttled)
                            + " of periods",
                            flush=True,
                        )
                    if gc_before is not None and gc_after is not None:
                        passes = [a - b for a, b in zip(gc_after[0], gc_before[0], strict=True)]
                        paused = gc_after[1] - gc_before[1]
                        got["gc_share"].append(paused / cpu)
                        print(
                            f"      {path:12} collector: {'/'.join(map(str, passes))} passes "
                            f"(young/middle/full), {paused * 1000:.0f} ms = {paused / cpu:.1%} "
                            "of the server's CPU",
                            flush=True,
                        )
                loads.append(os.getloadavg())
    summary = {
        path: {name: spread(values) for name, values in got.items() if values}
        for path, got in results.items()
    }
    return {
        "machine": machine(),
        "load_averages": loads,
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
        "results": summary,
    }


async def gc_pauses(
    http: httpx.AsyncClient, servers: list[Any], workers: int
) -> tuple[list[int], float] | None:
    """The garbage collector's passes by generation and their total time, summed over the API
    processes; None with several API processes behind one port (a scrape reaches one of them),
    or from a server that does not time its collector."""
    if workers != 1:
        return None
    passes, seconds, found = [0, 0, 0], 0.0, False
    for base, _ in servers:
        text = (await http.get(f"{base}/metrics")).text
        for family in text_string_to_metric_families(text):
            if family.name != "tradematch_gc_pause_seconds":
                continue
            found = True
            for sample in family.samples:
                generation = int(sample.labels.get("generation", 0))
                if sample.name.endswith("_count"):
                    passes[generation] += int(sample.value)
                elif sample.name.endswith("_sum"):
                    seconds += sample.value
    return (passes, seconds) if found else None


def resource_tracker(pid: int) -> bool:
    """Whether ``pid`` is multiprocessing's resource tracker (a child of a supervisor that is
    not an API process)."""
    try:
        return b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


async def benchdb_pool(url: str, size: int) -> Any:
    import asyncpg

    dsn, kwargs = benchdb.libpq(url)
    return await asyncpg.create_pool(dsn, min_size=size, max_size=size, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help=f"PostgreSQL server (default: ${benchdb.URL_ENV})")
    parser.add_argument("--pairs", type=int, default=100, help="customer/vendor pairs")
    parser.add_argument("--messages", type=int, default=600, help="messages per run and side")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--processes", type=int, default=1, help="serve commands, each on a port")
    parser.add_argument(
        "--workers", type=int, default=1, help="API processes per serve command (one port)"
    )
    parser.add_argument("--worker", action="store_true", help="run the notification worker too")
    parser.add_argument(
        "--cpus-per-process",
        type=float,
        help="cap each API process at this many CPUs (Linux cgroup CPU bandwidth, needs root)",
    )
    parser.add_argument("--server-log-level", default="INFO")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # as the server's
        report = runner.run(run(args))
    for path, got in report["results"].items():
        for name, s in got.items():
            print(f"{path:12} {name:8} min {s['min']:8.2f}  median {s['median']:8.2f}  "
                  f"max {s['max']:8.2f}")  # fmt: skip
    print(
        "load averages:",
        " | ".join(" ".join(f"{x:.2f}" for x in a) for a in report["load_averages"]),
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
