"""Concurrent reads and writes against a real server, recording every answer, and the checks
that nothing was lost or done twice once the writes that met a 503 are retried."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from tests.flows.users import User

JOB = {
    "title": "Fix leaking kitchen tap",
    "trade_category": "Plumbing",
    "budget_min": 50,
    "budget_max": 150,
    "timeframe": "urgent",
}
READS = ("/api/auth/me", "/api/connection/jobs", "/api/connection/notifications")


@dataclass
class Write:
    user: User
    method: str
    path: str
    body: dict[str, Any] | None
    key: str = field(default_factory=lambda: f"load-{uuid.uuid4().hex}")


@dataclass
class Answer:
    at: float
    method: str
    path: str
    status: int
    code: str | None
    retry_after: str | None
    request_id: str | None
    sent_request_id: str


class Load:
    def __init__(self, http: httpx.AsyncClient, customers: list[User]) -> None:
        self.http = http
        self.customers = customers
        self.answers: list[Answer] = []
        self.transport_errors: list[str] = []
        self.unconfirmed: dict[str, Write] = {}  # answered 503: retried afterwards
        self.created: dict[str, str] = {}  # key -> job_id
        self.published: set[str] = set()  # job ids
        self._drafts: dict[str, list[str]] = {c.user_id: [] for c in customers}

    async def run(self, stop: asyncio.Event, workers: int = 12) -> None:
        await asyncio.gather(*(self._worker(i, stop) for i in range(workers)))

    async def _worker(self, index: int, stop: asyncio.Event) -> None:
        rng = random.Random(index)
        customer = self.customers[index % len(self.customers)]
        while not stop.is_set():
            roll = rng.random()
            if roll < 0.5:
                await self._call("GET", rng.choice(READS), customer, None, None)
            elif roll < 0.8 or not self._drafts[customer.user_id]:
                await self._write(Write(customer, "POST", "/api/connection/jobs", JOB))
            else:
                job_id = self._drafts[customer.user_id].pop()
                path = f"/api/connection/jobs/{job_id}/publish"
                await self._write(Write(customer, "PATCH", path, {}))

    async def _write(self, write: Write) -> None:
        response = await self._call(write.method, write.path, write.user, write.body, write.key)
        if response is None or response.status_code == 503:
            self.unconfirmed[write.key] = write
        elif response.status_code in (200, 201):
            self._confirmed(write, response)

    def _confirmed(self, write: Write, response: httpx.Response) -> None:
        if write.method == "POST":
            job_id = response.json()["job_id"]
            self.created[write.key] = job_id
            self._drafts[write.user.user_id].append(job_id)
        else:
            self.published.add(write.path.split("/")[-2])

    async def _call(
        self, method: str, path: str, user: User, body: Any, key: str | None
    ) -> httpx.Response | None:
        request_id = uuid.uuid4().hex
        headers = {**user.headers, "X-Request-ID": request_id}
        if key is not None:
            headers["Idempotency-Key"] = key
        loop = asyncio.get_running_loop()
        try:
            response = await self.http.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            self.transport_errors.append(f"{method} {path}: {exc!r}")
            return None
        code = None
        if response.status_code >= 400:
            try:
                code = response.json().get("code")
            except ValueError:
                code = "not json"
        self.answers.append(
            Answer(
                loop.time(),
                method,
                path,
                response.status_code,
                code,
                response.headers.get("Retry-After"),
                response.headers.get("X-Request-ID"),
                request_id,
            )
        )
        return response

    async def retry_unconfirmed(self, patience: float = 60) -> None:
        """Retry every write that met a 503, with its own key, until it is answered."""
        deadline = asyncio.get_running_loop().time() + patience
        while self.unconfirmed:
            for key, write in list(self.unconfirmed.items()):
                response = await self._call(write.method, write.path, write.user, write.body, key)
                if response is None or response.status_code == 503:
                    continue
                assert response.status_code in (200, 201), response.text
                del self.unconfirmed[key]
                self._confirmed(write, response)
            assert asyncio.get_running_loop().time() < deadline, list(self.unconfirmed)
            await asyncio.sleep(0.5)

    def statuses(self) -> Counter[int]:
        return Counter(answer.status for answer in self.answers)

    def check_answers(self) -> None:
        """Only 200, 201 and well-formed 503s; no transport failures."""
        assert self.transport_errors == [], self.transport_errors[:5]
        unexpected = [a for a in self.answers if a.status not in (200, 201, 503)]
        assert unexpected == [], unexpected[:5]
        for answer in self.answers:
            if answer.status == 503:
                assert answer.code == "DATABASE_UNAVAILABLE", answer
                assert answer.retry_after == "2", answer
            assert answer.request_id == answer.sent_request_id, answer

    async def check_effects(self, conn: asyncpg.Connection) -> None:
        """Each key had exactly one effect: one job per creating key, one JOB_POSTED per
        published job, and nothing else."""
        ids = [c.user_id for c in self.customers]
        jobs = await conn.fetch(
            "SELECT id, status FROM jobs WHERE customer_id = ANY($1::text[])", ids
        )
        stored, answered = {j["id"] for j in jobs}, set(self.created.values())
        assert stored == answered, (sorted(stored - answered), sorted(answered - stored))
        assert len(set(self.created.values())) == len(self.created)
        posted = await conn.fetch(
            "SELECT job_id, count(*) AS n FROM event_log WHERE type = 'JOB_POSTED'"
            " AND job_id = ANY($1::text[]) GROUP BY job_id",
            [j["id"] for j in jobs],
        )
        assert {row["job_id"]: row["n"] for row in posted} == dict.fromkeys(self.published, 1)
        assert {j["id"] for j in jobs if j["status"] == "live"} == self.published
