"""Logs carry the request id and the event id; /metrics has what operators alert on."""

from __future__ import annotations

import json
import time

import httpx

from tests.flows.servers import LiveServer
from tests.flows.users import PASSWORD, new_area, postcode_in


def test_request_logs_carry_request_and_event_ids(live_server: LiveServer) -> None:
    base = live_server.base_url
    registered = httpx.post(
        f"{base}/api/auth/register",
        json={
            "email": "logged-customer@example.com",
            "password": PASSWORD,
            "name": "Logged Customer",
            "phone": "07700900123",
            "postcode": postcode_in(new_area()),
            "role": "customer",
        },
    )
    assert registered.status_code == 201, registered.text
    token = registered.json()["access_token"]
    created = httpx.post(
        f"{base}/api/connection/jobs",
        json={
            "title": "Fix leaking kitchen tap",
            "trade_category": "Plumbing",
            "budget_min": 50,
            "budget_max": 150,
            "timeframe": "urgent",
        },
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-log-test-1"},
    )
    assert created.status_code == 201, created.text
    assert created.headers["X-Request-ID"] == "req-log-test-1"
    event_id = created.json()["event_id"]

    # The access line is written once the response has gone out: wait for it.
    deadline = time.monotonic() + 10
    while True:
        text = live_server.log.read_text()
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        access = [
            line
            for line in lines
            if line.get("event") == "request" and line.get("request_id") == "req-log-test-1"
        ]
        if access or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(access) == 1, access
    assert access[0]["event_id"] == event_id
    assert access[0]["status"] == 201
    # Another request's lines do not inherit it.
    others = [line for line in lines if line.get("event") == "request" and line is not access[0]]
    assert others and all(line.get("event_id") != event_id for line in others)


def test_metrics_expose_latency_denials_replays_and_the_scheduler(
    live_server: LiveServer,
) -> None:
    base = live_server.base_url
    assert httpx.get(f"{base}/api/connection/jobs").status_code == 401
    text = httpx.get(f"{base}/metrics").text
    for name in (
        "tradematch_http_request_duration_seconds_bucket",
        'tradematch_rbac_denials_total{role="anonymous",status="401"}',
        "tradematch_idempotent_replays_total",
        'tradematch_scheduler_transitions_total{kind="lead_expired"}',
        'tradematch_scheduler_transitions_total{kind="job_closed"}',
    ):
        assert name in text, name
