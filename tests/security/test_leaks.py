"""Leak tests: one marketplace flow, every response recorded, then searched as JSON text.

The flow: a customer posts a job whose title and description carry their own phone, email and
postcode; it is offered to two of three vendors in the area (``max_open_leads`` is 2 here); the
second declines, so the third is offered a lead; the first accepts, the two sides message each
other; the customer cancels. Every customer- and vendor-facing response along the way is kept
with a note of which vendors had accepted at that moment, and the tests below search them:

(a) no vendor sees the customer's name, email, phone, postcode or id before it accepted, not even
    typed into the job's text (shown as "[redacted]"); after accepting it does;
(b) no customer or vendor response carries a lead price, by key or by value;
(c) no vendor sees another vendor's id or name, or how many vendors were offered the job;
(d) the customer sees a vendor's contact details only once that vendor accepted;
(e) admin alone sees lead prices;
(f) the job's photo, named with the customer's phone and email and carrying their name, phone
    and GPS position in its EXIF, reaches vendors with the name redacted and the file stripped.

The lead price is configured to an amount no other number in the flow can equal.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI

from tests.flows.database import Database
from tests.flows.files import jpeg_with_gps, read_image
from tests.flows.users import Api, User, create_admin, new_area, postcode_in
from tests.flows.world import as_text, keys_of, walk
from tradematch.app import create_app
from tradematch.core.config import Settings
from tradematch.kit.money import pence_to_pounds

PLUMBING_BASE_PENCE = 9_876_543
PRICE_PENCE = PLUMBING_BASE_PENCE * 150 // 100  # urgent: 150 %
PRICE_POUNDS = 148_148.14
PRICE_KEYS = frozenset({"price", "price_pence", "lead_price", "lead_price_pence"})
API = "/api/connection"


@dataclass
class Seen:
    viewer: User
    request: str
    body: Any
    accepted: frozenset[str]  # vendors (user ids) whose lead was accepted when this was answered


@dataclass
class Fetched:
    viewer: User
    url: str
    status: int
    content: bytes
    headers: dict[str, str]
    accepted: frozenset[str]


@dataclass
class Flow:
    customer: User
    holder: User  # offered, accepts
    rival: User  # offered, declines
    late: User  # offered when the rival declines, never accepts
    admin: User
    job_id: str
    leads: dict[str, str]  # vendor user id → lead id
    seen: list[Seen] = field(default_factory=list)
    accepted: set[str] = field(default_factory=set)
    admin_seen: list[Seen] = field(default_factory=list)
    previews: dict[str, Any] = field(default_factory=dict)  # vendor user id → GET /leads/{id}
    detail: Any = None  # the holder's GET /leads/{id} after accepting
    engaged_before: Any = None  # the customer's GET /jobs/{id}/vendors before anyone accepted
    engaged_after: Any = None  # … and after the holder accepted
    photo_fetches: list[Fetched] = field(default_factory=list)  # vendors' GETs of job photos

    @property
    def vendors(self) -> list[User]:
        return [self.holder, self.rival, self.late]

    def by(self, user: User) -> list[Seen]:
        return [s for s in self.seen if s.viewer.user_id == user.user_id]


class Recorder:
    def __init__(self, client: httpx.AsyncClient, flow: Flow) -> None:
        self.client = client
        self.flow = flow

    async def __call__(
        self,
        viewer: User,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        expect: int = 200,
    ) -> Any:
        response = await self.client.request(method, path, json=json, headers=viewer.headers)
        assert response.status_code == expect, (viewer.role, method, path, response.text)
        body = response.json()
        seen = Seen(viewer, f"{method} {path}", body, frozenset(self.flow.accepted))
        (self.flow.admin_seen if viewer.role == "admin" else self.flow.seen).append(seen)
        return body


async def vendor_looks_around(record: Recorder, vendor: User) -> None:
    flow = record.flow
    await record(vendor, "GET", f"{API}/leads")
    await record(vendor, "GET", f"{API}/events")
    await record(vendor, "GET", f"{API}/events/{flow.job_id}")
    await record(vendor, "GET", f"{API}/conversations")
    await record(vendor, "GET", "/api/auth/me")
    if vendor.user_id in flow.leads:
        lead = await record(vendor, "GET", f"{API}/leads/{flow.leads[vendor.user_id]}")
        if vendor.user_id not in flow.accepted:
            flow.previews[vendor.user_id] = lead
        for photo in lead["photo_uploads"]:
            for url in (photo["url"], photo["thumbnail_url"]):
                response = await record.client.get(url)  # as an <img src>: no token
                flow.photo_fetches.append(
                    Fetched(
                        vendor,
                        url,
                        response.status_code,
                        response.content,
                        dict(response.headers),
                        frozenset(flow.accepted),
                    )
                )


async def customer_looks_around(record: Recorder, customer: User) -> Any:
    flow = record.flow
    await record(customer, "GET", f"{API}/jobs")
    await record(customer, "GET", f"{API}/jobs/{flow.job_id}")
    await record(customer, "GET", f"{API}/events")
    await record(customer, "GET", f"{API}/events/{flow.job_id}")
    await record(customer, "GET", f"{API}/conversations")
    await record(customer, "GET", "/api/auth/me")
    for vendor in flow.vendors:
        await record(customer, "GET", f"{API}/vendors/{vendor.user_id}")
    return await record(customer, "GET", f"{API}/jobs/{flow.job_id}/vendors")


def title_for(customer: User) -> str:
    return f"Kitchen tap leaking - ring {customer.phone[:5]} {customer.phone[5:]} after 6"


def description_for(customer: User) -> str:
    return (
        f"Email {customer.email}, mobile +44 {customer.phone[1:5]} {customer.phone[5:]}. "
        f"I am at {customer.postcode}, side door."
    )


@pytest_asyncio.fixture(scope="module")
async def flow(settings: Settings, worker_db: Database) -> AsyncIterator[Flow]:
    priced = settings.model_copy(
        update={"lead_base_price_pence": {"Plumbing": PLUMBING_BASE_PENCE}, "max_open_leads": 2}
    )
    app: FastAPI = create_app(priced, database_url=worker_db.async_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=30
        ) as client:
            yield await run_flow(Api(client), worker_db)


async def run_flow(api: Api, db: Database) -> Flow:
    area = new_area()
    phone = f"077009{uuid.uuid4().int % 100_000:05d}"
    customer = await api.customer(postcode=postcode_in(area, "2BB"), phone=phone)
    # Registered in this order, at the same distance: holder and rival are offered the job first.
    holder, rival, late = [
        await api.vendor(postcode=postcode_in(area, f"{i}CC"), radius=3) for i in range(3)
    ]
    admin = await create_admin(api, db.async_url)
    flow = Flow(customer, holder, rival, late, admin, job_id="", leads={})
    record = Recorder(api.client, flow)
    photo = await api.upload(
        customer,
        jpeg_with_gps(artist=f"{customer.name} {customer.phone} {customer.email}"),
        photo_name_for(customer),
    )

    job = await record(
        customer,
        "POST",
        f"{API}/jobs",
        json={
            "title": title_for(customer),
            "description": description_for(customer),
            "trade_category": "Plumbing",
            "budget_min": 60,
            "budget_max": 240,
            "timeframe": "urgent",
            "photo_upload_ids": [photo["upload_id"]],
        },
        expect=201,
    )
    flow.job_id = job["job_id"]
    published = await record(customer, "PATCH", f"{API}/jobs/{flow.job_id}/publish", json={})
    assert published["leads_assigned"] == 2, published
    for vendor in (holder, rival):
        flow.leads[vendor.user_id] = (await api.lead_for(vendor, flow.job_id))["lead_id"]
    assert not [lead for lead in await api.leads(late) if lead["job_id"] == flow.job_id]

    flow.engaged_before = await customer_looks_around(record, customer)
    for vendor in (holder, rival):
        await vendor_looks_around(record, vendor)

    # The rival declines; the job is topped up to two open leads by offering the late vendor.
    await record(
        rival,
        "POST",
        f"{API}/leads/{flow.leads[rival.user_id]}/decline",
        json={"reason": "Too busy"},
    )
    flow.leads[late.user_id] = (await api.lead_for(late, flow.job_id))["lead_id"]
    for vendor in flow.vendors:
        await vendor_looks_around(record, vendor)

    # The holder accepts: contact details unlock for it alone.
    flow.accepted.add(holder.user_id)
    accepted = await record(
        holder, "POST", f"{API}/leads/{flow.leads[holder.user_id]}/accept", json={}
    )
    conversation = accepted["conversation_id"]
    flow.detail = await record(holder, "GET", f"{API}/leads/{flow.leads[holder.user_id]}")
    for vendor in flow.vendors:
        await vendor_looks_around(record, vendor)

    await record(
        customer,
        "POST",
        f"{API}/conversations/{conversation}/messages",
        json={"body": "When can you come?"},
        expect=201,
    )
    await record(
        holder,
        "POST",
        f"{API}/conversations/{conversation}/messages",
        json={"body": "Tomorrow at 9."},
        expect=201,
    )
    for user in (customer, holder):
        await record(user, "GET", f"{API}/conversations/{conversation}/messages")
        await record(user, "PATCH", f"{API}/conversations/{conversation}/mark-read", json={})
    flow.engaged_after = await customer_looks_around(record, customer)

    for lead_id in flow.leads.values():
        await record(admin, "GET", f"/api/admin/leads/{lead_id}")
    await record(admin, "GET", f"/api/admin/jobs/{flow.job_id}")
    await record(admin, "GET", f"/api/admin/events?job_id={flow.job_id}")

    # The customer cancels: every open lead closes with "This job is no longer available".
    await record(customer, "PATCH", f"{API}/jobs/{flow.job_id}/cancel", json={})
    await customer_looks_around(record, customer)
    for vendor in flow.vendors:
        await vendor_looks_around(record, vendor)
    return flow


def photo_name_for(customer: User) -> str:
    return f"tap {customer.phone} {customer.email}.jpg"


def phone_forms(phone: str) -> set[str]:
    """The number as digits and as typed with a space, without the trunk or country prefix."""
    national = phone[-10:]
    return {national, f"{national[:4]} {national[4:]}"}


def customer_traces(customer: User) -> dict[str, str]:
    compact = customer.postcode.replace(" ", "")
    traces = {
        "name": customer.name,
        "email": customer.email,
        "postcode": customer.postcode,
        "postcode (compact)": compact,
        "customer id": customer.user_id,
    }
    traces.update({f"phone {form!r}": form for form in phone_forms(customer.phone)})
    return traces


def vendor_contact(vendor: User) -> dict[str, str]:
    traces = {"name": vendor.name, "email": vendor.email}
    traces.update({f"phone {form!r}": form for form in phone_forms(vendor.phone)})
    return traces


def found(traces: dict[str, str], body: Any) -> list[str]:
    text = as_text(body).lower()
    return [label for label, value in traces.items() if value.lower() in text]


# (a) ------------------------------------------------------------------------------------------


def test_vendors_see_no_customer_details_before_accepting(flow: Flow) -> None:
    traces = customer_traces(flow.customer)
    sealed = [s for v in flow.vendors for s in flow.by(v) if v.user_id not in s.accepted]
    requests = {s.request.split("?")[0].replace(flow.job_id, "{job_id}") for s in sealed}
    # Every vendor-facing read, and a decline, was made while sealed (no vacuous pass).
    assert {
        f"GET {API}/leads",
        f"GET {API}/events",
        f"GET {API}/events/{{job_id}}",
        f"GET {API}/conversations",
    } <= requests
    assert any(r.endswith("/decline") for r in requests)
    leaks = [
        (s.viewer.user_id, s.request, found(traces, s.body))
        for s in sealed
        if found(traces, s.body)
    ]
    assert not leaks, leaks
    # Before acceptance there is no conversation to see.
    inboxes = [s.body for s in sealed if s.request == f"GET {API}/conversations"]
    assert inboxes and all(inbox == {"items": []} for inbox in inboxes)


def test_contact_details_typed_into_the_job_are_redacted_in_previews(flow: Flow) -> None:
    outcode = flow.customer.postcode.split()[0]
    assert set(flow.previews) == {v.user_id for v in flow.vendors}
    for vendor_id, preview in flow.previews.items():
        assert preview["lead_id"] == flow.leads[vendor_id]
        assert preview["contact_unlocked"] is False
        assert preview["title"] == "Kitchen tap leaking - ring [redacted] after 6"
        assert (
            preview["description"]
            == "Email [redacted], mobile [redacted]. I am at [redacted], side door."
        )
        assert preview["outcode"] == outcode
        assert (
            not {"customer", "postcode", "customer_id", "name", "email", "phone"} & preview.keys()
        )
    # The same redaction in the lead list.
    listed = [
        item
        for s in flow.seen
        if s.request == f"GET {API}/leads" and s.viewer.user_id not in s.accepted
        for item in s.body["items"]
        if item["job_id"] == flow.job_id
    ]
    assert listed and all(
        item["title"] == "Kitchen tap leaking - ring [redacted] after 6" for item in listed
    )


def test_accepting_unlocks_the_customer_for_that_vendor(flow: Flow) -> None:
    detail = flow.detail
    assert detail["contact_unlocked"] is True
    assert detail["customer"] == {
        "name": flow.customer.name,
        "phone": flow.customer.phone,
        "email": flow.customer.email,
        "postcode": flow.customer.postcode,
    }
    assert detail["postcode"] == flow.customer.postcode
    assert detail["title"] == title_for(flow.customer)
    assert detail["description"] == description_for(flow.customer)
    # The late vendor, still only offered, keeps seeing the preview after the holder accepted.
    late_after = [
        s.body
        for s in flow.by(flow.late)
        if s.request == f"GET {API}/leads/{flow.leads[flow.late.user_id]}"
        and flow.holder.user_id in s.accepted
    ]
    assert late_after and all(body["contact_unlocked"] is False for body in late_after)
    assert not any(found(customer_traces(flow.customer), body) for body in late_after)


# (b) and (e) ------------------------------------------------------------------------------------


def test_only_admin_sees_lead_prices(flow: Flow) -> None:
    admin_leads = [s.body for s in flow.admin_seen if s.request.startswith("GET /api/admin/leads/")]
    assert len(admin_leads) == 3
    assert {lead["price"] for lead in admin_leads} == {PRICE_POUNDS}
    admin_job = next(
        s.body for s in flow.admin_seen if s.request.startswith("GET /api/admin/jobs/")
    )
    assert sorted(lead["price"] for lead in admin_job["leads"]) == [PRICE_POUNDS] * 3
    offered = [
        e
        for s in flow.admin_seen
        if s.request.startswith("GET /api/admin/events")
        for e in s.body["items"]
        if e["type"] == "LEAD_OFFERED"
    ]
    assert len(offered) == 3 and all(
        e["payload"]["admin"]["price"] == pence_to_pounds(PRICE_PENCE) for e in offered
    )


def test_no_customer_or_vendor_response_carries_a_lead_price(flow: Flow) -> None:
    assert len(flow.seen) > 60
    assert {s.viewer.role for s in flow.seen} == {"customer", "vendor"}
    problems: list[tuple[Any, ...]] = []
    for s in flow.seen:
        if keys := keys_of(s.body) & PRICE_KEYS:
            problems.append((s.request, "key", sorted(keys)))
        for path, value in walk(s.body):
            if (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and value in (PRICE_PENCE, PRICE_POUNDS)
            ):
                problems.append((s.request, "value", path))
        text = as_text(s.body)
        if str(PRICE_PENCE) in text or str(PRICE_POUNDS) in text:
            problems.append((s.request, "text", str(PRICE_POUNDS)))
        if "admin" in keys_of(s.body):
            problems.append((s.request, "key", ["admin"]))
    assert not problems, problems


async def test_price_routes_are_admin_only(flow: Flow, client: httpx.AsyncClient) -> None:
    lead_id = flow.leads[flow.holder.user_id]
    for user in (flow.customer, flow.holder):
        for path in (f"/api/admin/leads/{lead_id}", f"/api/admin/jobs/{flow.job_id}"):
            response = await client.get(path, headers=user.headers)
            assert response.status_code == 403, (user.role, path, response.text)
            assert response.json() == {"error": "Your role may not do this", "code": "FORBIDDEN"}


# (c) ------------------------------------------------------------------------------------------


def test_vendors_see_nothing_of_competitors(flow: Flow) -> None:
    problems: list[tuple[Any, ...]] = []
    for vendor in flow.vendors:
        responses = flow.by(vendor)
        assert len(responses) >= 10
        others = [v for v in flow.vendors if v.user_id != vendor.user_id]
        traces = {}
        for other in others:
            traces[f"id of {other.user_id}"] = other.user_id
            traces[f"business of {other.user_id}"] = other.body["vendor_profile"]["business_name"]
            traces.update({f"{k} of {other.user_id}": v for k, v in vendor_contact(other).items()})
        for s in responses:
            if leaked := found(traces, s.body):
                problems.append((vendor.user_id, s.request, leaked))
            if counts := keys_of(s.body) & {
                "leads_assigned",
                "open_leads",
                "vendor_count",
                "leads",
            }:
                problems.append((vendor.user_id, s.request, sorted(counts)))
            for event in (
                s.body.get("items", []) if s.request.startswith(f"GET {API}/events") else []
            ):
                # An event done by a vendor other than me tells me a competitor exists.
                if event["actor_role"] == "vendor" and event["actor_id"] != vendor.user_id:
                    problems.append(
                        (vendor.user_id, s.request, event["type"], "another vendor acted")
                    )
    assert not problems, problems


def test_late_vendor_learns_nothing_of_the_decline(flow: Flow) -> None:
    events = [
        e
        for s in flow.by(flow.late)
        if s.request == f"GET {API}/events/{flow.job_id}"
        for e in s.body["items"]
    ]
    offered = [e for e in events if e["type"] == "LEAD_OFFERED"]
    assert len(offered) >= 1
    assert {e["payload"]["lead_id"] for e in offered} == {flow.leads[flow.late.user_id]}
    assert not [e for e in events if e["type"] == "LEAD_DECLINED"]


# (d) ------------------------------------------------------------------------------------------


def test_customer_sees_vendor_contact_only_after_acceptance(flow: Flow) -> None:
    assert flow.engaged_before == {"items": []}
    engaged = flow.engaged_after["items"]
    assert [v["vendor_id"] for v in engaged] == [flow.holder.user_id]
    assert engaged[0]["contact"] == {
        "name": flow.holder.name,
        "phone": flow.holder.phone,
        "email": flow.holder.email,
    }
    customer_seen = flow.by(flow.customer)
    assert len(customer_seen) >= 30
    problems: list[tuple[Any, ...]] = []
    for s in customer_seen:
        for vendor in flow.vendors:
            if vendor.user_id in s.accepted:
                continue
            if leaked := found(vendor_contact(vendor), s.body):
                problems.append((vendor.user_id, s.request, leaked))
    assert not problems, problems
    # Public profiles never carry contact details, accepted or not.
    profiles = [s.body for s in customer_seen if s.request.startswith(f"GET {API}/vendors/")]
    assert len(profiles) == 3 * len(flow.vendors)
    assert all(not {"phone", "email", "contact", "postcode", "name"} & p.keys() for p in profiles)


# (f) ------------------------------------------------------------------------------------------


def test_job_photos_reach_vendors_stripped_and_with_redacted_names(flow: Flow) -> None:
    traces = customer_traces(flow.customer)
    shown = [
        (s.viewer.user_id, photo)
        for s in flow.seen
        if s.viewer.role == "vendor" and s.request.startswith(f"GET {API}/leads")
        for lead in s.body.get("items", [s.body])
        for photo in lead["photo_uploads"]
    ]
    assert {vendor_id for vendor_id, _ in shown} == {v.user_id for v in flow.vendors}
    assert all(photo["filename"] == "tap [redacted] [redacted].jpg" for _, photo in shown)
    # Once the job is cancelled every lead is closed: the previews show no photo any more.
    for vendor in flow.vendors:
        last = [s.body for s in flow.by(vendor) if s.request.startswith(f"GET {API}/leads/")][-1]
        assert last["status"] in ("closed", "declined") and last["photo_uploads"] == []
    sealed = [f for f in flow.photo_fetches if f.viewer.user_id not in f.accepted]
    # Every vendor fetched the photo and its thumbnail while sealed, through the signed links.
    assert {f.viewer.user_id for f in sealed} == {v.user_id for v in flow.vendors}
    assert all(f.status == 200 for f in sealed if f.accepted == frozenset())
    for fetched in flow.photo_fetches:
        if fetched.status != 200:
            continue
        image = read_image(fetched.content)
        assert not image.getexif() and "exif" not in image.info, fetched.url
        text = fetched.content.decode("latin-1").lower()
        leaked = [label for label, value in traces.items() if value.lower() in text]
        assert not leaked, (fetched.url, leaked)
        disposition = fetched.headers["content-disposition"].lower()
        assert not [label for label, value in traces.items() if value.lower() in disposition]
    # Vendors out of the job (declined, or closed by the cancellation) lose the photo.
    declined = [f for f in flow.photo_fetches if f.viewer.user_id == flow.rival.user_id]
    assert declined and all(f.accepted == frozenset() for f in declined)
