"""The authorization matrix: every route the app serves, for every kind of actor, as data.

``MATRIX`` is the whole access policy in one table. Each row names the exact status every actor
gets for a request that would succeed for the rightful actor:

- anonymous: 401 everywhere except sign-up, sign-in, the trade catalogue, an email's
  unsubscribe link (its signed token is the authority), the ops probes, the API docs and the
  dashboards' page and service worker;
- a role that may never do this: 403 ``FORBIDDEN`` (vendor on job routes, customer on leads,
  anyone but admin under ``/api/admin``);
- the right role, someone else's object: 404 ``NOT_FOUND``, byte for byte the answer for an id
  that does not exist.

A route the app serves that is missing from ``MATRIX`` fails ``test_every_route_is_in_the_matrix``,
so a new endpoint cannot ship without someone deciding who may call it.

Actors, around one customer's live job offered to two vendors (``tests.security.support``):
``owner`` (the job's customer), ``other_customer``, ``holder`` (the vendor whose lead the paths
name; it has accepted, so the conversation exists), ``rival`` (offered the same job, another
lead), ``outsider`` (a vendor with nothing to do with the job) and ``admin``.

The money routes use the world's second job, ``contract_job_id``: the owner awarded it to the
holder over the rival, who quoted too and lost, so there ``rival`` is the losing vendor.
"""

from __future__ import annotations

import base64
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import httpx
import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI
from starlette.routing import Route

from tests.flows.users import PASSWORD, Api, User
from tests.flows.world import ACTORS, JOB_PHOTO, World, build_world
from tradematch.core.security import issue_token
from tradematch.kit.ids import new_id
from tradematch.notifications import unsubscribe


class Row(NamedTuple):
    anonymous: int
    owner: int
    other_customer: int
    holder: int
    rival: int
    outsider: int
    admin: int


Body = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    expect: Row
    body: Body | None = None
    job: str = "job_id"  # the world's job a ``{job_id}`` names: "job_id" (live) or "draft_job_id"
    fresh: bool = False  # the rightful call changes state others rely on: a world of its own
    accepted: bool = True  # in a fresh world: has the holder accepted its lead yet?
    stages: tuple[str, ...] = ()  # in a fresh world: how far the money side goes (support.STAGES)
    files: Body | None = None  # a multipart/form-data body (files by field) instead of JSON
    form: str | None = None  # an application/x-www-form-urlencoded body instead of JSON
    query: Callable[[World, str], dict[str, str]] | None = None  # given the app's signing key


def _registration(world: World) -> dict[str, Any]:
    return {
        "email": f"newcomer-{uuid.uuid4().hex[:10]}@example.com",
        "password": PASSWORD,
        "name": "Newcomer",
        "phone": "07700900999",
        "postcode": world.user("owner").postcode,
        "role": "customer",
    }


def _login(world: World) -> dict[str, Any]:
    return {"email": world.user("owner").email, "password": PASSWORD}


def _new_job(world: World) -> dict[str, Any]:
    return {
        "title": "Hang a new interior door",
        "trade_category": "Carpentry",
        "budget_min": 80,
        "budget_max": 200,
        "timeframe": "flexible",
    }


def _edit(world: World) -> dict[str, Any]:
    return {"title": "Replace the bathroom extractor fan"}


def _empty(world: World) -> dict[str, Any]:
    return {}


def _decline(world: World) -> dict[str, Any]:
    return {"reason": "Too far for us this week"}


def _message(world: World) -> dict[str, Any]:
    return {"body": "Could you come round on Tuesday morning?"}


def _availability(world: World) -> dict[str, Any]:
    return {"accepting_leads": True}


def _unsubscribe(world: World, signing_key: str) -> dict[str, str]:
    """The link of an email to the owner (no sign-in needed: the signed token is the key)."""
    return {"token": unsubscribe.token(signing_key, world.user("owner").user_id, "reviews")}


def _channels(world: World) -> dict[str, Any]:
    return {"push": True}


def _push_subscription(world: World) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return {
        "endpoint": f"https://push.example.net/{uuid.uuid4().hex}",
        "keys": {
            "p256dh": base64.urlsafe_b64encode(point).rstrip(b"=").decode(),
            "auth": base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode(),
        },
    }


def _quote(world: World) -> dict[str, Any]:
    return {"job_id": world.params["job_id"], "amount": 120, "estimated_duration": "2 hours"}


def _quote_edit(world: World) -> dict[str, Any]:
    return {"description": "Includes a new washer"}


def _top_up(world: World) -> dict[str, Any]:
    return {"amount": 25}


def _payout(world: World) -> dict[str, Any]:
    return {"amount": 1}


def _evidence(world: World) -> dict[str, Any]:
    return {
        "completion_evidence": {
            "photos": ["https://example.com/valve.jpg"],
            "description": "New valve fitted",
        }
    }


def _upload(world: World) -> dict[str, Any]:
    return {"file": ("valve.png", JOB_PHOTO, "image/png")}


def _changes(world: World) -> dict[str, Any]:
    return {"reason": "The valve still drips"}


def _dispute(world: World) -> dict[str, Any]:
    return {"reason": "The work was not finished"}


def _review(world: World) -> dict[str, Any]:
    return {"job_id": world.params["contract_job_id"], "rating": 4, "recommend_yes_no": True}


def _response(world: World) -> dict[str, Any]:
    return {"response": "Thanks for the kind words"}


def _reply(world: World) -> dict[str, Any]:
    return {"reply": "You are welcome"}


def _resolve(world: World) -> dict[str, Any]:
    return {"resolution": "resume", "note": "Agreed to finish the work"}


def _moderate(world: World) -> dict[str, Any]:
    return {"decision": "approve"}


# Rows read: anonymous, owner, other_customer, holder, rival, outsider, admin.
PUBLIC = Row(200, 200, 200, 200, 200, 200, 200)
SIGNED_IN = Row(401, 200, 200, 200, 200, 200, 200)
ADMIN_ONLY = Row(401, 403, 403, 403, 403, 403, 200)
JOB_READ = Row(401, 200, 404, 403, 403, 403, 200)  # the owner's job; admin reads any
JOB_CHANGE = Row(401, 200, 404, 403, 403, 403, 403)  # only the owner changes it
LEAD_ACTION = Row(401, 403, 403, 200, 404, 404, 403)  # only the vendor holding the lead
OWNER_DECIDES = Row(401, 200, 404, 403, 403, 403, 403)  # the job's customer decides
HOLDER_ACTS = Row(401, 403, 403, 200, 404, 404, 403)  # the holder's own quote or milestone
CONTRACT_READ = Row(401, 200, 404, 200, 404, 404, 200)  # the two parties of the award, and admin
OWN_VENDOR = Row(401, 200, 200, 200, 404, 404, 200)  # the holder's profile: other vendors 404
CONTRACT = "contract_job_id"  # the job awarded to the holder (the rival lost it)

API = "/api/connection"

MATRIX: dict[tuple[str, str], Case] = {
    # accounts
    ("POST", "/api/auth/register"): Case(Row(201, 201, 201, 201, 201, 201, 201), _registration),
    ("POST", "/api/auth/login"): Case(PUBLIC, _login),
    ("GET", "/api/auth/me"): Case(SIGNED_IN),
    # jobs
    ("POST", f"{API}/jobs"): Case(Row(401, 201, 201, 403, 403, 403, 403), _new_job),
    ("GET", f"{API}/jobs"): Case(Row(401, 200, 200, 403, 403, 403, 200)),
    ("GET", f"{API}/jobs/{{job_id}}"): Case(JOB_READ),
    ("PATCH", f"{API}/jobs/{{job_id}}"): Case(JOB_CHANGE, _edit, job="draft_job_id"),
    ("PATCH", f"{API}/jobs/{{job_id}}/publish"): Case(
        JOB_CHANGE, _empty, job="draft_job_id", fresh=True
    ),
    ("PATCH", f"{API}/jobs/{{job_id}}/cancel"): Case(JOB_CHANGE, _empty, fresh=True),
    ("GET", f"{API}/jobs/{{job_id}}/vendors"): Case(JOB_READ),
    # leads
    ("GET", f"{API}/leads"): Case(Row(401, 403, 403, 200, 200, 200, 403)),
    ("GET", f"{API}/leads/{{lead_id}}"): Case(LEAD_ACTION),
    ("POST", f"{API}/leads/{{lead_id}}/accept"): Case(
        LEAD_ACTION, _empty, fresh=True, accepted=False
    ),
    ("POST", f"{API}/leads/{{lead_id}}/decline"): Case(
        LEAD_ACTION, _decline, fresh=True, accepted=False
    ),
    # messaging: the two participants; admin reads but never posts
    ("GET", f"{API}/conversations"): Case(SIGNED_IN),
    ("GET", f"{API}/conversations/{{conversation_id}}/messages"): Case(
        Row(401, 200, 404, 200, 404, 404, 200)
    ),
    ("POST", f"{API}/conversations/{{conversation_id}}/messages"): Case(
        Row(401, 201, 404, 201, 404, 404, 403), _message
    ),
    ("PATCH", f"{API}/conversations/{{conversation_id}}/mark-read"): Case(
        Row(401, 200, 404, 200, 404, 404, 403), _empty
    ),
    # vendors
    ("PATCH", f"{API}/vendors/me"): Case(Row(401, 403, 403, 200, 200, 200, 403), _availability),
    # a vendor sees nothing about competing vendors: only its own profile and reviews
    ("GET", f"{API}/vendors/{{vendor_id}}"): Case(OWN_VENDOR),
    ("GET", f"{API}/trades"): Case(PUBLIC),  # the catalogue, for the sign-up form
    # events: the rival holds a lead on the job too, so it sees that lead's part of the history
    ("GET", f"{API}/events"): Case(SIGNED_IN),
    ("GET", f"{API}/events/{{job_id}}"): Case(Row(401, 200, 404, 200, 200, 404, 200)),
    # notifications: everyone has their own; another's notification is not found
    ("GET", f"{API}/notifications"): Case(SIGNED_IN),
    ("PATCH", f"{API}/notifications/{{notification_id}}/read"): Case(
        Row(401, 200, 404, 404, 404, 404, 404), _empty
    ),
    ("GET", f"{API}/notifications/preferences"): Case(SIGNED_IN),
    ("PUT", f"{API}/notifications/preferences"): Case(SIGNED_IN, _channels),
    # an email's one-click unsubscribe link: public, the signed token names user and category
    ("GET", f"{API}/notifications/unsubscribe"): Case(PUBLIC, query=_unsubscribe),
    ("POST", f"{API}/notifications/unsubscribe"): Case(
        PUBLIC, form="List-Unsubscribe=One-Click", query=_unsubscribe
    ),
    ("POST", f"{API}/notifications/push-subscriptions"): Case(
        Row(401, 201, 201, 201, 201, 201, 201), _push_subscription
    ),
    # quotes: the holder quotes on the lead it accepted (the rival, only offered, may not yet);
    # the owner compares and decides; a vendor never sees another vendor's quote
    ("POST", f"{API}/quotes"): Case(Row(401, 403, 403, 201, 409, 404, 403), _quote, fresh=True),
    ("GET", f"{API}/quotes/{{quote_id}}"): Case(Row(401, 200, 404, 200, 404, 404, 200)),
    ("GET", f"{API}/quotes"): Case(Row(401, 403, 403, 200, 200, 200, 403)),  # a vendor's own
    ("PATCH", f"{API}/quotes/{{quote_id}}"): Case(HOLDER_ACTS, _quote_edit),
    ("PATCH", f"{API}/quotes/{{quote_id}}/withdraw"): Case(
        HOLDER_ACTS, _empty, fresh=True, stages=("quoted",)
    ),
    ("PATCH", f"{API}/quotes/{{quote_id}}/accept"): Case(
        OWNER_DECIDES, _empty, fresh=True, stages=("quoted",)
    ),
    ("PATCH", f"{API}/quotes/{{quote_id}}/reject"): Case(
        OWNER_DECIDES, _decline, fresh=True, stages=("quoted",)
    ),
    ("GET", f"{API}/jobs/{{job_id}}/quotes"): Case(JOB_READ),
    # escrow and wallets: the winning vendor reads the escrow but never moves money
    ("GET", f"{API}/jobs/{{job_id}}/escrow"): Case(CONTRACT_READ, job=CONTRACT),
    ("POST", f"{API}/jobs/{{job_id}}/escrow/fund"): Case(
        OWNER_DECIDES, _empty, job=CONTRACT, fresh=True, stages=("awarded",)
    ),
    ("GET", f"{API}/wallet"): Case(Row(401, 200, 200, 200, 200, 200, 403)),
    ("POST", f"{API}/wallet/top-up"): Case(Row(401, 200, 200, 403, 403, 403, 403), _top_up),
    # payouts: from one's own wallet only (the owner topped up, the holder was paid; the others
    # hold nothing, so theirs are 402); admins have no wallet
    ("POST", f"{API}/wallet/payouts"): Case(Row(401, 201, 402, 201, 402, 402, 403), _payout),
    ("GET", f"{API}/wallet/payouts"): Case(Row(401, 200, 200, 200, 200, 200, 403)),
    # milestones: the winner submits, the owner approves or asks for changes
    ("GET", f"{API}/jobs/{{job_id}}/milestones"): Case(CONTRACT_READ, job=CONTRACT),
    ("POST", f"{API}/milestones/{{milestone_id}}/submit"): Case(
        HOLDER_ACTS, _evidence, fresh=True, stages=("funded",)
    ),
    ("PATCH", f"{API}/milestones/{{milestone_id}}/approve"): Case(
        OWNER_DECIDES, _empty, fresh=True, stages=("submitted",)
    ),
    ("PATCH", f"{API}/milestones/{{milestone_id}}/request-changes"): Case(
        OWNER_DECIDES, _changes, fresh=True, stages=("submitted",)
    ),
    # disputes: either party of the award (each in a world of its own)
    ("POST", f"{API}/jobs/{{job_id}}/dispute"): Case(
        Row(401, 201, 404, 201, 404, 404, 403),
        _dispute,
        job=CONTRACT,
        fresh=True,
        stages=("funded",),
    ),
    # reviews: the owner reviews the completed job, the holder responds, the owner replies
    ("POST", f"{API}/reviews"): Case(
        Row(401, 201, 404, 403, 403, 403, 403), _review, fresh=True, stages=("completed",)
    ),
    ("PATCH", f"{API}/reviews/{{review_id}}/respond"): Case(
        HOLDER_ACTS, _response, fresh=True, stages=("reviewed",)
    ),
    ("PATCH", f"{API}/reviews/{{review_id}}/reply"): Case(
        OWNER_DECIDES, _reply, fresh=True, stages=("responded",)
    ),
    ("GET", f"{API}/vendors/{{vendor_id}}/reviews"): Case(OWN_VENDOR),
    ("GET", f"{API}/jobs/{{job_id}}/review"): Case(
        CONTRACT_READ, job=CONTRACT, fresh=True, stages=("reviewed",)
    ),
    # uploads: customers and vendors upload; a job's photo is seen by its customer, the vendors
    # holding a lead on the job (the holder accepted, the rival is offered) and admins
    ("POST", f"{API}/uploads"): Case(Row(401, 201, 201, 201, 201, 201, 403), files=_upload),
    ("GET", f"{API}/uploads/{{upload_id}}"): Case(Row(401, 200, 404, 200, 200, 404, 200)),
    ("GET", f"{API}/uploads/{{upload_id}}/thumbnail"): Case(Row(401, 200, 404, 200, 200, 404, 200)),
    # admin
    ("GET", "/api/admin/jobs/{job_id}"): Case(ADMIN_ONLY),
    ("GET", "/api/admin/leads/{lead_id}"): Case(ADMIN_ONLY),
    ("GET", "/api/admin/events"): Case(ADMIN_ONLY),
    ("GET", "/api/admin/denials"): Case(ADMIN_ONLY),
    ("GET", "/api/admin/quotes/{quote_id}"): Case(ADMIN_ONLY),
    ("GET", "/api/admin/jobs/{job_id}/escrow"): Case(ADMIN_ONLY, job=CONTRACT),
    ("GET", "/api/admin/disputes"): Case(ADMIN_ONLY),
    ("GET", "/api/admin/payouts"): Case(ADMIN_ONLY),
    ("PATCH", "/api/admin/disputes/{dispute_id}/resolve"): Case(
        ADMIN_ONLY, _resolve, fresh=True, stages=("disputed",)
    ),
    ("GET", "/api/admin/reviews/held"): Case(ADMIN_ONLY),
    ("GET", "/api/admin/jobs/{job_id}/chain"): Case(ADMIN_ONLY),
    ("GET", "/api/admin/notifications/dead"): Case(ADMIN_ONLY),
    ("PATCH", "/api/admin/reviews/{review_id}/moderate"): Case(
        ADMIN_ONLY, _moderate, fresh=True, stages=("held_review",)
    ),
    # ops and docs
    ("GET", "/healthz"): Case(PUBLIC),
    ("GET", "/readyz"): Case(PUBLIC),
    ("GET", "/metrics"): Case(PUBLIC),
    ("GET", "/openapi.json"): Case(PUBLIC),
    ("GET", "/docs"): Case(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Case(PUBLIC),
    ("GET", "/redoc"): Case(PUBLIC),
    # the dashboards (their scripts and styles are static files under /static and /js)
    ("GET", "/"): Case(PUBLIC),
    ("GET", "/sw.js"): Case(PUBLIC),
}

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
DENIAL_CODES = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND"}
ID_PREFIXES = {
    "job_id": "job",
    "lead_id": "lead",
    "conversation_id": "conv",
    "vendor_id": "usr",
    "notification_id": "ntf",
    "quote_id": "quote",
    "milestone_id": "ms",
    "review_id": "rev",
    "dispute_id": "dsp",
    "upload_id": "upl",
}
# Every parameter of the shared world: a quote, an award with a milestone, a review, a dispute.
SHARED_STAGES = ("quoted", "funded", "reviewed", "disputed")


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path template) of the OpenAPI document, plus the routes it leaves out
    (the docs pages themselves)."""
    routes = {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method.upper() in HTTP_METHODS
    }
    for route in app.routes:
        if isinstance(route, Route) and not route.include_in_schema:
            routes |= {(method, route.path) for method in route.methods or () if method != "HEAD"}
    return routes


def placeholders(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def fill(template: str, world: World, case: Case, *, ghost: bool = False) -> str:
    """The template with the world's ids, or (``ghost``) with well-formed ids of nothing."""
    values = {**world.params, "job_id": world.params[case.job]}
    for name in placeholders(template):
        if ghost:
            values[name] = new_id(ID_PREFIXES[name])
    return template.format(**values)


async def send(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    case: Case,
    world: World,
    headers: dict[str, str],
    signing_key: str = "",
) -> httpx.Response:
    params = case.query(world, signing_key) if case.query is not None else None
    if case.files is not None:
        return await client.request(
            method, path, files=case.files(world), headers=headers, params=params
        )
    if case.form is not None:
        form_headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
        return await client.request(
            method, path, content=case.form, headers=form_headers, params=params
        )
    body = case.body(world) if case.body is not None else None
    return await client.request(method, path, json=body, headers=headers, params=params)


def error_shape_problems(response: httpx.Response) -> list[str]:
    if response.status_code < 400:
        return []
    try:
        body = response.json()
    except ValueError:
        return [f"error body is not JSON: {response.text[:200]!r}"]
    problems = []
    if not (
        isinstance(body, dict)
        and isinstance(body.get("error"), str)
        and isinstance(body.get("code"), str)
    ):
        problems.append(f"error body lacks {{error: str, code: str}}: {body!r}")
    wanted = DENIAL_CODES.get(response.status_code)
    if wanted is not None and isinstance(body, dict) and body.get("code") != wanted:
        problems.append(f"code {body.get('code')!r}, expected {wanted!r}")
    return problems


@pytest_asyncio.fixture(scope="module")
async def shared_world(module_api: Api, admin: User) -> World:
    """One world for every route whose rightful call leaves it usable for the others."""
    return await build_world(module_api, admin, accepted=True, stages=SHARED_STAGES)


def test_every_route_is_in_the_matrix(app: FastAPI) -> None:
    served = served_routes(app)
    missing = sorted(served - MATRIX.keys())
    assert not missing, f"routes with no authorization expectations in MATRIX: {missing}"
    stale = sorted(MATRIX.keys() - served)
    assert not stale, f"MATRIX rows for routes the app does not serve: {stale}"


def test_the_matrix_covers_the_seed_and_ops_routes(app: FastAPI) -> None:
    # Guards the generator itself: if route discovery broke, the coverage test would pass vacuously.
    served = served_routes(app)
    for route in [
        ("POST", f"{API}/jobs"),
        ("PATCH", f"{API}/jobs/{{job_id}}/cancel"),
        ("POST", f"{API}/leads/{{lead_id}}/accept"),
        ("GET", f"{API}/events/{{job_id}}"),
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/docs"),
    ]:
        assert route in served, route


@pytest.mark.parametrize(
    ("method", "template"), sorted(MATRIX), ids=[f"{m} {p}" for m, p in sorted(MATRIX)]
)
async def test_route_boundaries(
    method: str,
    template: str,
    app: FastAPI,
    api: Api,
    admin: User,
    shared_world: World,
    module_api: Api,
) -> None:
    case = MATRIX[(method, template)]
    key = app.state.signing_key
    if case.fresh:
        world = await build_world(api, admin, accepted=case.accepted, stages=case.stages)
        client = api.client
    else:
        world, client = shared_world, module_api.client
    path = fill(template, world, case)
    # Denied actors go first: their requests must change nothing, which the rightful actor's
    # exact success at the end then shows.
    actors = sorted(ACTORS, key=lambda actor: 200 <= getattr(case.expect, actor) < 300)
    failures: list[str] = []
    succeeded = False
    for actor in actors:
        expected = getattr(case.expect, actor)
        if case.fresh and succeeded and 200 <= expected < 300:
            # A second rightful actor (either party raises a dispute): a world of its own.
            world = await build_world(api, admin, accepted=case.accepted, stages=case.stages)
            path = fill(template, world, case)
        succeeded = succeeded or 200 <= expected < 300
        response = await send(client, method, path, case, world, world.headers(actor), key)
        if response.status_code != expected:
            failures.append(
                f"{actor}: {response.status_code} (expected {expected}) {response.text[:300]}"
            )
            continue
        failures.extend(f"{actor}: {problem}" for problem in error_shape_problems(response))
        if expected == 404:
            # Someone else's object answers exactly like an object that does not exist.
            ghost = await send(
                client,
                method,
                fill(template, world, case, ghost=True),
                case,
                world,
                world.headers(actor),
                key,
            )
            if ghost.status_code != 404 or ghost.json() != response.json():
                failures.append(
                    f"{actor}: foreign id answers {response.text},"
                    f" a missing id {ghost.status_code} {ghost.text}"
                )
    assert not failures, f"{method} {template}:\n" + "\n".join(failures)


async def test_bad_tokens(app: FastAPI, shared_world: World, module_api: Api) -> None:
    """A bad token is 401 wherever anonymous is; where anonymous is welcome (sign-up, sign-in,
    ops, docs) a stale token left in a client's headers changes nothing."""
    key = app.state.signing_key
    owner = shared_world.user("owner")
    tokens = {
        "garbage": "not-a-jwt",
        "expired": issue_token(key, owner.user_id, "customer", -60),
        "unknown user": issue_token(key, new_id("usr"), "customer", 600),
        "foreign key": issue_token(
            "another-signing-key-that-is-long-enough!", owner.user_id, "customer", 600
        ),
        "unsigned": jwt.encode(
            {"sub": owner.user_id, "role": "admin", "exp": 2**31}, "", algorithm="none"
        ),
    }
    failures: list[str] = []
    protected = [route for route, case in MATRIX.items() if case.expect.anonymous == 401]
    assert len(protected) > 15
    for (method, template), case in sorted(MATRIX.items()):
        path = fill(template, shared_world, case)
        for label, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}"}
            response = await send(module_api.client, method, path, case, shared_world, headers, key)
            if response.status_code != case.expect.anonymous:
                failures.append(
                    f"{method} {template} with {label} token: {response.status_code}"
                    f" (expected {case.expect.anonymous}) {response.text[:200]}"
                )
            failures.extend(f"{method} {template}: {p}" for p in error_shape_problems(response))
    assert not failures, "\n".join(failures)
