"""Live-update latency benchmark: POST a message → the recipient's WebSocket receives it.

Starts a real ``tradematch serve`` process (uvicorn, as in production) on a database of its own
(the embedded PostgreSQL by default, or the server named by ``--database-url`` /
``TRADEMATCH_BENCH_DATABASE_URL``), then:

1. inserts ``--pairs`` customers and ``--pairs`` vendors in SQL (one argon2 hash shared by all;
   access tokens are signed with the server's key, so nobody needs to log in), each pair in a
   district of its own, so that each customer's job is offered to exactly its vendor;
2. through the HTTP API: each customer posts and publishes a job, each vendor accepts its lead
   (which opens the pair's conversation);
3. connects every user's live-update socket (two per pair: 500 by default);
4. sends messages at a steady rate (``--rate`` per second, open loop: each POST starts at its
   scheduled time whatever the previous ones did), each from a random member of a random pair
   to the other (through ``httpload``, a client that costs the machine little), and records for
   each the time from starting the POST to the recipient's socket receiving the event (matched
   by ``message_id``);
5. prints p50 / p95 / p99 / max of that latency, of the POST itself, and the server's own
   event-to-socket lag histogram (``/metrics``), then drops the database (unless ``--keep``).

See bench/README.md and docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import random
import re
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchdb
import httpx
from httpload import HttpLoad
from websockets.asyncio.client import ClientConnection, connect

from tradematch.core.security import hash_password, issue_token
from tradematch.kit.ids import new_id
from tradematch.kit.postcodes import centroids, distance_miles

ROOT = Path(__file__).resolve().parent.parent
URL_ENV = "TRADEMATCH_BENCH_DATABASE_URL"
SIGNING_KEY = "bench-signing-key-that-is-long-enough-to-be-safe"
PASSWORD = "bench-password-123"


# -- database -------------------------------------------------------------------------------


@dataclass
class Pair:
    customer_id: str
    vendor_id: str
    outcode: str
    customer_token: str = ""
    vendor_token: str = ""
    conversation_id: str = ""


def spaced_districts(count: int, miles: float = 4.0) -> list[str]:
    """``count`` districts at least ``miles`` apart, so a vendor with a 1-mile radius in one
    of them matches jobs in that district only."""
    chosen: list[str] = []
    for outcode in sorted(centroids()):
        if all(distance_miles(outcode, other) >= miles for other in chosen):
            chosen.append(outcode)
            if len(chosen) == count:
                return chosen
    raise SystemExit(f"only {len(chosen)} districts are {miles} miles apart; use fewer pairs")


async def insert_users(url: str, pairs: int) -> list[Pair]:
    """Customers and vendors straight into the tables (registering 500 users through the API
    would spend most of the setup hashing passwords)."""
    password_hash = hash_password(PASSWORD)
    made = [Pair(new_id("usr"), new_id("usr"), outcode) for outcode in spaced_districts(pairs)]
    users, profiles, trades = [], [], []
    for i, pair in enumerate(made):
        postcode = f"{pair.outcode} 1AA"
        users.append(
            (
                pair.customer_id,
                f"bench-customer-{i}@example.com",
                password_hash,
                f"Bench Customer {i}",
                f"07700 9{i:05d}",
                postcode,
                pair.outcode,
                "customer",
            )
        )
        users.append(
            (pair.vendor_id, f"bench-vendor-{i}@example.com", password_hash,
             f"Bench Vendor {i}", f"07700 8{i:05d}", postcode, pair.outcode, "vendor")
        )  # fmt: skip
        profiles.append((pair.vendor_id, f"Bench Plumbing {i} Ltd", postcode, pair.outcode, 1))
        trades.append((pair.vendor_id, "Plumbing"))
    conn = await benchdb.connect(url)
    try:
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO users (id, email, password_hash, name, phone, postcode, outcode,"
                " role) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                users,
            )
            await conn.executemany(
                "INSERT INTO vendor_profiles (user_id, business_name, postcode, outcode,"
                " service_radius_miles, accepting_leads) VALUES ($1, $2, $3, $4, $5, true)",
                profiles,
            )
            await conn.executemany(
                "INSERT INTO vendor_trades (vendor_id, trade) VALUES ($1, $2)", trades
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    for pair in made:
        pair.customer_token = issue_token(SIGNING_KEY, pair.customer_id, "customer", 86400)
        pair.vendor_token = issue_token(SIGNING_KEY, pair.vendor_id, "vendor", 86400)
    return made


# -- the server process ---------------------------------------------------------------------


_LISTENING = re.compile(r"Uvicorn running on http://[\d.]+:(\d+)")


def bound_port(log_path: Path) -> int | None:
    """The port the server says it listens on (it binds port 0: nothing to race for)."""
    found = _LISTENING.search(log_path.read_text(errors="replace"))
    return int(found.group(1)) if found else None


@dataclass
class Stops:
    """How long each server process took to exit after SIGTERM."""

    seconds: list[float] = field(default_factory=list)


@contextlib.contextmanager
def serve(url: str, data_dir: Path, args: argparse.Namespace, stops: Stops) -> Any:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "TRADEMATCH_DATABASE_URL": url,
        "TRADEMATCH_DATA_DIR": str(data_dir),
        "TRADEMATCH_JWT_SECRET": SIGNING_KEY,
        "TRADEMATCH_LOG_LEVEL": args.server_log_level,
        "TRADEMATCH_REGISTER_MAX_PER_CLIENT": "1000000",  # every user registers from here
    }
    log_path = data_dir / f"serve-{time.monotonic_ns()}.log"
    command = [
        sys.executable, "-m", "tradematch", "serve", "--port", "0", "--workers", str(args.workers)
    ]  # fmt: skip
    if not args.worker:
        command.append("--no-worker")
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"server exited:\n{log_path.read_text()[-3000:]}")
            port = bound_port(log_path)
            if port is not None:
                base_url = f"http://127.0.0.1:{port}"
                try:
                    if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                raise SystemExit(f"server not ready:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base_url, process
    finally:
        stopping = time.perf_counter()
        process.terminate()
        try:
            process.wait(30)
            stops.seconds.append(time.perf_counter() - stopping)
        except subprocess.TimeoutExpired:
            process.kill()
            stops.seconds.append(float("inf"))


# -- setup through the API ------------------------------------------------------------------


async def offer_lead(http: httpx.AsyncClient, pair: Pair) -> str:
    """The pair's customer posts and publishes a job, offered to the pair's vendor alone; the
    id of the vendor's lead."""
    customer = {"Authorization": f"Bearer {pair.customer_token}"}
    job = await http.post(
        "/api/connection/jobs",
        json={
            "title": "Fix leaking kitchen tap",
            "trade_category": "Plumbing",
            "budget_min": 50,
            "budget_max": 150,
            "timeframe": "urgent",
            "postcode": f"{pair.outcode} 1AA",
        },
        headers=customer,
    )
    job.raise_for_status()
    job_id = job.json()["job_id"]
    published = await http.patch(
        f"/api/connection/jobs/{job_id}/publish", json={}, headers=customer
    )
    published.raise_for_status()
    assert published.json()["leads_assigned"] == 1, published.text
    vendor = {"Authorization": f"Bearer {pair.vendor_token}"}
    leads = await http.get("/api/connection/leads", headers=vendor, params={"limit": 100})
    leads.raise_for_status()
    (lead,) = [x for x in leads.json()["items"] if x["job_id"] == job_id]
    return str(lead["lead_id"])


async def open_conversations(http: httpx.AsyncClient, pairs: list[Pair], concurrency: int) -> None:
    """Each customer posts and publishes a job; each vendor accepts the lead it is offered."""
    limit = asyncio.Semaphore(concurrency)

    async def one(pair: Pair) -> None:
        async with limit:
            lead_id = await offer_lead(http, pair)
            accepted = await http.post(
                f"/api/connection/leads/{lead_id}/accept",
                json={},
                headers={"Authorization": f"Bearer {pair.vendor_token}"},
            )
            accepted.raise_for_status()
            pair.conversation_id = accepted.json()["conversation_id"]

    await asyncio.gather(*(one(p) for p in pairs))


# -- sockets and measurement ----------------------------------------------------------------


@dataclass
class Tracker:
    """Matches sends with arrivals by message id (either may be seen first)."""

    # message id → (POST started, recipient, measured?)
    posted: dict[str, tuple[float, str, bool]] = field(default_factory=dict)
    # (id, receiver) → t; a receiver is one socket of a user: "<user id>#<socket index>"
    arrived: dict[tuple[str, str], float] = field(default_factory=dict)
    fanout: int = 1  # sockets per user; every one of them is measured
    latencies: list[float] = field(default_factory=list)
    post_latencies: list[float] = field(default_factory=list)
    worst: list[tuple[float, float]] = field(default_factory=list)  # (latency, POST started)
    first: float = float("inf")

    def on_arrival(self, receiver: str, message_id: str, at: float) -> None:
        sent = self.posted.get(message_id)
        if sent is None:
            self.arrived[(message_id, receiver)] = at
        elif receiver.split("#", 1)[0] == sent[1] and sent[2]:
            self._record(at - sent[0], sent[0])

    def on_posted(self, message_id: str, started: float, recipient: str, measured: bool) -> None:
        self.posted[message_id] = (started, recipient, measured)
        for k in range(self.fanout):
            at = self.arrived.pop((message_id, f"{recipient}#{k}"), None)
            if at is not None and measured:
                self._record(at - started, started)

    def _record(self, latency: float, started: float) -> None:
        self.latencies.append(latency)
        self.first = min(self.first, started)
        self.worst.append((latency, started))
        self.worst = sorted(self.worst, reverse=True)[:10]


async def listen(ws: ClientConnection, user_id: str, tracker: Tracker) -> None:
    async for raw in ws:
        message = json.loads(raw)
        if message.get("type") == "event" and message["event"]["type"] == "MESSAGE_SENT":
            tracker.on_arrival(
                user_id, message["event"]["payload"]["message_id"], time.perf_counter()
            )


async def connect_all(
    base_urls: list[str], pairs: list[Pair], concurrency: int, per_user: int = 1
) -> list[Any]:
    """Every user's ``per_user`` sockets, each named "<user id>#<index>"; with several serve
    commands, a pair's two members on different ones."""
    urls = [u.replace("http://", "ws://", 1) + "/api/connection/ws" for u in base_urls]
    limit = asyncio.Semaphore(concurrency)

    async def one(url: str, user_id: str, token: str) -> tuple[str, ClientConnection]:
        async with limit:
            ws = await connect(
                url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=30
            )
            ready = json.loads(await ws.recv())
            assert ready["type"] == "ready", ready
            return user_id, ws

    tasks = []
    for i, p in enumerate(pairs):
        for k in range(per_user):
            tasks.append(one(urls[(2 * i) % len(urls)], f"{p.customer_id}#{k}", p.customer_token))
            tasks.append(one(urls[(2 * i + 1) % len(urls)], f"{p.vendor_id}#{k}", p.vendor_token))
    return list(await asyncio.gather(*tasks))


async def stall(base_urls: list[str], pairs: list[Pair], count: int) -> list[Any]:
    """``count`` more sockets for the first pairs' users that never read, on TCP connections
    with a tiny receive buffer: the server's writes to them back up, and a socket whose outbox
    fills is cut off (close code 4000). The others' latency is measured meanwhile."""
    urls = [u.replace("http://", "ws://", 1) + "/api/connection/ws" for u in base_urls]
    stalled = []
    for i in range(count):
        pair = pairs[(i // 2) % len(pairs)]
        user_token = pair.customer_token if i % 2 == 0 else pair.vendor_token
        url = urls[i % len(urls)]
        host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect((host, int(port)))
        raw.setblocking(False)
        ws = await connect(
            url,
            sock=raw,
            additional_headers={"Authorization": f"Bearer {user_token}"},
            max_queue=1,
            compression=None,
            open_timeout=30,
        )
        stalled.append(ws)
    return stalled


def host_port(base_url: str) -> tuple[str, int]:
    host, _, port = base_url.removeprefix("http://").partition(":")
    return host, int(port)


async def drive(
    clients: list[HttpLoad],
    pairs: list[Pair],
    tracker: Tracker,
    *,
    rate: float,
    seconds: float,
    warmup: float,
    rng: random.Random,
) -> int:
    """Send messages at ``rate`` per second for ``warmup + seconds``; measure after warmup."""
    interval = 1.0 / rate
    total = int((warmup + seconds) * rate)
    warm = int(warmup * rate)
    in_flight: set[asyncio.Task[None]] = set()
    errors = 0

    async def post(i: int) -> None:
        nonlocal errors
        pair = rng.choice(pairs)
        if rng.random() < 0.5:
            token, recipient = pair.customer_token, pair.vendor_id
        else:
            token, recipient = pair.vendor_token, pair.customer_id
        started = time.perf_counter()
        try:
            status, answer = await clients[i % len(clients)].request(
                "POST",
                f"/api/connection/conversations/{pair.conversation_id}/messages",
                {"body": f"Bench message {i}: can you confirm the exact timing?"},
                token,
            )
        except OSError:  # a saturated server: counted, the run goes on
            errors += 1
            return
        if status != 201:
            errors += 1
            return
        measured = i >= warm
        if measured:
            tracker.post_latencies.append(time.perf_counter() - started)
        tracker.on_posted(json.loads(answer)["message_id"], started, recipient, measured)

    origin = time.perf_counter()
    for i in range(total):
        delay = origin + i * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(post(i))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    await asyncio.gather(*in_flight)
    await asyncio.sleep(1)  # the last deliveries
    return errors


# -- reporting ------------------------------------------------------------------------------


def percentile(ordered: Sequence[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    return {
        "n": len(ordered),
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": percentile(ordered, 0.95) * 1000,
        "p99_ms": percentile(ordered, 0.99) * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def _line(name: str, s: dict[str, float]) -> str:
    if not s:
        return f"{name:<34} no samples (see errors below)"
    return (
        f"{name:<34} p50 {s['p50_ms']:7.2f} ms   p95 {s['p95_ms']:7.2f} ms   "
        f"p99 {s['p99_ms']:7.2f} ms   max {s['max_ms']:7.2f} ms   (n={int(s['n'])})"
    )


def metric_value(text: str, name: str) -> float:
    """A sample's value from a /metrics text (0 if absent)."""
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def histogram_quantiles(texts: list[str], name: str) -> dict[str, float]:
    """Approximate quantiles (upper bucket bounds) of a Prometheus histogram, summed over the
    given /metrics texts (one per process)."""
    counts: dict[float, float] = {}
    pattern = rf'^{name}_bucket\{{le="([^"]+)"\}} (\S+)$'
    for text in texts:
        for m in re.finditer(pattern, text, re.MULTILINE):
            bound = float(m.group(1))
            counts[bound] = counts.get(bound, 0.0) + float(m.group(2))
    buckets = sorted(counts.items())
    if not buckets or buckets[-1][1] == 0:
        return {}
    total = buckets[-1][1]
    out = {"n": total}
    for q in (0.5, 0.95, 0.99):
        out[f"p{int(q * 100)}_le_ms"] = next(b for b, c in buckets if c >= q * total) * 1000
    return out


def child_pids(pid: int) -> list[int]:
    """The processes a serve command started (its API processes and worker), Linux."""
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(child) for task in tasks for child in (task / "children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), 0 where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


# -- main -----------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    server_url = benchdb.server_url(args.database_url)
    async with benchdb.bench_database(server_url, args.keep) as url:
        started = time.perf_counter()
        pairs = await insert_users(url, args.pairs)
        print(f"inserted {2 * len(pairs)} users in {time.perf_counter() - started:.1f} s")
        stops = Stops()
        async with contextlib.AsyncExitStack() as stack:
            servers = [
                stack.enter_context(serve(url, ROOT / ".tmp" / "bench" / f"data{n}", args, stops))
                for n in range(args.processes)
            ]
            base_urls = [base_url for base_url, _ in servers]
            pids = [process.pid for _, process in servers]
            await asyncio.sleep(1)  # with --workers N, each serve's API processes are up by now
            pids += [child for pid in pids for child in child_pids(pid)]
            limits = httpx.Limits(max_connections=args.http_connections)
            clients = [
                await stack.enter_async_context(
                    httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits)
                )
                for base_url in base_urls
            ]
            http = clients[0]
            started = time.perf_counter()
            await open_conversations(http, pairs, concurrency=16)
            print(
                f"{len(pairs)} jobs published and leads accepted through the API in "
                f"{time.perf_counter() - started:.1f} s"
            )
            started = time.perf_counter()
            sockets = await connect_all(base_urls, pairs, concurrency=50, per_user=args.per_user)
            print(
                f"{len(sockets)} sockets connected to {len(base_urls)} process(es) in "
                f"{time.perf_counter() - started:.1f} s"
            )
            stalled = await stall(base_urls, pairs, args.stalled)
            if stalled:
                print(f"{len(stalled)} more sockets connected that never read")
            tracker = Tracker(fanout=args.per_user)
            listeners = [
                asyncio.create_task(listen(ws, user_id, tracker)) for user_id, ws in sockets
            ]
            # The setup's objects (500 sockets, clients) would make every full collection of
            # this measuring process slow; freeze them so its pauses do not pass for latency.
            gc.collect()
            gc.freeze()
            if args.settle:
                print(f"settling for {args.settle:g} s with every socket connected ...")
                await asyncio.sleep(args.settle)
            server_cpu = sum(cpu_seconds(pid) for pid in pids)
            client_cpu = time.process_time()
            print(f"server pids {pids} (e.g. for py-spy)")
            print(
                f"sending {args.rate:g} messages/s for {args.warmup:g} s warm-up + "
                f"{args.seconds:g} s measured ..."
            )
            load = [
                HttpLoad(*host_port(base), max_connections=args.http_connections)
                for base in base_urls
            ]
            for client in load:
                stack.push_async_callback(client.close)
            errors = await drive(
                load,
                pairs,
                tracker,
                rate=args.rate,
                seconds=args.seconds,
                warmup=args.warmup,
                rng=rng,
            )
            server_cpu = sum(cpu_seconds(pid) for pid in pids) - server_cpu
            client_cpu = time.process_time() - client_cpu
            metrics = [(await client.get("/metrics")).text for client in clients]
            for task in listeners:
                task.cancel()
            await asyncio.gather(*(ws.close() for _, ws in sockets), return_exceptions=True)
            for ws in stalled:
                ws.transport.abort()
    expected = int(args.seconds * args.rate) * args.per_user
    messages = int((args.seconds + args.warmup) * args.rate)
    result = {
        "machine": machine(),
        "parameters": {
            "users": 2 * args.pairs,
            "sockets": 2 * args.pairs,
            "rate_per_second": args.rate,
            "seconds": args.seconds,
            "warmup_seconds": args.warmup,
            "settle_seconds": args.settle,
            "processes": args.processes,
            "workers_per_serve": args.workers,
            "sockets_per_user": args.per_user,
            "open_files_limit": resource.getrlimit(resource.RLIMIT_NOFILE),
            "stalled_sockets": args.stalled,
            "worker_in_process": args.worker,
            "server_log_level": args.server_log_level,
        },
        "post_to_socket": summary(tracker.latencies),
        "post_round_trip": summary(tracker.post_latencies),
        "server_event_to_socket_lag": histogram_quantiles(
            metrics, "tradematch_event_socket_lag_seconds"
        ),
        "server_cpu_ms_per_message": server_cpu * 1000 / messages,
        "bench_client_cpu_ms_per_message": client_cpu * 1000 / messages,
        "worst_ms_at_second": [
            (round(latency * 1000, 1), round(started - tracker.first, 2))
            for latency, started in tracker.worst
        ],
        "stalled_sockets_cut_off": sum(
            metric_value(text, "tradematch_live_sockets_behind_total") for text in metrics
        ),
        "server_stop_seconds": stops.seconds,
        "errors": errors,
        "undelivered": expected - len(tracker.latencies),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help=f"PostgreSQL server (default: ${URL_ENV})")
    parser.add_argument("--pairs", type=int, default=250, help="customer/vendor pairs")
    parser.add_argument("--rate", type=float, default=40, help="messages per second")
    parser.add_argument("--seconds", type=float, default=60, help="measured duration")
    parser.add_argument("--warmup", type=float, default=10, help="unmeasured start")
    parser.add_argument(
        "--settle", type=float, default=10, help="idle seconds between connecting and sending"
    )
    parser.add_argument("--seed", type=float, default=0.42)
    parser.add_argument("--http-connections", type=int, default=64)
    parser.add_argument("--processes", type=int, default=1, help="serve commands")
    parser.add_argument(
        "--workers", type=int, default=1, help="API processes per serve command (one port)"
    )
    parser.add_argument("--per-user", type=int, default=1, help="live sockets per user")
    parser.add_argument(
        "--stalled", type=int, default=0, help="more sockets that never read (slow clients)"
    )
    parser.add_argument("--worker", action="store_true", help="run the notification worker too")
    parser.add_argument("--server-log-level", default="INFO")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    result = asyncio.run(run(args))
    m = result["machine"]
    print(f"\nmachine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']}, load {m['load_average']}")
    print(_line("POST message → recipient socket", result["post_to_socket"]))
    print(_line("POST message round trip", result["post_round_trip"]))
    lag = result["server_event_to_socket_lag"]
    if lag:
        print(
            f"{'server: event created → sent':<34} p50 ≤ {lag['p50_le_ms']:g} ms   "
            f"p95 ≤ {lag['p95_le_ms']:g} ms   p99 ≤ {lag['p99_le_ms']:g} ms "
            f"(histogram buckets, n={int(lag['n'])})"
        )
    print(
        f"CPU per message: server {result['server_cpu_ms_per_message']:.2f} ms, "
        f"this client {result['bench_client_cpu_ms_per_message']:.2f} ms"
    )
    worst = ", ".join(f"{ms:g} ms at {at:g} s" for ms, at in result["worst_ms_at_second"][:5])
    print(f"worst: {worst}")
    print(f"errors: {result['errors']}, undelivered: {result['undelivered']}")
    if result["parameters"]["stalled_sockets"]:
        print(f"stalled sockets cut off (code 4000): {result['stalled_sockets_cut_off']:g}")
    stops = ", ".join(f"{s:.2f} s" for s in result["server_stop_seconds"])
    print(f"server shutdown after SIGTERM: {stops}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
