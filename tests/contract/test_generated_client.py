"""The published OpenAPI document is good enough to generate a working client from.

openapi-python-client generates a Python client from the running server's ``/openapi.json``
(as a subprocess, into the test's temporary directory); the seed's nine steps are then driven
through that client against a real ``tradematch serve`` process. Every answer is parsed by the
generated models (required fields, enums, the event payload chosen by its ``type``), so a
response that drifts from the document, or an operation a generator cannot call as documented
(an optional body that must be passed anyway), fails here.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.flows.servers import LiveServer
from tests.flows.users import PASSWORD, postcode_in

AREA = "LS6"
# Files come back as their own bytes; the generator is told to treat them as binary.
GENERATOR_CONFIG = {
    "content_type_overrides": {
        kind: "application/octet-stream"
        for kind in ("image/jpeg", "image/png", "image/webp", "application/pdf")
    }
}


class Generated:
    """The generated package, its operations and models by name."""

    def __init__(self, package: ModuleType, base_url: str) -> None:
        self.package = package
        self.name = package.__name__
        self.base_url = base_url

    def op(self, tag: str, name: str) -> Any:
        return importlib.import_module(f"{self.name}.api.{tag}.{name}")

    def model(self, name: str) -> Any:
        return getattr(importlib.import_module(f"{self.name}.models"), name)

    def anonymous(self) -> Any:
        return self.package.Client(base_url=self.base_url, raise_on_unexpected_status=True)

    def authed(self, token: str) -> Any:
        return self.package.AuthenticatedClient(
            base_url=self.base_url, token=token, raise_on_unexpected_status=True
        )


@pytest.fixture
def generated(live_server: LiveServer, tmp_path: Path) -> Iterator[Generated]:
    document = httpx.get(f"{live_server.base_url}/openapi.json", timeout=30)
    assert document.status_code == 200
    spec = tmp_path / "openapi.json"
    spec.write_text(document.text)
    config = tmp_path / "generator.json"
    config.write_text(json.dumps(GENERATOR_CONFIG))
    name = f"tradematch_client_{uuid.uuid4().hex[:8]}"
    search_path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("openapi-python-client")),
            "generate",
            "--path",
            str(spec),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / name),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        # Its post-generation hooks run ruff: the one of this environment, activated or not.
        env={**os.environ, "PATH": search_path},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The generator warns about every part of the document it could not turn into code.
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield Generated(importlib.import_module(name), live_server.base_url)
    finally:
        sys.path.remove(str(tmp_path))
        for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
            del sys.modules[module]


def parsed(response: Any, status: int, model: Any) -> Any:
    """The generated client's parsed answer, of the expected status and generated type."""
    assert response.status_code == status, response.content
    assert isinstance(response.parsed, model), response.parsed
    return response.parsed


async def register(gen: Generated, role: str, postcode: str, **extra: Any) -> Any:
    request = gen.model("RegisterRequest")
    body = request.from_dict(
        {
            "email": f"{role}-{uuid.uuid4().hex[:8]}@example.com",
            "password": PASSWORD,
            "name": f"Client {role}",
            "phone": "07700 900123",
            "postcode": postcode,
            "role": role,
            **extra,
        }
    )
    response = await gen.op("accounts", "register").asyncio_detailed(
        client=gen.anonymous(), body=body
    )
    return parsed(response, 201, gen.model("RegisterResponse"))


async def test_the_seed_flow_through_a_generated_client(generated: Generated) -> None:
    gen = generated
    m = gen.model

    ready = await gen.op("ops", "readyz").asyncio_detailed(client=gen.anonymous())
    assert parsed(ready, 200, m("Readiness")).status == "ready"

    customer_account = await register(gen, "customer", postcode_in(AREA, "1AA"))
    vendor_account = await register(
        gen,
        "vendor",
        postcode_in(AREA, "2BB"),
        business_name="Generated Plumbing Ltd",
        trades=["Plumbing"],
        service_radius_miles=10,
    )
    customer = gen.authed(customer_account.access_token)
    vendor = gen.authed(vendor_account.access_token)

    # 1. The customer creates the job.
    created = await gen.op("jobs", "create_job").asyncio_detailed(
        client=customer,
        body=m("JobCreate").from_dict(
            {
                "title": "Fix leaking kitchen tap",
                "trade_category": "Plumbing",
                "budget_min": 50,
                "budget_max": 150,
                "timeframe": "urgent",
            }
        ),
    )
    job = parsed(created, 201, m("JobCreated"))
    assert job.status == m("JobStatus").DRAFT
    job_id = job.job_id

    # 2. ...and publishes it: the body is optional, so the call leaves it out.
    published = await gen.op("jobs", "publish_job").asyncio_detailed(job_id, client=customer)
    body = parsed(published, 200, m("JobPublished"))
    assert body.status == m("JobStatus").LIVE and body.leads_assigned == 1
    leads = await gen.op("leads", "list_leads").asyncio_detailed(client=vendor)
    [preview] = parsed(leads, 200, m("LeadList")).items
    assert preview.status == m("LeadStatus").OFFERED and preview.contact_unlocked is False

    # 3. The vendor accepts the lead, with the seed's idempotency key; a retry is replayed.
    accept = gen.op("leads", "accept_lead")
    key = "550e8400-e29b-41d4-a716-446655440000"
    first = await accept.asyncio_detailed(preview.lead_id, client=vendor, idempotency_key=key)
    accepted = parsed(first, 200, m("LeadAccepted"))
    replay = await accept.asyncio_detailed(preview.lead_id, client=vendor, idempotency_key=key)
    assert parsed(replay, 200, m("LeadAccepted")).to_dict() == accepted.to_dict()
    assert replay.headers["Idempotent-Replayed"] == "true"
    conversation_id = accepted.conversation_id
    lead = await gen.op("leads", "get_lead").asyncio_detailed(preview.lead_id, client=vendor)
    detail = parsed(lead, 200, m("LeadDetail"))
    assert detail.status == m("LeadStatus").ACCEPTED
    assert detail.customer.email == customer_account.email

    # 4. The vendor sends the seed's quote.
    sent = await gen.op("quotes", "send_quote").asyncio_detailed(
        client=vendor,
        body=m("QuoteCreate").from_dict(
            {
                "job_id": job_id,
                "amount": 120,
                "description": "New washer installed, tested",
                "estimated_duration": "2 hours",
            }
        ),
    )
    quote = parsed(sent, 201, m("QuoteSent"))
    assert quote.status == m("QuoteStatus").PENDING

    # 5. Customer and vendor exchange messages; the vendor marks the conversation read.
    send = gen.op("messaging", "send_message")
    for client, text in ((customer, "Can you confirm the exact timing?"), (vendor, "Yes, 9am.")):
        message = await send.asyncio_detailed(
            conversation_id, client=client, body=m("SendMessage").from_dict({"body": text})
        )
        parsed(message, 201, m("MessageSent"))
    read = await gen.op("messaging", "mark_read").asyncio_detailed(conversation_id, client=vendor)
    assert parsed(read, 200, m("MarkedRead")).unread_count == 0
    page = await gen.op("messaging", "get_messages").asyncio_detailed(
        conversation_id, client=customer
    )
    messages = parsed(page, 200, m("MessagePage")).items
    message_type = m("MessageType")
    assert [x.type_ for x in reversed(messages)] == [
        message_type.SYSTEM,
        message_type.QUOTE_REFERENCE,
        message_type.TEXT,
        message_type.TEXT,
    ]

    # 6. The customer accepts the quote, tops the wallet up and funds the escrow.
    award = await gen.op("quotes", "accept_quote").asyncio_detailed(quote.quote_id, client=customer)
    assert parsed(award, 200, m("QuoteAccepted")).job_id == job_id
    fund = gen.op("escrow", "fund_escrow")
    short = await fund.asyncio_detailed(job_id, client=customer)
    refused = parsed(short, 402, m("InsufficientFundsError"))
    assert (refused.required, refused.available) == (120, 0)
    topped = await gen.op("escrow", "top_up").asyncio_detailed(
        client=customer, body=m("TopUp").from_dict({"amount": 120})
    )
    assert parsed(topped, 200, m("ToppedUp")).balance == 120
    funded = await fund.asyncio_detailed(job_id, client=customer)
    assert parsed(funded, 200, m("EscrowFunded")).status == m("EscrowStatus").HELD

    # 7. The vendor submits the milestone with the seed's evidence.
    listed = await gen.op("milestones", "list_milestones").asyncio_detailed(job_id, client=vendor)
    [milestone] = parsed(listed, 200, m("MilestoneList")).items
    assert milestone.status == m("MilestoneStatus").PENDING
    submitted = await gen.op("milestones", "submit_milestone").asyncio_detailed(
        milestone.milestone_id,
        client=vendor,
        body=m("SubmitMilestone").from_dict(
            {
                "completion_evidence": {
                    "photos": ["https://example.com/image1.jpg"],
                    "description": "Tap installed and tested. Works perfectly.",
                }
            }
        ),
    )
    assert parsed(submitted, 200, m("MilestoneChanged")).status == m("MilestoneStatus").SUBMITTED
    shown = await gen.op("milestones", "list_milestones").asyncio_detailed(job_id, client=customer)
    [milestone] = parsed(shown, 200, m("MilestoneList")).items
    assert isinstance(milestone.evidence, m("EvidenceView"))
    assert milestone.evidence.description == "Tap installed and tested. Works perfectly."

    # 8. The customer approves it; the payment is released.
    approved = await gen.op("milestones", "approve_milestone").asyncio_detailed(
        milestone.milestone_id, client=customer
    )
    assert parsed(approved, 200, m("MilestoneChanged")).status == m("MilestoneStatus").RELEASED
    escrow = await gen.op("escrow", "get_escrow").asyncio_detailed(job_id, client=customer)
    assert parsed(escrow, 200, m("EscrowView")).status == m("EscrowStatus").RELEASED

    # 9. The customer reviews the vendor; the job closes.
    review = await gen.op("reviews", "post_review").asyncio_detailed(
        client=customer,
        body=m("ReviewCreate").from_dict(
            {
                "job_id": job_id,
                "rating": 5,
                "feedback": "Great work, quick and professional!",
                "recommend_yes_no": True,
            }
        ),
    )
    parsed(review, 201, m("ReviewPosted"))
    closed = await gen.op("jobs", "get_job").asyncio_detailed(job_id, client=customer)
    assert parsed(closed, 200, m("JobDetail")).status == m("JobStatus").CLOSED

    # The job's history: every payload parsed into the model its event type names.
    history = await gen.op("events", "job_events").asyncio_detailed(job_id, client=customer)
    events = parsed(history, 200, m("EventPage")).items
    by_type = {event.type_: event.payload for event in events}
    for event in events:  # each event parsed as the schema its type names
        assert type(event).__name__ == event.type_.title().replace("_", "") + "Event", event
    assert isinstance(by_type["JOB_CREATED"], m("JobCreatedPayload"))
    assert isinstance(by_type["MESSAGE_SENT"], m("MessageSentPayload"))
    assert by_type["MESSAGE_SENT"].type_ == message_type.TEXT
    assert isinstance(by_type["ESCROW_FUNDED"], m("EscrowFundedPayload"))
    assert by_type["ESCROW_FUNDED"].funded == 120  # pounds, as the API speaks
    assert isinstance(by_type["REVIEW_POSTED"], m("ReviewPostedPayload"))

    # Errors are typed too: an illegal transition names the entity, state and action.
    again = await gen.op("quotes", "accept_quote").asyncio_detailed(quote.quote_id, client=customer)
    conflict = parsed(again, 409, m("StateConflictError"))
    assert (conflict.entity, conflict.current_state) == ("job", "closed")
    anonymous = gen.package.AuthenticatedClient(base_url=gen.base_url, token="not-a-token")
    denied = await gen.op("jobs", "list_jobs").asyncio_detailed(client=anonymous)
    parsed(denied, 401, m("ErrorBody"))
    assert denied.headers["WWW-Authenticate"] == "Bearer"
