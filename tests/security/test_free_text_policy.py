"""Contact details in user-written text, over HTTP: the auditors' examples (issue 8, point 1) as
a vendor who has not accepted sees them, and each field's policy (point 2; the table in
docs/security.md, "Contact details in free text")."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import pytest

from tests.flows.database import Database
from tests.flows.deals import (
    awarded_job,
    completed_job,
    post_review,
    published_reviews,
    quoting_job,
    raise_dispute,
    send_message,
    vendor_profile,
)
from tests.flows.users import Api, User, marketplace, new_area, postcode_in
from tradematch.kit.text import REDACTED

from .contact_examples import AUDITOR_EXAMPLES

API = "/api/connection"
PHONE = "07700 900123"
DISGUISED_PHONE = "07700_900123"


def secret_of(example: str) -> str:
    """What must not be recoverable from a response, whatever its spacing or script."""
    folded = _fold(example)
    return "example" if "example" in folded else folded


def _fold(text: str) -> str:
    plain = "".join(
        c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf"
    )
    return re.sub(r"[\W_]+", "", plain).lower()


def shows(body: Any, example: str) -> bool:
    return secret_of(example) in _fold(json.dumps(body, ensure_ascii=False))


def refused(response: Any, *loc: str | int) -> bool:
    """A 422 whose error names the field at ``loc`` as holding contact details."""
    if response.status_code != 422:
        return False
    details = response.json().get("details", [])
    return any(
        d["loc"] == ["body", *map(str, loc)] and d["type"] == "contact_details" for d in details
    )


async def get(api: Api, user: User, path: str, **params: Any) -> Any:
    response = await api.client.get(f"{API}{path}", headers=user.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------- job text in the masked lead views


@pytest.mark.parametrize("example", AUDITOR_EXAMPLES.values(), ids=AUDITOR_EXAMPLES.keys())
async def test_auditor_example_in_a_job_never_reaches_a_vendor_who_has_not_accepted(
    api: Api, example: str
) -> None:
    area = new_area()
    customer = await api.customer(postcode=postcode_in(area, "2BB"))
    vendor = await api.vendor(postcode=postcode_in(area, "3CC"), radius=3)
    job = await api.create_job(
        customer,
        title=f"{example} fix tap",
        description=f"Kitchen tap leaking. Call {example} after six",
    )
    await api.publish(customer, job["job_id"])

    listed = await api.lead_for(vendor, job["job_id"])
    single = await get(api, vendor, f"/leads/{listed['lead_id']}")
    for lead in (listed, single):
        assert lead["contact_unlocked"] is False
        assert lead["title"] == f"{REDACTED} fix tap"
        assert lead["description"] == f"Kitchen tap leaking. Call {REDACTED} after six"

    notifications = (await get(api, vendor, "/notifications"))["items"]
    [offer] = [n for n in notifications if n["event_type"] == "LEAD_OFFERED"]
    assert offer["body"] == f"New lead: {REDACTED} fix tap"

    feed = await get(api, vendor, "/events")
    history = await get(api, vendor, f"/events/{job['job_id']}")
    for seen in (listed, single, notifications, feed, history):
        assert not shows(seen, example), seen

    # The customer's own job, and the vendor once it accepts, show the text as written.
    assert (await get(api, customer, f"/jobs/{job['job_id']}"))["title"] == f"{example} fix tap"
    await api.accept(vendor, listed["lead_id"])
    accepted = await get(api, vendor, f"/leads/{listed['lead_id']}")
    assert accepted["title"] == f"{example} fix tap"


# ------------------------------------------------------------------- vendor business name


async def test_business_name_with_contact_details_is_refused(api: Api) -> None:
    vendor = await api.vendor(postcode=postcode_in(new_area()), business_name="Bob's Plumbing")
    customer = await api.customer()
    # The auditors' request, verbatim.
    response = await api.client.patch(
        f"{API}/vendors/me",
        json={"business_name": "Bob call 07700900123 bob@plumb.com"},
        headers=vendor.headers,
    )
    assert refused(response, "business_name"), response.text
    for disguised in (
        DISGUISED_PHONE,
        "bob{at}plumb{dot}com",
        "www.bobsplumbing.co.uk",
        "SW1A-1AA",
    ):
        response = await api.client.patch(
            f"{API}/vendors/me",
            json={"business_name": f"Bob's Plumbing {disguised}"},
            headers=vendor.headers,
        )
        assert refused(response, "business_name"), (disguised, response.text)
    assert (await vendor_profile(api, customer, vendor.user_id))[
        "business_name"
    ] == "Bob's Plumbing"

    for name in ("A1 Plumbing & Heating 24/7", "Smith & Sons (est. 1985)", "SW1A Electrical"):
        response = await api.client.patch(
            f"{API}/vendors/me", json={"business_name": name}, headers=vendor.headers
        )
        assert response.status_code == 200, (name, response.text)
        assert (await vendor_profile(api, customer, vendor.user_id))["business_name"] == name


async def test_registering_a_vendor_with_contact_details_in_its_name_is_refused(api: Api) -> None:
    response = await api.client.post(
        "/api/auth/register",
        json={
            "email": "bob-named@example.com",
            "password": "correct-horse-battery",
            "name": "Bob",
            "phone": PHONE,
            "postcode": postcode_in(new_area()),
            "role": "vendor",
            "business_name": f"Bob's Plumbing {DISGUISED_PHONE}",
            "trades": ["Plumbing"],
            "service_radius_miles": 5,
        },
    )
    assert refused(response, "business_name"), response.text


async def test_business_name_stored_before_the_rule_is_redacted_for_customers(
    api: Api, worker_db: Database
) -> None:
    vendor = await api.vendor(postcode=postcode_in(new_area()))
    customer = await api.customer()
    conn = await worker_db.connect()
    try:
        await conn.execute(
            "UPDATE vendor_profiles SET business_name = $1 WHERE user_id = $2",
            f"Bob ring {DISGUISED_PHONE}",
            vendor.user_id,
        )
    finally:
        await conn.close()
    profile = await vendor_profile(api, customer, vendor.user_id)
    assert profile["business_name"] == f"Bob ring {REDACTED}"


# ------------------------------------------------------------------------------------ quotes


async def test_quote_text_and_milestone_titles_with_contact_details_are_refused(api: Api) -> None:
    quoting = await quoting_job(api, vendors=1)
    vendor = quoting.vendors[0]
    base = {"job_id": quoting.job_id, "amount": 120}
    cases: list[tuple[dict[str, Any], tuple[str | int, ...]]] = [
        ({"description": f"Call {DISGUISED_PHONE} to discuss"}, ("description",)),
        ({"estimated_duration": "2 days, ring 07700\u2013900\u2013123"}, ("estimated_duration",)),
        (
            {"milestones": [{"title": "Deposit: bob{at}plumb{dot}com", "amount": 120}]},
            ("milestones", 0, "title"),
        ),
    ]
    for extra, loc in cases:
        response = await api.client.post(
            f"{API}/quotes", json={**base, **extra}, headers=vendor.headers
        )
        assert refused(response, *loc), (extra, response.text)

    sent = await api.client.post(
        f"{API}/quotes",
        json={**base, "description": "New washer, 15mm fittings, 2.5 hours on 12/03/2026"},
        headers=vendor.headers,
    )
    assert sent.status_code == 201, sent.text
    quote_id = sent.json()["quote_id"]
    response = await api.client.patch(
        f"{API}/quotes/{quote_id}",
        json={"description": "Or email bob\uff20plumb\uff0ecom"},
        headers=vendor.headers,
    )
    assert refused(response, "description"), response.text
    quote = await get(api, quoting.customer, f"/quotes/{quote_id}")
    assert quote["description"] == "New washer, 15mm fittings, 2.5 hours on 12/03/2026"


# ----------------------------------------------------------------------------------- reviews


async def test_review_feedback_with_disguised_contact_details_is_held(api: Api) -> None:
    job = await completed_job(api)
    response = await post_review(
        api, job.customer, job.job_id, feedback=f"Great work, call him on {DISGUISED_PHONE}"
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "held"
    assert await published_reviews(api, job.customer, job.winner.user_id) == []


async def test_review_response_and_reply_with_contact_details_are_refused(api: Api) -> None:
    job = await completed_job(api)
    posted = await post_review(api, job.customer, job.job_id)
    assert posted.status_code == 201, posted.text
    review_id = posted.json()["review_id"]

    response = await api.client.patch(
        f"{API}/reviews/{review_id}/respond",
        json={"response": "Thanks! Next time ring 07700\u00b7900\u00b7123"},
        headers=job.winner.headers,
    )
    assert refused(response, "response"), response.text
    response = await api.client.patch(
        f"{API}/reviews/{review_id}/respond",
        json={"response": "Thanks, glad the tap is fixed"},
        headers=job.winner.headers,
    )
    assert response.status_code == 200, response.text

    response = await api.client.patch(
        f"{API}/reviews/{review_id}/reply",
        json={"reply": "Email me: john{at}example{dot}com"},
        headers=job.customer.headers,
    )
    assert refused(response, "reply"), response.text

    [review] = await published_reviews(api, job.customer, job.winner.user_id)
    assert review["vendor_response"] == "Thanks, glad the tap is fixed"
    assert review["customer_reply"] is None


# ---------------------------------------------------------------------------------- disputes


async def test_dispute_reason_reaches_the_other_party_redacted(
    api: Api, worker_db: Database
) -> None:
    from tests.flows.users import create_admin

    job = await awarded_job(api, funded=False)
    reason = f"He stopped answering {DISGUISED_PHONE}, the tap still leaks"
    response = await raise_dispute(api, job.customer, job.job_id, reason)
    assert response.status_code == 201, response.text

    for viewer in (job.winner, job.customer):
        history = await get(api, viewer, f"/events/{job.job_id}")
        [raised] = [e for e in history["items"] if e["type"] == "DISPUTE_RAISED"]
        assert (
            raised["payload"]["reason"] == f"He stopped answering {REDACTED}, the tap still leaks"
        )
        assert not shows(history, DISGUISED_PHONE)

    admin = await create_admin(api, worker_db.async_url)
    answer = await api.client.get(
        "/api/admin/events", params={"job_id": job.job_id}, headers=admin.headers
    )
    assert answer.status_code == 200, answer.text
    log = answer.json()
    history = await get(api, admin, f"/events/{job.job_id}")
    for page in (log, history):
        [raised] = [e for e in page["items"] if e["type"] == "DISPUTE_RAISED"]
        assert raised["payload"]["reason"] == reason


# ---------------------------------------------------------------------------------- messages


async def test_messages_are_not_filtered_once_contact_is_unlocked(api: Api) -> None:
    world = await marketplace(api, vendors=1)
    vendor = world.vendors[0]
    accepted = await api.accept(vendor, world.leads[vendor.user_id])
    body = f"Best to ring me on {PHONE}"
    await send_message(api, world.customer, accepted["conversation_id"], body)
    listed = await get(api, vendor, f"/conversations/{accepted['conversation_id']}/messages")
    assert body in [m["body"] for m in listed["items"]]
