"""The API process runs Python's garbage collector tuned for a request server
(``serving.settle_heap``): its youngest generation is examined after 10,000 net new objects, not
700, so concurrent requests do not pay for passes that find their objects still alive."""

from __future__ import annotations

import asyncio
import re

import httpx

from tests.flows.servers import LiveServer
from tests.flows.users import PASSWORD, new_area, postcode_in

_YOUNG_PASSES = re.compile(r'^python_gc_collections_total\{generation="0"\} (\S+)$', re.M)
JOB = {
    "title": "Fix leaking kitchen tap",
    "trade_category": "Plumbing",
    "budget_min": 50,
    "budget_max": 150,
    "timeframe": "urgent",
}


def _young_passes(base_url: str) -> float:
    found = _YOUNG_PASSES.search(httpx.get(f"{base_url}/metrics", timeout=10).text)
    assert found, "the process collector's metrics are missing"
    return float(found.group(1))


async def _customer(http: httpx.AsyncClient) -> dict[str, str]:
    registered = await http.post(
        "/api/auth/register",
        json={
            "email": "collected@example.com",
            "password": PASSWORD,
            "name": "Collected Customer",
            "phone": "07700900123",
            "postcode": postcode_in(new_area()),
            "role": "customer",
        },
    )
    assert registered.status_code == 201, registered.text
    headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    for _ in range(5):
        created = await http.post("/api/connection/jobs", json=JOB, headers=headers)
        assert created.status_code == 201, created.text
    return headers


async def _concurrent_reads(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    async def client() -> None:
        for _ in range(50):
            response = await http.get("/api/connection/jobs", headers=headers)
            assert response.status_code == 200, response.text

    await asyncio.gather(*(client() for _ in range(16)))


def test_young_generation_passes_are_rare_under_concurrent_requests(
    live_server: LiveServer,
) -> None:
    """800 authenticated reads, sixteen at a time: with Python's default threshold they cost
    about 300 young-generation passes; tuned, under 20."""

    async def scenario() -> float:
        async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as http:
            headers = await _customer(http)
            before = _young_passes(live_server.base_url)
            await _concurrent_reads(http, headers)
            return _young_passes(live_server.base_url) - before

    passes = asyncio.run(scenario())
    assert passes <= 100, passes
