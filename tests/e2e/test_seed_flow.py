"""The seed's "Complete Customer→Vendor→Customer Flow" (steps 1, 2, 3 and 5) over real HTTP.

A real ``tradematch serve`` process (uvicorn, real sockets) on a fresh PostgreSQL database; the
client is plain httpx against its base URL. Field names and values are the seed's, exactly.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio

from tests.flows.servers import LiveServer
from tests.flows.users import PASSWORD, Api, User, postcode_in

AREA = "LS6"  # Headingley, Leeds: the customer and all six plumbers live here
SEED_JOB = {
    "title": "Fix leaking kitchen tap",
    "trade_category": "Plumbing",
    "budget_min": 50,
    "budget_max": 150,
    "timeframe": "urgent",
}
SEED_ACCEPT = {"idempotency_key": "550e8400-e29b-41d4-a716-446655440000"}
SEED_MESSAGE = {"body": "Can you confirm the exact timing?"}
ID = re.compile(r"^[a-z]+_[0-9A-Za-z_]+$")


def _id(value: Any, prefix: str) -> str:
    assert isinstance(value, str) and value.startswith(f"{prefix}_") and ID.match(value), value
    return value


@pytest_asyncio.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as client:
        yield client


async def test_ops_endpoints(http: httpx.AsyncClient) -> None:
    health = await http.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}

    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert isinstance(ready.json()["revision"], str) and ready.json()["revision"]

    metrics = await http.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    # The readiness probes above went through the middleware, so the histogram has samples.
    assert "# TYPE tradematch_http_request_duration_seconds histogram" in metrics.text
    assert re.search(
        r'^tradematch_http_request_duration_seconds_count\{[^}]*route="/readyz"[^}]*\} [1-9]',
        metrics.text,
        re.MULTILINE,
    ), metrics.text


async def test_seed_flow_steps_1_2_3_5(http: httpx.AsyncClient) -> None:
    api = Api(http)
    customer = await api.customer(
        postcode=postcode_in(AREA, "1AA"), name="Sarah Whitfield", phone="07700 900123"
    )
    assert customer.user_id.startswith("usr_") and customer.role == "customer"
    plumbers = [
        await api.vendor(postcode=postcode_in(AREA, f"{i}BB"), trades=["Plumbing"], radius=10)
        for i in range(1, 7)
    ]
    for plumber in plumbers:
        assert plumber.body["role"] == "vendor"

    # Login gives a bearer token that works like the registration one.
    login = await http.post("/api/auth/login", json={"email": customer.email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert set(login.json()) >= {"access_token", "token_type", "expires_in"}
    assert login.json()["token_type"] == "bearer"
    me = await http.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert me.status_code == 200 and me.json()["user_id"] == customer.user_id

    # ── Step 1: customer creates the job ──────────────────────────────────────────────
    created = await http.post("/api/connection/jobs", json=SEED_JOB, headers=customer.headers)
    assert created.status_code == 201, created.text
    job = created.json()
    job_id = _id(job["job_id"], "job")
    assert job["status"] == "draft"
    _id(job["event_id"], "evt")

    # ── Step 2: customer publishes it; five of the six plumbers are offered a lead ────
    published = await http.patch(
        f"/api/connection/jobs/{job_id}/publish", json={}, headers=customer.headers
    )
    assert published.status_code == 200, published.text
    body = published.json()
    assert body["status"] == "live"
    assert body["leads_assigned"] == 5
    assert body["message"] == "Job published. 5 vendors notified."

    detail = await http.get(f"/api/connection/jobs/{job_id}", headers=customer.headers)
    assert detail.status_code == 200
    assert detail.json()["status"] == "live" and detail.json()["leads_assigned"] == 5
    assert "price" not in detail.text

    offered: list[tuple[User, dict[str, Any]]] = []
    for plumber in plumbers:
        items = await api.leads(plumber)
        assert len(items) <= 1
        if items:
            offered.append((plumber, items[0]))
    assert len(offered) == 5
    vendor, preview = offered[0]

    # The vendor dashboard shows the lead with the customer masked.
    assert preview["job_id"] == job_id
    lead_id = _id(preview["lead_id"], "lead")
    assert preview["status"] == "offered"
    assert preview["contact_unlocked"] is False
    assert preview["title"] == "Fix leaking kitchen tap"
    assert preview["trade_category"] == "Plumbing"
    assert preview["budget_min"] == 50 and preview["budget_max"] == 150
    assert preview["timeframe"] == "urgent"
    assert preview["outcode"] == AREA
    assert "customer" not in preview and "postcode" not in preview and "price" not in preview
    for secret in (customer.name, customer.email, customer.phone, customer.postcode):
        assert secret not in str(preview)

    # Messaging is locked until acceptance: the vendor has no conversation yet.
    inbox = await http.get("/api/connection/conversations", headers=vendor.headers)
    assert inbox.status_code == 200 and inbox.json()["items"] == []
    # The customer sees no vendor contact before anyone accepted.
    engaged = await http.get(f"/api/connection/jobs/{job_id}/vendors", headers=customer.headers)
    assert engaged.status_code == 200 and engaged.json()["items"] == []

    # ── Step 3: the vendor accepts the lead (seed body: an idempotency key) ────────────
    accepted = await http.post(
        f"/api/connection/leads/{lead_id}/accept", json=SEED_ACCEPT, headers=vendor.headers
    )
    assert accepted.status_code == 200, accepted.text
    acc = accepted.json()
    assert acc["lead_id"] == lead_id
    conversation_id = _id(acc["conversation_id"], "conv")
    accept_event = _id(acc["event_id"], "evt")
    assert acc["message"] == "Lead accepted. Customer contact details now visible."

    # Retrying with the same key replays the stored answer and changes nothing.
    replay = await http.post(
        f"/api/connection/leads/{lead_id}/accept", json=SEED_ACCEPT, headers=vendor.headers
    )
    assert replay.status_code == 200, replay.text
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == acc

    # Data unlocked: the vendor now sees the customer's name, phone, email and full postcode.
    unlocked = await http.get(f"/api/connection/leads/{lead_id}", headers=vendor.headers)
    assert unlocked.status_code == 200, unlocked.text
    lead = unlocked.json()
    assert lead["status"] == "accepted" and lead["contact_unlocked"] is True
    assert lead["conversation_id"] == conversation_id
    assert lead["customer"] == {
        "name": customer.name,
        "phone": customer.phone,
        "email": customer.email,
        "postcode": customer.postcode,
    }
    assert lead["postcode"] == customer.postcode
    assert "price" not in lead
    listed = await api.lead_for(vendor, job_id)
    assert listed["contact_unlocked"] is True and listed["customer"]["email"] == customer.email

    # ...and the customer sees the vendor's contact details (only that vendor's).
    engaged = await http.get(f"/api/connection/jobs/{job_id}/vendors", headers=customer.headers)
    assert engaged.status_code == 200, engaged.text
    [card] = engaged.json()["items"]
    assert card["vendor_id"] == vendor.user_id
    assert card["business_name"] == vendor.body["vendor_profile"]["business_name"]
    assert card["lead_status"] == "accepted"
    assert card["conversation_id"] == conversation_id
    assert card["contact"] == {"name": vendor.name, "phone": vendor.phone, "email": vendor.email}
    assert "price" not in engaged.text

    # Messaging is enabled for both parties, starting with the system message.
    for party in (customer, vendor):
        inbox = await http.get("/api/connection/conversations", headers=party.headers)
        assert inbox.status_code == 200, inbox.text
        [summary] = inbox.json()["items"]
        assert summary["conversation_id"] == conversation_id and summary["job_id"] == job_id
        assert summary["status"] == "open" and summary["messaging_enabled"] is True
    history = await http.get(
        f"/api/connection/conversations/{conversation_id}/messages", headers=customer.headers
    )
    assert history.status_code == 200, history.text
    assert [m["type"] for m in history.json()["items"]] == ["system"]

    # ── Step 5: customer and vendor exchange messages ─────────────────────────────────
    sent = await http.post(
        f"/api/connection/conversations/{conversation_id}/messages",
        json=SEED_MESSAGE,
        headers=customer.headers,
    )
    assert sent.status_code == 201, sent.text
    message_id = _id(sent.json()["message_id"], "msg")
    message_event = _id(sent.json()["event_id"], "evt")

    inbox = await http.get("/api/connection/conversations", headers=vendor.headers)
    [summary] = inbox.json()["items"]
    assert summary["unread_count"] >= 1
    assert summary["last_message"]["message_id"] == message_id
    assert summary["last_message"]["body"] == "Can you confirm the exact timing?"

    page = await http.get(
        f"/api/connection/conversations/{conversation_id}/messages", headers=vendor.headers
    )
    assert page.status_code == 200, page.text
    newest = page.json()["items"][0]
    assert newest["message_id"] == message_id
    assert newest["body"] == "Can you confirm the exact timing?"
    assert newest["sender_id"] == customer.user_id and newest["sender_role"] == "customer"
    assert newest["type"] == "text"

    read = await http.patch(
        f"/api/connection/conversations/{conversation_id}/mark-read",
        json={},
        headers=vendor.headers,
    )
    assert read.status_code == 200, read.text
    assert read.json()["conversation_id"] == conversation_id
    assert read.json()["unread_count"] == 0
    inbox = await http.get("/api/connection/conversations", headers=vendor.headers)
    assert inbox.json()["items"][0]["unread_count"] == 0

    reply = await http.post(
        f"/api/connection/conversations/{conversation_id}/messages",
        json={"body": "Yes, tomorrow at 9am."},
        headers=vendor.headers,
    )
    assert reply.status_code == 201, reply.text
    page = await http.get(
        f"/api/connection/conversations/{conversation_id}/messages",
        params={"order": "oldest_first"},
        headers=customer.headers,
    )
    assert [m["body"] for m in page.json()["items"][1:]] == [
        "Can you confirm the exact timing?",
        "Yes, tomorrow at 9am.",
    ]

    # A vendor who was offered the job but did not accept cannot reach the conversation.
    other_vendor = offered[1][0]
    foreign = await http.get(
        f"/api/connection/conversations/{conversation_id}/messages", headers=other_vendor.headers
    )
    assert foreign.status_code == 404
    assert foreign.json()["code"] and foreign.json()["error"]

    # ── The customer's event history: the seed's events, in order ─────────────────────
    events = await http.get(f"/api/connection/events/{job_id}", headers=customer.headers)
    assert events.status_code == 200, events.text
    items = events.json()["items"]
    types = [e["type"] for e in items]
    seed_types = ["JOB_CREATED", "JOB_POSTED", "LEAD_ACCEPTED", "MESSAGE_SENT"]
    # The seed's four, in order (the vendor's reply is a second MESSAGE_SENT).
    assert [t for t in types if t in seed_types] == [*seed_types, "MESSAGE_SENT"], types
    assert [e["seq"] for e in items] == sorted(e["seq"] for e in items)
    assert all(e["job_id"] == job_id for e in items)
    by_id = {e["event_id"]: e for e in items}
    assert by_id[job["event_id"]]["type"] == "JOB_CREATED"
    assert by_id[body["event_id"]]["type"] == "JOB_POSTED"
    assert by_id[accept_event]["type"] == "LEAD_ACCEPTED"
    assert by_id[message_event]["type"] == "MESSAGE_SENT"
    assert "price" not in events.text
    # The replayed accept wrote no second LEAD_ACCEPTED.
    assert types.count("LEAD_ACCEPTED") == 1

    # The vendor's view of the same history is about its own lead only.
    vendor_events = await http.get(f"/api/connection/events/{job_id}", headers=vendor.headers)
    assert vendor_events.status_code == 200, vendor_events.text
    vendor_items = vendor_events.json()["items"]
    assert {"LEAD_ACCEPTED", "MESSAGE_SENT"} <= {e["type"] for e in vendor_items}
    for event in vendor_items:
        assert event["payload"].get("vendor_id", vendor.user_id) == vendor.user_id, event
        assert event["payload"].get("lead_id", lead_id) == lead_id, event
    # Another vendor offered the same job sees nothing of the winner's lead or conversation.
    rival_events = await http.get(f"/api/connection/events/{job_id}", headers=other_vendor.headers)
    assert rival_events.status_code == 200, rival_events.text
    for event in rival_events.json()["items"]:
        assert event["type"] not in {"LEAD_ACCEPTED", "MESSAGE_SENT"}, event
        assert vendor.user_id not in str(event) and conversation_id not in str(event), event
