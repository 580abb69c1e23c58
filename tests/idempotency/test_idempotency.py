"""Idempotency keys (contract §8): a retry replays the stored answer and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.flows.users import Api, User, new_area, postcode_in

REPLAYED = "Idempotent-Replayed"
JOBS = "/api/connection/jobs"
JOB = {
    "title": "Replace bathroom extractor fan",
    "trade_category": "Electrical",
    "budget_min": 80,
    "budget_max": 200,
    "timeframe": "within_a_week",
}


def _key() -> str:
    return f"idem-{uuid.uuid4()}"


async def _post_job(
    api: Api, customer: User, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    headers = dict(customer.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await api.client.post(JOBS, json=body, headers=headers)


async def _my_job_ids(api: Api, customer: User) -> list[str]:
    response = await api.client.get(JOBS, headers=customer.headers)
    assert response.status_code == 200, response.text
    return [job["job_id"] for job in response.json()["items"]]


async def _job_events(api: Api, user: User, job_id: str) -> list[str]:
    response = await api.client.get(f"/api/connection/events/{job_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    return [event["type"] for event in response.json()["items"]]


async def test_post_twice_with_one_key_creates_one_job_and_replays_the_answer(api: Api) -> None:
    customer = await api.customer()
    key = _key()
    first = await _post_job(api, customer, JOB, key)
    second = await _post_job(api, customer, JOB, key)

    assert first.status_code == 201, first.text
    assert REPLAYED not in first.headers
    assert second.status_code == 201
    assert second.headers[REPLAYED] == "true"
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]
    job_id = first.json()["job_id"]
    assert await _my_job_ids(api, customer) == [job_id]
    assert await _job_events(api, customer, job_id) == ["JOB_CREATED"]

    # Without a key, the same body is a new request: a second job.
    third = await _post_job(api, customer, JOB)
    assert third.status_code == 201 and third.json()["job_id"] != job_id
    assert len(await _my_job_ids(api, customer)) == 2


async def test_body_key_works_like_the_header(api: Api) -> None:
    customer = await api.customer()
    key = _key()
    first = await _post_job(api, customer, {**JOB, "idempotency_key": key})
    assert first.status_code == 201, first.text
    again = await _post_job(api, customer, {**JOB, "idempotency_key": key})
    assert again.status_code == 201 and again.headers[REPLAYED] == "true"
    assert again.content == first.content
    # The same request with the key moved to the header is the same request.
    header = await _post_job(api, customer, JOB, key)
    assert header.status_code == 201 and header.headers[REPLAYED] == "true"
    assert header.content == first.content
    # Header and body agreeing is fine too.
    both = await _post_job(api, customer, {**JOB, "idempotency_key": key}, key)
    assert both.headers[REPLAYED] == "true" and both.content == first.content
    assert await _my_job_ids(api, customer) == [first.json()["job_id"]]


async def test_same_key_with_a_different_body_is_422_and_creates_nothing(api: Api) -> None:
    customer = await api.customer()
    key = _key()
    first = await _post_job(api, customer, JOB, key)
    assert first.status_code == 201
    for body in ({**JOB, "title": "Something else entirely"}, {**JOB, "budget_max": 201}):
        reused = await _post_job(api, customer, body, key)
        assert reused.status_code == 422, reused.text
        assert reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert REPLAYED not in reused.headers
    # The same key on another endpoint is another request as well.
    job_id = first.json()["job_id"]
    publish = await api.client.patch(
        f"{JOBS}/{job_id}/publish", json={}, headers={**customer.headers, "Idempotency-Key": key}
    )
    assert publish.status_code == 422 and publish.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    detail = await api.client.get(f"{JOBS}/{job_id}", headers=customer.headers)
    assert detail.json()["status"] == "draft"
    assert await _my_job_ids(api, customer) == [job_id]


async def test_one_customers_key_never_replays_another_customers_job(api: Api) -> None:
    alice, bob = await api.customer(), await api.customer()
    key = _key()  # the same key and the same body from two users
    a = await _post_job(api, alice, JOB, key)
    b = await _post_job(api, bob, JOB, key)
    assert a.status_code == b.status_code == 201
    assert REPLAYED not in b.headers
    assert a.json()["job_id"] != b.json()["job_id"]
    assert await _my_job_ids(api, alice) == [a.json()["job_id"]]
    assert await _my_job_ids(api, bob) == [b.json()["job_id"]]


async def test_header_and_body_keys_that_differ_are_422(api: Api) -> None:
    customer = await api.customer()
    response = await _post_job(api, customer, {**JOB, "idempotency_key": _key()}, _key())
    assert response.status_code == 422, response.text
    assert await _my_job_ids(api, customer) == []


@pytest.mark.parametrize(
    "key",
    ["k" * 256, "", "tab\there", "new\nline", "bell\x07", "zero\u200bwidth", "del\x7f"],
    ids=["256-chars", "empty", "tab", "newline", "control", "zero-width", "delete"],
)
async def test_invalid_body_keys_are_422_and_change_nothing(api: Api, key: str) -> None:
    customer = await api.customer()
    response = await _post_job(api, customer, {**JOB, "idempotency_key": key})
    assert response.status_code == 422, response.text
    assert await _my_job_ids(api, customer) == []


@pytest.mark.parametrize(
    "key", ["k" * 256, "tab\there", "bell\x07"], ids=["256-chars", "tab", "control"]
)
async def test_invalid_header_keys_are_422_and_change_nothing(api: Api, key: str) -> None:
    customer = await api.customer()
    response = await _post_job(api, customer, JOB, key)
    assert response.status_code == 422, response.text
    assert await _my_job_ids(api, customer) == []


async def test_longest_allowed_key_works(api: Api) -> None:
    customer = await api.customer()
    key = "k" * 255
    first = await _post_job(api, customer, JOB, key)
    second = await _post_job(api, customer, {**JOB, "idempotency_key": key})
    assert first.status_code == second.status_code == 201
    assert second.headers[REPLAYED] == "true" and second.content == first.content


async def test_publish_replay_offers_the_job_once(api: Api) -> None:
    area = new_area()
    customer = await api.customer(postcode=postcode_in(area, "2BB"))
    vendor = await api.vendor(postcode=postcode_in(area, "3CC"), trades=["Electrical"], radius=3)
    job = await api.create_job(customer, **{**JOB})
    key = _key()
    url = f"{JOBS}/{job['job_id']}/publish"
    headers = {**customer.headers, "Idempotency-Key": key}

    first = await api.client.patch(url, json={}, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["leads_assigned"] == 1 and REPLAYED not in first.headers
    second = await api.client.patch(url, json={}, headers=headers)
    assert second.status_code == 200
    assert second.headers[REPLAYED] == "true" and second.content == first.content

    assert await _job_events(api, customer, job["job_id"]) == ["JOB_CREATED", "JOB_POSTED"]
    assert len([lead for lead in await api.leads(vendor) if lead["job_id"] == job["job_id"]]) == 1
    # A retry without the key is a new request, refused by the state machine.
    fresh = await api.client.patch(url, json={}, headers=customer.headers)
    assert fresh.status_code == 409 and fresh.json()["code"] == "INVALID_STATE_TRANSITION"
