"""Jobs through the API: create, edit, publish, cancel, list; the job state machine; bad input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.flows.database import Database
from tests.flows.users import Api, User, marketplace, new_area, postcode_in

JOBS = "/api/connection/jobs"

VALID_JOB: dict[str, Any] = {
    "title": "Fix leaking kitchen tap",
    "trade_category": "Plumbing",
    "budget_min": 50,
    "budget_max": 150,
    "timeframe": "urgent",
}


async def _get(api: Api, customer: User, job_id: str) -> dict[str, Any]:
    response = await api.client.get(f"{JOBS}/{job_id}", headers=customer.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _stored(db: Database, customer: User) -> tuple[int, int]:
    """(jobs, events) this customer has caused in the database."""
    conn = await db.connect()
    try:
        jobs = await conn.fetchval(
            "SELECT count(*) FROM jobs WHERE customer_id = $1", customer.user_id
        )
        events = await conn.fetchval(
            "SELECT count(*) FROM event_log WHERE actor_id = $1", customer.user_id
        )
    finally:
        await conn.close()
    return int(jobs), int(events)


def _assert_conflict(response: httpx.Response, current_state: str) -> None:
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["code"] == "INVALID_STATE_TRANSITION"
    assert body["current_state"] == current_state
    assert isinstance(body["error"], str) and body["error"]


def _assert_validation_error(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert isinstance(body["error"], str) and body["error"]


# ---------------------------------------------------------------------------- create and read


async def test_create_is_a_draft_with_the_seed_fields(api: Api, worker_db: Database) -> None:
    customer = await api.customer()
    response = await api.client.post(
        JOBS, json={**VALID_JOB, "description": "Drips all night"}, headers=customer.headers
    )

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "draft"
    assert created["job_id"].startswith("job_")
    assert created["event_id"].startswith("evt_")

    job = await _get(api, customer, created["job_id"])
    assert job["status"] == "draft"
    assert job["title"] == "Fix leaking kitchen tap"
    assert job["description"] == "Drips all night"
    assert (job["budget_min"], job["budget_max"]) == (50, 150)
    assert job["timeframe"] == "urgent"
    assert job["leads_assigned"] == 0
    assert job["published_at"] is None

    conn = await worker_db.connect()
    try:
        row = await conn.fetchrow(
            "SELECT budget_min_pence, budget_max_pence FROM jobs WHERE id = $1", created["job_id"]
        )
        event = await conn.fetchrow(
            "SELECT type, job_id FROM event_log WHERE id = $1", created["event_id"]
        )
    finally:
        await conn.close()
    assert (row["budget_min_pence"], row["budget_max_pence"]) == (5000, 15000)  # integer pence
    assert (event["type"], event["job_id"]) == ("JOB_CREATED", created["job_id"])


async def test_postcode_defaults_to_the_customers_own(api: Api) -> None:
    home = postcode_in(new_area(), "4DX")
    customer = await api.customer(postcode=home)
    default = await api.create_job(customer)
    assert (await _get(api, customer, default["job_id"]))["postcode"] == home

    elsewhere = new_area()
    explicit = await api.create_job(customer, postcode=f"  {elsewhere.lower()}9zz ")
    assert (await _get(api, customer, explicit["job_id"]))["postcode"] == f"{elsewhere} 9ZZ"


async def test_amounts_are_pounds_exact_to_the_penny(api: Api) -> None:
    customer = await api.customer()
    edges = await api.create_job(customer, title="x" * 120, budget_min=0.01, budget_max=1_000_000)
    job = await _get(api, customer, edges["job_id"])
    assert (job["budget_min"], job["budget_max"]) == (0.01, 1_000_000)
    assert job["title"] == "x" * 120

    pennies = await api.create_job(customer, budget_min=120.5, budget_max=120.99)
    job = await _get(api, customer, pennies["job_id"])
    assert (job["budget_min"], job["budget_max"]) == (120.5, 120.99)


async def test_a_job_of_another_customer_is_not_found(api: Api) -> None:
    owner, stranger = await api.customer(), await api.customer()
    job_id = (await api.create_job(owner))["job_id"]

    for method, path, body in [
        ("GET", f"{JOBS}/{job_id}", None),
        ("PATCH", f"{JOBS}/{job_id}", {"title": "Mine now"}),
        ("PATCH", f"{JOBS}/{job_id}/publish", {}),
        ("PATCH", f"{JOBS}/{job_id}/cancel", {}),
    ]:
        response = await api.client.request(method, path, json=body, headers=stranger.headers)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["code"] == "NOT_FOUND"

    job = await _get(api, owner, job_id)
    assert (job["status"], job["title"]) == ("draft", "Fix leaking kitchen tap")


# ---------------------------------------------------------------------------- edit


async def test_edit_a_draft(api: Api) -> None:
    customer = await api.customer()
    job_id = (await api.create_job(customer, description="Old words"))["job_id"]

    response = await api.client.patch(
        f"{JOBS}/{job_id}",
        json={
            "title": "Replace bathroom tap",
            "budget_max": 300,
            "timeframe": "flexible",
            "description": None,
        },
        headers=customer.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "draft"
    assert response.json()["event_id"].startswith("evt_")
    job = await _get(api, customer, job_id)
    assert job["title"] == "Replace bathroom tap"
    assert (job["budget_min"], job["budget_max"]) == (50, 300)
    assert job["timeframe"] == "flexible"
    assert job["description"] is None
    assert job["trade_category"] == "Plumbing"  # untouched


async def test_edited_postcode_decides_who_is_offered_the_job(api: Api) -> None:
    """Editing the postcode moves the job: matching uses the new district, not the old one."""
    home, away = new_area(), new_area()
    customer = await api.customer(postcode=postcode_in(home))
    near_home = await api.vendor(postcode=postcode_in(home, "5EE"), radius=2)
    near_away = await api.vendor(postcode=postcode_in(away, "5EE"), radius=2)
    job_id = (await api.create_job(customer))["job_id"]

    edit = await api.client.patch(
        f"{JOBS}/{job_id}", json={"postcode": postcode_in(away, "7GG")}, headers=customer.headers
    )
    assert edit.status_code == 200, edit.text
    published = await api.publish(customer, job_id)

    assert published["leads_assigned"] == 1
    assert [lead["job_id"] for lead in await api.leads(near_away)] == [job_id]
    assert await api.leads(near_home) == []


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({}, id="nothing"),
        pytest.param({"title": None}, id="null-title"),
        pytest.param({"budget_min": 500}, id="min-above-stored-max"),
        pytest.param({"budget_max": 10}, id="max-below-stored-min"),
        pytest.param({"status": "live"}, id="status-is-not-editable"),
        pytest.param({"customer_id": "usr_01JD5Z0000000000000000000"}, id="owner-is-not-editable"),
        pytest.param({"title": "y" * 121}, id="title-too-long"),
        pytest.param({"postcode": "ZZ99 9ZZ"}, id="unknown-postcode"),
        pytest.param({"trade_category": "Alchemy"}, id="unknown-trade"),
        pytest.param({"budget_max": 99.999}, id="sub-penny"),
    ],
)
async def test_bad_edit_is_422_and_changes_nothing(
    api: Api, worker_db: Database, change: dict[str, Any]
) -> None:
    customer = await api.customer()
    job_id = (await api.create_job(customer))["job_id"]
    before, stored = await _get(api, customer, job_id), await _stored(worker_db, customer)

    response = await api.client.patch(f"{JOBS}/{job_id}", json=change, headers=customer.headers)

    _assert_validation_error(response)
    assert await _get(api, customer, job_id) == before
    assert await _stored(worker_db, customer) == stored


async def test_only_a_draft_can_be_edited(api: Api) -> None:
    market = await marketplace(api, vendors=1)
    before = await _get(api, market.customer, market.job_id)

    response = await api.client.patch(
        f"{JOBS}/{market.job_id}", json={"title": "Sneaky change"}, headers=market.customer.headers
    )

    _assert_conflict(response, "live")
    assert await _get(api, market.customer, market.job_id) == before


# ---------------------------------------------------------------------------- publish and cancel


async def test_publish_twice_is_a_conflict_and_offers_nothing_more(
    api: Api, worker_db: Database
) -> None:
    market = await marketplace(api, vendors=2)
    stored = await _stored(worker_db, market.customer)

    again = await api.client.patch(
        f"{JOBS}/{market.job_id}/publish", json={}, headers=market.customer.headers
    )

    _assert_conflict(again, "live")
    assert await _stored(worker_db, market.customer) == stored
    conn = await worker_db.connect()
    try:
        leads = await conn.fetchval("SELECT count(*) FROM leads WHERE job_id = $1", market.job_id)
    finally:
        await conn.close()
    assert leads == 2


async def test_cancel_a_draft(api: Api) -> None:
    customer = await api.customer()
    job_id = (await api.create_job(customer))["job_id"]

    response = await api.client.patch(f"{JOBS}/{job_id}/cancel", json={}, headers=customer.headers)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["event_id"].startswith("evt_")
    job = await _get(api, customer, job_id)
    assert job["status"] == "cancelled"
    assert job["cancelled_at"] is not None
    assert job["published_at"] is None

    _assert_conflict(
        await api.client.patch(f"{JOBS}/{job_id}/publish", json={}, headers=customer.headers),
        "cancelled",
    )
    _assert_conflict(
        await api.client.patch(
            f"{JOBS}/{job_id}", json={"title": "Back"}, headers=customer.headers
        ),
        "cancelled",
    )
    _assert_conflict(
        await api.client.patch(f"{JOBS}/{job_id}/cancel", json={}, headers=customer.headers),
        "cancelled",
    )
    assert (await _get(api, customer, job_id))["status"] == "cancelled"


async def test_cancel_a_live_job_closes_every_vendors_lead(api: Api, worker_db: Database) -> None:
    market = await marketplace(api, vendors=3)
    engaged, offered = market.vendors[0], market.vendors[1:]
    await api.accept(engaged, market.leads[engaged.user_id])
    assert (await _get(api, market.customer, market.job_id))["leads_assigned"] == 3

    response = await api.client.patch(
        f"{JOBS}/{market.job_id}/cancel", json={}, headers=market.customer.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    job = await _get(api, market.customer, market.job_id)
    assert (job["status"], job["leads_assigned"]) == ("cancelled", 0)
    for vendor in [engaged, *offered]:
        lead = await api.lead_for(vendor, market.job_id)
        assert lead["status"] == "closed", vendor
        single = await api.client.get(
            f"/api/connection/leads/{lead['lead_id']}", headers=vendor.headers
        )
        assert single.json()["status"] == "closed"
    # A closed lead can no longer be accepted: the vendor hears only that the job is gone.
    for vendor in offered:
        accept = await api.client.post(
            f"/api/connection/leads/{market.leads[vendor.user_id]}/accept",
            json={},
            headers=vendor.headers,
        )
        assert accept.status_code == 409, accept.text
        assert accept.json() == {
            "error": "This job is no longer available",
            "code": "NO_LONGER_AVAILABLE",
        }

    stored = await _stored(worker_db, market.customer)
    twice = await api.client.patch(
        f"{JOBS}/{market.job_id}/cancel", json={}, headers=market.customer.headers
    )
    _assert_conflict(twice, "cancelled")
    assert await _stored(worker_db, market.customer) == stored


# ---------------------------------------------------------------------------- list


async def test_list_my_jobs_with_cursor_pagination(api: Api) -> None:
    customer, other = await api.customer(), await api.customer()
    await api.create_job(other)
    created = [(await api.create_job(customer, title=f"Job {i}"))["job_id"] for i in range(5)]
    await api.publish(customer, created[1])

    seen: list[str] = []
    pages = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await api.client.get(JOBS, params=params, headers=customer.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(len(page["items"]))
        seen += [item["job_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert cursor == page["items"][-1]["job_id"]

    assert pages == [2, 2, 1]
    assert seen == list(reversed(created))  # newest first, no duplicates, no gaps, no strangers

    live = await api.client.get(JOBS, params={"status": "live"}, headers=customer.headers)
    assert [item["job_id"] for item in live.json()["items"]] == [created[1]]
    assert live.json()["items"][0]["leads_assigned"] == 0  # nobody near this customer
    assert live.json()["next_cursor"] is None

    for params in ({"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 101}, {"status": "paused"}):
        bad = await api.client.get(JOBS, params=params, headers=customer.headers)
        _assert_validation_error(bad)


# ---------------------------------------------------------------------------- bad input on create

_NUL = "\x00"

BAD_CREATE: list[Any] = [
    pytest.param({**VALID_JOB, "title": "t" * 121}, id="title-121-chars"),
    pytest.param({**VALID_JOB, "title": "   "}, id="title-blank"),
    pytest.param({**VALID_JOB, "description": "d" * 5001}, id="description-5001-chars"),
    pytest.param({**VALID_JOB, "urgent": True}, id="unknown-field"),
    pytest.param({**VALID_JOB, "status": "live"}, id="status-field"),
    pytest.param({**VALID_JOB, "budget_min": 200, "budget_max": 100}, id="min-above-max"),
    pytest.param({**VALID_JOB, "budget_min": 120.505, "budget_max": 200}, id="sub-penny-min"),
    pytest.param({**VALID_JOB, "budget_max": 150.001}, id="sub-penny-max"),
    pytest.param({**VALID_JOB, "budget_min": 0}, id="zero"),
    pytest.param({**VALID_JOB, "budget_min": -5}, id="negative"),
    pytest.param({**VALID_JOB, "budget_min": -0.01, "budget_max": -0.01}, id="negative-both"),
    pytest.param({**VALID_JOB, "budget_max": 1_000_000.01}, id="over-a-million"),
    pytest.param({**VALID_JOB, "budget_max": 1e308}, id="huge"),
    pytest.param({**VALID_JOB, "budget_max": "NaN"}, id="nan"),
    pytest.param({**VALID_JOB, "budget_max": "Infinity"}, id="infinity"),
    pytest.param({**VALID_JOB, "trade_category": "Alchemy"}, id="unknown-trade"),
    pytest.param({**VALID_JOB, "trade_category": "plumbing"}, id="trade-wrong-case"),
    pytest.param({**VALID_JOB, "timeframe": "yesterday"}, id="bad-timeframe"),
    pytest.param({**VALID_JOB, "postcode": "LS1"}, id="postcode-outcode-only"),
    pytest.param({**VALID_JOB, "postcode": "ZZ99 9ZZ"}, id="postcode-unknown-district"),
    pytest.param({**VALID_JOB, "postcode": "12345 678"}, id="postcode-malformed"),
    pytest.param({**VALID_JOB, "postcode": ""}, id="postcode-empty"),
    pytest.param({**VALID_JOB, "title": f"Fix{_NUL}tap"}, id="nul-in-title"),
    pytest.param({**VALID_JOB, "description": f"drip{_NUL}"}, id="nul-in-description"),
    pytest.param({**VALID_JOB, "postcode": f"LS1 1AA{_NUL}"}, id="nul-in-postcode"),
    pytest.param({**VALID_JOB, "title": 123}, id="title-number"),
    pytest.param({**VALID_JOB, "title": ["Fix tap"]}, id="title-list"),
    pytest.param({**VALID_JOB, "budget_min": "fifty"}, id="budget-word"),
    pytest.param({**VALID_JOB, "budget_min": True}, id="budget-bool"),
    pytest.param({**VALID_JOB, "budget_min": [50]}, id="budget-list"),
    pytest.param({**VALID_JOB, "budget_max": None}, id="budget-null"),
    pytest.param({**VALID_JOB, "timeframe": 1}, id="timeframe-number"),
    pytest.param({**VALID_JOB, "description": {"text": "hi"}}, id="description-object"),
    pytest.param({k: v for k, v in VALID_JOB.items() if k != "title"}, id="missing-title"),
    pytest.param([VALID_JOB], id="body-is-a-list"),
    pytest.param("Fix leaking kitchen tap", id="body-is-a-string"),
    pytest.param(None, id="body-is-null"),
]


@pytest.mark.parametrize("body", BAD_CREATE)
async def test_bad_job_is_422_and_stores_nothing(api: Api, worker_db: Database, body: Any) -> None:
    customer = await api.customer()
    before = await _stored(worker_db, customer)

    response = await api.client.post(JOBS, json=body, headers=customer.headers)

    _assert_validation_error(response)
    assert await _stored(worker_db, customer) == before
    mine = await api.client.get(JOBS, headers=customer.headers)
    assert mine.json()["items"] == []


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"title": "Fix tap", ', id="truncated-json"),
        pytest.param(b"title=Fix+tap", id="not-json"),
        pytest.param(b"", id="empty"),
        pytest.param(b'{"title": "Fix\\u0000tap"}', id="escaped-nul"),
        pytest.param(b"\xff\xfe\x00", id="not-utf8"),
    ],
)
async def test_malformed_body_is_422_and_stores_nothing(
    api: Api, worker_db: Database, raw: bytes
) -> None:
    customer = await api.customer()
    before = await _stored(worker_db, customer)

    response = await api.client.post(
        JOBS, content=raw, headers={**customer.headers, "Content-Type": "application/json"}
    )

    _assert_validation_error(response)
    assert await _stored(worker_db, customer) == before


async def test_a_vendor_cannot_post_jobs(api: Api, worker_db: Database) -> None:
    vendor = await api.vendor(postcode=postcode_in(new_area()))
    response = await api.client.post(JOBS, json=VALID_JOB, headers=vendor.headers)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "FORBIDDEN"
    conn = await worker_db.connect()
    try:
        assert (
            await conn.fetchval("SELECT count(*) FROM jobs WHERE customer_id = $1", vendor.user_id)
            == 0
        )
    finally:
        await conn.close()
