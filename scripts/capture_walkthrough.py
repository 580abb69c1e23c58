"""Capture docs/api-walkthrough.md's requests and responses from a real server.

Starts ``python -m tradematch serve --no-worker`` the way the test suite's ``live_server`` fixture
does (a fresh database, real uvicorn on a free port), drives the seed's nine-step customer →
vendor → customer flow over HTTP (with a second vendor who quotes and loses), and prints each
request with the response it really got, as markdown.
Paste the output between the ``captured`` markers of docs/api-walkthrough.md.

    python scripts/capture_walkthrough.py > /tmp/walkthrough.md

The PostgreSQL server is the one named by ``TRADEMATCH_TEST_DATABASE_URL`` (a maintenance URL,
e.g. ``postgresql://postgres@127.0.0.1:5432/postgres``) or, if unset, an embedded one started in a
temporary folder. A database of its own is created for the run and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import make_url

PASSWORD = "correct-horse-battery"  # noqa: S105 - a throwaway account on a throwaway database
JWT_SECRET = "walkthrough-signing-key-that-is-long-enough-to-be-safe"  # noqa: S105
AREA = "LS6"  # Headingley, Leeds


# ── the database and the server, as tests/conftest.py sets them up ─────────────────────────


def _connect_args(url: str) -> tuple[str, dict[str, str]]:
    parsed = make_url(url)
    host = parsed.query.get("host")
    dsn = parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    return dsn, ({"host": host} if isinstance(host, str) else {})


async def _admin_execute(server_url: str, sql: str) -> None:
    dsn, kwargs = _connect_args(server_url)
    conn = await asyncpg.connect(dsn, **kwargs)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def fresh_database(scratch: Path) -> Iterator[str]:
    """A new, empty database; yields its libpq URL. ``serve`` migrates it at start."""
    server_url = os.environ.get("TRADEMATCH_TEST_DATABASE_URL")
    embedded = None
    if not server_url:
        import pgserver

        embedded = pgserver.get_server(scratch / "pgdata", cleanup_mode="stop")
        server_url = str(embedded.get_uri())
    name = f"tm_walkthrough_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin_execute(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if embedded is not None:
            embedded.cleanup()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(database_url: str, data_dir: Path) -> Iterator[str]:
    """Run ``tradematch serve`` as a real process; yields its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "TRADEMATCH_DATABASE_URL": database_url,
        "TRADEMATCH_DATA_DIR": str(data_dir),
        "TRADEMATCH_JWT_SECRET": JWT_SECRET,
        "TRADEMATCH_LOG_JSON": "true",
    }
    log = data_dir / f"serve-{port}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter running our own package
            [sys.executable, "-m", "tradematch", "serve", "--port", str(port), "--no-worker"],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{log.read_text()}")
            try:
                if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not become ready:\n{log.read_text()}")
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


# ── markdown output ──────────────────────────────────────────────────────────────────────


def _shorten_tokens(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (v[:12] + "…" if k == "access_token" and isinstance(v, str) else _shorten_tokens(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_shorten_tokens(v) for v in value]
    return value


def _json(value: Any) -> str:
    return json.dumps(_shorten_tokens(value), indent=2, ensure_ascii=False)


class Recorder:
    """An httpx client that prints every call it makes as a markdown request/response pair."""

    SHOWN_HEADERS = ("idempotent-replayed", "retry-after", "content-type")

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def heading(self, text: str, level: int = 3) -> None:
        print(f"\n{'#' * level} {text}\n")

    def say(self, text: str) -> None:
        print(f"{text}\n")

    def call(
        self,
        method: str,
        path: str,
        *,
        who: str | None = None,
        token: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        expect: int | None = None,
        show_headers: tuple[str, ...] = (),
    ) -> httpx.Response:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        kwargs: dict[str, Any] = {"headers": sent, "params": params}
        if body is not None:
            kwargs["json"] = body
        response = self.client.request(method, path, **kwargs)
        if expect is not None and response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")

        target = path + (f"?{httpx.QueryParams(params)}" if params else "")
        lines = [f"{method} {target}"]
        if who:
            lines.append(f"Authorization: Bearer <{who}'s token>")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        print("```http")
        print("\n".join(lines))
        if body is not None:
            print()
            print(_json(body))
        print("```\n")

        status_line = f"HTTP/1.1 {response.status_code} {response.reason_phrase}"
        shown = [
            f"{name.title()}: {response.headers[name]}"
            for name in show_headers
            if name in response.headers
        ]
        print("```http")
        print("\n".join([status_line, *shown]))
        is_json = response.headers.get("content-type", "").startswith("application/json")
        if response.content and is_json:
            print()
            print(_json(response.json()))
        elif response.content:
            print()
            print(response.text.strip())
        print("```\n")
        return response


# ── the flow ─────────────────────────────────────────────────────────────────────────────


def drive(api: Recorder) -> None:
    api.heading("Is it up?", 2)
    api.say("Liveness, and readiness (database reachable, migrations at head, with the revision):")
    api.call("GET", "/healthz", expect=200)
    api.call("GET", "/readyz", expect=200)

    api.heading("Accounts: register and log in", 2)
    api.say("A customer registers. The answer is the user plus a bearer token.")
    customer_body = {
        "email": "sarah.whitfield@example.com",
        "password": PASSWORD,
        "name": "Sarah Whitfield",
        "phone": "07700 900123",
        "postcode": f"{AREA} 1AA",
        "role": "customer",
    }
    customer = api.call("POST", "/api/auth/register", body=customer_body, expect=201).json()
    customer_token = customer["access_token"]

    api.say(
        "A vendor also gives `business_name`, `trades` (from the catalogue) and "
        "`service_radius_miles`. Six plumbers near the customer register; the first is shown."
    )
    vendors: list[dict[str, Any]] = []
    for i in range(1, 7):
        body = {
            "email": f"plumber{i}@example.com",
            "password": PASSWORD,
            "name": f"Plumber {i}",
            "phone": f"07700 900{200 + i}",
            "postcode": f"{AREA} {i}BB",
            "role": "vendor",
            "business_name": f"Headingley Plumbing {i} Ltd",
            "trades": ["Plumbing"],
            "service_radius_miles": 10,
        }
        if i == 1:
            vendors.append(api.call("POST", "/api/auth/register", body=body, expect=201).json())
        else:
            response = api.client.post("/api/auth/register", json=body)
            response.raise_for_status()
            vendors.append(response.json())

    api.say("Logging in later exchanges email and password for a fresh token:")
    api.call(
        "POST",
        "/api/auth/login",
        body={"email": customer_body["email"], "password": PASSWORD},
        expect=200,
    )

    api.heading("Step 1: the customer creates a job", 2)
    api.say(
        "The seed's body, unchanged. `postcode` (defaulting to the customer's own) and "
        "`description` are optional. The job starts as a draft; `event_id` names its "
        "`JOB_CREATED` event."
    )
    job_body = {
        "title": "Fix leaking kitchen tap",
        "trade_category": "Plumbing",
        "budget_min": 50,
        "budget_max": 150,
        "timeframe": "urgent",
    }
    job = api.call(
        "POST",
        "/api/connection/jobs",
        who="customer",
        token=customer_token,
        body=job_body,
        expect=201,
    ).json()
    job_id = job["job_id"]

    api.heading("Step 2: the customer publishes it", 2)
    api.say(
        "The job goes live and is offered as a lead to the five best-matching vendors "
        "(six plumbers match; a live job holds at most five open leads). Events: `JOB_POSTED`, "
        "and one `LEAD_OFFERED` per vendor."
    )
    api.call(
        "PATCH",
        f"/api/connection/jobs/{job_id}/publish",
        who="customer",
        token=customer_token,
        body={},
        expect=200,
    )

    offered: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for vendor in vendors:
        items = api.client.get(
            "/api/connection/leads", headers={"Authorization": f"Bearer {vendor['access_token']}"}
        ).json()["items"]
        if items:
            offered.append((vendor, items[0]))
    vendor, lead = offered[0]
    rival, rival_lead = offered[1]  # accepts and quotes too, and loses
    bystander = offered[2][0]  # never answers
    vendor_token = vendor["access_token"]
    rival_token = rival["access_token"]
    lead_id = lead["lead_id"]

    api.heading("The vendor's lead inbox (masked)", 3)
    api.say(
        "An offered lead is a preview: trade, title, description, budget, timeframe, the "
        "outcode and an approximate distance. No customer name, phone, email or full postcode, "
        "and never the lead's price."
    )
    api.call("GET", "/api/connection/leads", who="vendor", token=vendor_token, expect=200)

    api.heading("Step 3: the vendor accepts the lead", 2)
    api.say(
        "The seed's body carries an idempotency key (the `Idempotency-Key` header works too). "
        "One transaction: the lead becomes `accepted`, a conversation opens with a system "
        "message, `LEAD_ACCEPTED` is logged and both parties are notified."
    )
    accept_body = {"idempotency_key": "550e8400-e29b-41d4-a716-446655440000"}
    accepted = api.call(
        "POST",
        f"/api/connection/leads/{lead_id}/accept",
        who="vendor",
        token=vendor_token,
        body=accept_body,
        expect=200,
    ).json()
    conversation_id = accepted["conversation_id"]

    api.heading("Retrying is safe: the idempotent replay", 3)
    api.say(
        "The same request with the same key (say the first answer was lost to a network "
        "error) gets the stored answer back, byte for byte, marked `Idempotent-Replayed: "
        "true`, and changes nothing: no second event, no second conversation."
    )
    api.call(
        "POST",
        f"/api/connection/leads/{lead_id}/accept",
        who="vendor",
        token=vendor_token,
        body=accept_body,
        expect=200,
        show_headers=("idempotent-replayed",),
    )

    api.heading("What the vendor sees now", 3)
    api.say("The lead's detail carries the customer's contact details and the full postcode.")
    api.call(
        "GET", f"/api/connection/leads/{lead_id}", who="vendor", token=vendor_token, expect=200
    )

    api.heading("What the customer sees now", 3)
    api.say(
        "Vendors who accepted this job's lead: a limited profile (business name, rating, "
        "badges, distance) plus contact details. Vendors who have not accepted are not listed."
    )
    api.call(
        "GET",
        f"/api/connection/jobs/{job_id}/vendors",
        who="customer",
        token=customer_token,
        expect=200,
    )

    api.heading("Step 4: the vendor sends a quote", 2)
    api.say(
        "The seed's body, unchanged. The vendor must hold an accepted lead on the job; the lead "
        'moves to `quote_sent`, `QUOTE_SENT` is logged, the customer is notified ("Quote '
        "received: £120\") and the seed's `quote_reference` system message appears in the "
        "conversation (shown in step 5). An optional `milestones` list splits the amount; "
        "without it the whole job is one milestone."
    )
    quote = api.call(
        "POST",
        "/api/connection/quotes",
        who="vendor",
        token=vendor_token,
        body={
            "job_id": job_id,
            "amount": 120,
            "description": "New washer installed, tested",
            "estimated_duration": "2 hours",
        },
        expect=201,
    ).json()
    quote_id = quote["quote_id"]

    api.heading("A second vendor quotes too", 3)
    rival_headers = {"Authorization": f"Bearer {rival_token}"}
    api.client.post(
        f"/api/connection/leads/{rival_lead['lead_id']}/accept", json={}, headers=rival_headers
    ).raise_for_status()
    api.say("Another plumber accepted its own lead and quotes £150:")
    rival_quote = api.call(
        "POST",
        "/api/connection/quotes",
        who="second vendor",
        token=rival_token,
        body={
            "job_id": job_id,
            "amount": 150,
            "description": "Replace the whole tap",
            "estimated_duration": "half a day",
        },
        expect=201,
    ).json()

    api.heading("The customer compares the quotes", 3)
    api.say(
        "Only the job's customer lists its quotes (a vendor gets 403, and `GET /quotes/{id}` "
        "of another vendor's quote is a 404)."
    )
    api.call(
        "GET",
        f"/api/connection/jobs/{job_id}/quotes",
        who="customer",
        token=customer_token,
        expect=200,
    )

    api.heading("Step 5: customer and vendor exchange messages", 2)
    api.say("The customer writes in the conversation that opened on acceptance (`MESSAGE_SENT`).")
    api.call(
        "POST",
        f"/api/connection/conversations/{conversation_id}/messages",
        who="customer",
        token=customer_token,
        body={"body": "Can you confirm the exact timing?"},
        expect=201,
    )

    api.say("The vendor's inbox: one conversation per accepted lead, unread count, last message.")
    api.call("GET", "/api/connection/conversations", who="vendor", token=vendor_token, expect=200)

    api.say(
        "The vendor reads the conversation (newest first by default; `?order=oldest_first`): "
        "the customer's message, the `quote_reference` message of step 4 and the system "
        "message of step 3."
    )
    api.call(
        "GET",
        f"/api/connection/conversations/{conversation_id}/messages",
        who="vendor",
        token=vendor_token,
        expect=200,
    )

    api.say("…and marks it read (up to a given `up_to_message_id`, or everything):")
    api.call(
        "PATCH",
        f"/api/connection/conversations/{conversation_id}/mark-read",
        who="vendor",
        token=vendor_token,
        body={},
        expect=200,
    )

    api.say(
        "Messages can carry an `Idempotency-Key` header as well. The vendor replies; the key "
        "makes a retried send post the message once."
    )
    api.call(
        "POST",
        f"/api/connection/conversations/{conversation_id}/messages",
        who="vendor",
        token=vendor_token,
        body={"body": "Yes, tomorrow at 9am."},
        headers={"Idempotency-Key": "reply-2f1c9a"},
        expect=201,
    )

    api.heading("Step 6: the customer accepts the quote", 2)
    api.say(
        "The seed's body (`{}`). One transaction: the quote is `accepted`, the job "
        "`in_progress`, this vendor's lead `quote_accepted`; every other open lead is `closed`, "
        "their pending quotes `expired` and their conversations locked; an escrow account opens "
        "(`pending`, for the quote's amount) with the quote's milestones; a system message "
        "goes into the conversation. Events: `QUOTE_ACCEPTED` (its id is the `event_id`), "
        "`JOB_IN_PROGRESS`, `ESCROW_CREATED`."
    )
    api.call(
        "PATCH",
        f"/api/connection/quotes/{quote_id}/accept",
        who="customer",
        token=customer_token,
        body={},
        expect=200,
    )

    api.heading("What the vendor who lost sees", 3)
    api.say(
        "Its lead is `closed` (and masked again), its quote `expired`, its conversation "
        "locked. It is told only that the job is no longer available: not who won, not for "
        "how much. Its view of the job's history ends with `LEAD_CLOSED`:"
    )
    api.call(
        "GET",
        f"/api/connection/leads/{rival_lead['lead_id']}",
        who="second vendor",
        token=rival_token,
        expect=200,
    )
    api.call(
        "GET",
        f"/api/connection/quotes/{rival_quote['quote_id']}",
        who="second vendor",
        token=rival_token,
        expect=200,
    )
    api.call(
        "GET",
        f"/api/connection/events/{job_id}",
        who="second vendor",
        token=rival_token,
        expect=200,
    )

    api.heading("Escrow: the customer funds the job", 2)
    api.say(
        "The escrow opened by the award waits for the quote's full amount. Amounts are pounds; "
        "`balance` is what escrow holds now (funded minus released and refunded)."
    )
    api.call(
        "GET",
        f"/api/connection/jobs/{job_id}/escrow",
        who="customer",
        token=customer_token,
        expect=200,
    )
    api.say(
        "The built-in payment provider is a sandbox wallet: the customer tops it up with "
        "`POST /wallet/top-up`. With £50 in it, funding £120 is refused with the seed's 402, "
        "and nothing changes:"
    )
    api.call(
        "POST",
        "/api/connection/wallet/top-up",
        who="customer",
        token=customer_token,
        body={"amount": 50},
        expect=200,
    )
    api.call(
        "POST",
        f"/api/connection/jobs/{job_id}/escrow/fund",
        who="customer",
        token=customer_token,
        body={},
        expect=402,
    )
    api.say("After another £100 the funding goes through (`ESCROW_FUNDED`); escrow is `held`:")
    api.call(
        "POST",
        "/api/connection/wallet/top-up",
        who="customer",
        token=customer_token,
        body={"amount": 100},
        expect=200,
    )
    api.call(
        "POST",
        f"/api/connection/jobs/{job_id}/escrow/fund",
        who="customer",
        token=customer_token,
        body={},
        expect=200,
    )
    api.say("The winning vendor sees the escrow read-only; moving money is not its to do:")
    api.call(
        "GET", f"/api/connection/jobs/{job_id}/escrow", who="vendor", token=vendor_token, expect=200
    )
    api.call(
        "POST",
        f"/api/connection/jobs/{job_id}/escrow/fund",
        who="vendor",
        token=vendor_token,
        body={},
        expect=403,
    )

    api.heading("Step 7: the vendor submits the milestone", 2)
    api.say("The job's milestones (here the default: one for the whole amount):")
    milestones = api.call(
        "GET",
        f"/api/connection/jobs/{job_id}/milestones",
        who="vendor",
        token=vendor_token,
        expect=200,
    ).json()
    milestone_id = milestones["items"][0]["milestone_id"]
    api.say(
        "The seed's body, with real photo URLs in place of its `https://...` placeholders "
        "(https only, at most 10). Only while escrow is funded; the evidence cannot change "
        'afterwards. `MILESTONE_SUBMITTED`; the system message "Vendor submitted milestone '
        'for approval"; the customer is notified.'
    )
    api.call(
        "POST",
        f"/api/connection/milestones/{milestone_id}/submit",
        who="vendor",
        token=vendor_token,
        body={
            "completion_evidence": {
                "photos": [
                    "https://photos.example.com/tap/image1.jpg",
                    "https://photos.example.com/tap/image2.jpg",
                ],
                "description": "Tap installed and tested. Works perfectly.",
            }
        },
        expect=200,
    )

    api.heading("Step 8: the customer approves the milestone", 2)
    api.say(
        "The seed's body (`{}`). `MILESTONE_APPROVED`, the system message \"Milestone approved. "
        "Payment releasing.\", and the milestone's amount moves from escrow to the vendor's "
        "wallet in one balanced ledger transaction (`PAYMENT_RELEASED`). Escrow goes `held` → "
        "`partial_released` while milestones remain, `released` with the last one; then the job "
        "is `completed` (`JOB_COMPLETED`) and the conversation archived."
    )
    api.call(
        "PATCH",
        f"/api/connection/milestones/{milestone_id}/approve",
        who="customer",
        token=customer_token,
        body={},
        expect=200,
    )
    api.call(
        "GET",
        f"/api/connection/jobs/{job_id}/escrow",
        who="customer",
        token=customer_token,
        expect=200,
    )
    api.say("The vendor's wallet has been credited:")
    api.call("GET", "/api/connection/wallet", who="vendor", token=vendor_token, expect=200)
    api.say(
        "Money leaves a wallet through a payout to the owner's bank (customers and vendors "
        "alike; idempotent like every POST). The sandbox provider sends it at once: one ledger "
        "transaction from the wallet to the provider's payout account, `PAYOUT_SENT`, and a "
        'notification "Payout sent to your bank: £100". More than the balance is a 402 '
        "`INSUFFICIENT_FUNDS` that changes nothing:"
    )
    api.call(
        "POST",
        "/api/connection/wallet/payouts",
        who="vendor",
        token=vendor_token,
        body={"amount": 100},
        expect=201,
    )
    api.call(
        "POST",
        "/api/connection/wallet/payouts",
        who="vendor",
        token=vendor_token,
        body={"amount": 50},
        expect=402,
    )
    api.call("GET", "/api/connection/wallet/payouts", who="vendor", token=vendor_token, expect=200)

    api.heading("Step 9: the customer leaves a review", 2)
    review_body = {
        "rating": 5,
        "feedback": "Great work, quick and professional!",
        "recommend_yes_no": True,
    }
    api.say("The seed's body names no job, so on its own it is a 422:")
    api.call(
        "POST",
        "/api/connection/reviews",
        who="customer",
        token=customer_token,
        body=review_body,
        expect=422,
    )
    api.say(
        "With `job_id` added: only the job's customer, only after completion, once. "
        "`REVIEW_POSTED`, and the job is `closed` (`JOB_CLOSED`). A review with contact details "
        "or abuse would be `held` for moderation instead of `published`."
    )
    review = api.call(
        "POST",
        "/api/connection/reviews",
        who="customer",
        token=customer_token,
        body={"job_id": job_id, **review_body},
        expect=201,
    ).json()
    review_id = review["review_id"]
    api.say("The vendor responds publicly (once), and the customer may reply (once):")
    api.call(
        "PATCH",
        f"/api/connection/reviews/{review_id}/respond",
        who="vendor",
        token=vendor_token,
        body={"response": "Thank you, Sarah! Call us any time."},
        expect=200,
    )
    api.call(
        "PATCH",
        f"/api/connection/reviews/{review_id}/reply",
        who="customer",
        token=customer_token,
        body={"reply": "Will do!"},
        expect=200,
    )
    api.say("Anyone signed in reads a vendor's published reviews, and its updated rating:")
    api.call(
        "GET",
        f"/api/connection/vendors/{vendor['user_id']}/reviews",
        who="customer",
        token=customer_token,
        expect=200,
    )
    api.call(
        "GET",
        f"/api/connection/vendors/{vendor['user_id']}",
        who="customer",
        token=customer_token,
        expect=200,
    )

    api.heading("The job's history", 2)
    api.say(
        "`GET /events/{job_id}` is the job's event log as the caller may see it, in sequence "
        "order. The customer sees their job's events, every step above (never lead prices, "
        "never which vendors were offered the job). A vendor sees only events about its own "
        "lead and the job's public changes, as the losing vendor's view above shows."
    )
    api.call(
        "GET", f"/api/connection/events/{job_id}", who="customer", token=customer_token, expect=200
    )

    api.heading("Errors", 2)
    api.say('Every error has one shape: `{"error": human text, "code": MACHINE_CODE, …details}`.')
    api.say("Reusing an idempotency key for a *different* request is refused (422), not replayed:")
    api.call(
        "POST",
        f"/api/connection/conversations/{conversation_id}/messages",
        who="vendor",
        token=vendor_token,
        body={"body": "Actually, 10am."},
        headers={"Idempotency-Key": "reply-2f1c9a"},
        expect=422,
    )
    api.say("An illegal state transition is a 409 that names the current state:")
    api.call(
        "PATCH",
        f"/api/connection/quotes/{quote_id}/accept",
        who="customer",
        token=customer_token,
        body={},
        expect=409,
    )
    api.say("Bad input is a 422 with the offending fields (here a budget that is not whole pence):")
    api.call(
        "POST",
        "/api/connection/jobs",
        who="customer",
        token=customer_token,
        body={**job_body, "budget_max": 120.505},
        expect=422,
    )
    api.say(
        "Something you may not see answers exactly like something that does not exist: a "
        "vendor who was offered the job but did not accept cannot open the conversation, and "
        "the vendor who lost cannot read the winner's quote."
    )
    api.call(
        "GET",
        f"/api/connection/conversations/{conversation_id}/messages",
        who="another vendor",
        token=bystander["access_token"],
        expect=404,
    )
    api.call(
        "GET",
        f"/api/connection/quotes/{quote_id}",
        who="second vendor",
        token=rival_token,
        expect=404,
    )
    api.say("A role that may never do something gets 403, e.g. a vendor listing a job's quotes:")
    api.call(
        "GET",
        f"/api/connection/jobs/{job_id}/quotes",
        who="vendor",
        token=vendor_token,
        expect=403,
    )
    api.say("No token, or a bad one:")
    api.call("GET", "/api/connection/leads", expect=401)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tm-walkthrough-") as scratch:
        scratch_dir = Path(scratch)
        with (
            fresh_database(scratch_dir) as database_url,
            live_server(database_url, scratch_dir) as url,
            httpx.Client(base_url=url, timeout=30) as client,
        ):
            drive(Recorder(client))


if __name__ == "__main__":
    main()
