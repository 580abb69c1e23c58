"""Every service function, called directly (not over HTTP, so no endpoint dependency helps),
refuses every wrong actor: 404 for rows outside the actor's scope, 403 for a role that may never
do it, or nothing found.

The functions are found by introspection: every public coroutine of a domain module (or the
event log's) that takes ``actor``. A function without a case in ``CASES`` fails
``test_every_service_function_has_a_case``, so a new one cannot ship without someone deciding
who must be refused. (Functions that act on rows their caller has already locked in scope take
``by``, whom the events name, and no ids: they authorize nobody and are not listed.)

The world is the security tests' (``support.build_world``): ``owner``'s live job offered to
``holder`` (who accepted and quoted) and ``rival``; a contract job awarded to ``holder``
(funded, with a milestone); a reviewed job and a disputed one; ``other_customer``, ``outsider``
and ``admin`` around them. Each call runs in a session of its own that is rolled back.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.architecture.test_layers import DOMAIN, LOG, layer, modules
from tests.flows.users import Api, User
from tests.flows.world import JOB_PHOTO, World, build_world
from tradematch.authz.actor import SYSTEM, Actor
from tradematch.authz.roles import Role
from tradematch.authz.scopes import jobs_owned_by
from tradematch.core.config import Settings
from tradematch.core.errors import AppError
from tradematch.disputes.schemas import ResolveDispute
from tradematch.jobs import service as jobs
from tradematch.jobs.models import Job
from tradematch.jobs.schemas import JobCreate, JobUpdate
from tradematch.messaging.schemas import MarkRead, SendMessage
from tradematch.milestones.schemas import Evidence
from tradematch.quotes.schemas import QuoteCreate, QuoteUpdate
from tradematch.reviews.schemas import ReviewCreate
from tradematch.uploads.deps import runtime_of
from tradematch.uploads.multipart import ReceivedFile
from tradematch.uploads.service import Uploads
from tradematch.vendors.schemas import VendorProfileUpdate

CUSTOMERS = ("owner", "other_customer")
VENDORS = ("holder", "rival", "outsider")
NOT_CUSTOMERS = (*VENDORS, "admin")
NOT_VENDORS = (*CUSTOMERS, "admin")
NOT_ADMIN = (*CUSTOMERS, *VENDORS)


@dataclass
class Context:
    session: AsyncSession
    settings: Settings
    world: World
    uploads: Uploads

    def __getitem__(self, param: str) -> str:
        return self.world.params[param]

    async def job(self, param: str) -> Job:
        job = await jobs.find(self.session, jobs_owned_by(SYSTEM), self[param])
        assert job is not None
        return job


Call = Callable[[Context, Actor], Awaitable[Any]]


@dataclass(frozen=True)
class Case:
    """``wrong``: the actors the function must refuse; ``call``: how to call it."""

    wrong: tuple[str, ...]
    call: Call


@dataclass(frozen=True)
class Own:
    """The function reads or changes only the actor's own rows: nobody is wrong."""

    why: str


def job_create() -> JobCreate:
    return JobCreate.model_validate(
        {
            "title": "Fix the gate",
            "trade_category": "Plumbing",
            "budget_min": 50,
            "budget_max": 150,
            "timeframe": "urgent",
        }
    )


CASES: dict[str, Case | Own] = {
    # accounts and vendors
    "accounts.service.account": Own("the actor's own account"),
    "accounts.service.me": Own("the actor's own account"),
    "vendors.service.own_profile": Own("the actor's own vendor profile (None for others)"),
    # customers and admins see any active vendor's card; a vendor only its own
    "vendors.service.public_profile": Case(
        ("rival", "outsider"),
        lambda c, a: vendors_service().public_profile(c.session, a, c["vendor_id"]),
    ),
    "vendors.service.reviews_readable": Own("answers only whether the actor may read them"),
    "vendors.service.update_own_profile": Case(
        NOT_VENDORS,
        lambda c, a: vendors_service().update_own_profile(
            c.session, a, VendorProfileUpdate.model_validate({"accepting_leads": True})
        ),
    ),
    # jobs
    "jobs.service.create": Case(
        NOT_CUSTOMERS, lambda c, a: jobs.create(c.session, a, job_create())
    ),
    "jobs.service.update_draft": Case(
        ("other_customer", *NOT_CUSTOMERS),
        lambda c, a: jobs.update_draft(
            c.session, a, c["draft_job_id"], JobUpdate.model_validate({"title": "Changed"})
        ),
    ),
    "jobs.service.get": Case(
        ("other_customer", *VENDORS),
        lambda c, a: jobs.get(c.session, a, c.uploads.links, c["job_id"]),
    ),
    "jobs.service.get_for_admin": Case(
        NOT_ADMIN, lambda c, a: jobs.get_for_admin(c.session, a, c.uploads.links, c["job_id"])
    ),
    "jobs.service.list_mine": Case(
        VENDORS,
        lambda c, a: jobs.list_mine(
            c.session, a, c.uploads.links, limit=20, cursor=None, status=None
        ),
    ),
    "jobs.service.lock_of_own_lead": Case(
        ("rival", "outsider", *NOT_VENDORS),
        lambda c, a: module("jobs.service").lock_of_own_lead(c.session, a, c["lead_id"]),
    ),
    "jobs.lifecycle.publish": Case(
        ("other_customer", *NOT_CUSTOMERS),
        lambda c, a: module("jobs.lifecycle").publish(c.session, a, c.settings, c["draft_job_id"]),
    ),
    "jobs.lifecycle.cancel": Case(
        ("other_customer", *NOT_CUSTOMERS),
        lambda c, a: module("jobs.lifecycle").cancel(c.session, a, c["job_id"]),
    ),
    # leads
    "leads.service.ensure_vendor_in_job": Own("reads only the acting vendor's own lead"),
    "leads.service.list_leads": Case(
        NOT_VENDORS,
        lambda c, a: module("leads.service").list_leads(
            c.session, a, c.uploads.links, limit=20, cursor=None, status=None
        ),
    ),
    "leads.service.get_lead": Case(
        ("rival", "outsider", *NOT_VENDORS),
        lambda c, a: module("leads.service").get_lead(c.session, a, c.uploads.links, c["lead_id"]),
    ),
    "leads.service.get_for_admin": Case(
        NOT_ADMIN, lambda c, a: module("leads.service").get_for_admin(c.session, a, c["lead_id"])
    ),
    "leads.service.on_job_for_admin": Case(
        NOT_ADMIN,
        lambda c, a: module("leads.service").on_job_for_admin(c.session, a, c["job_id"]),
    ),
    "leads.service.engaged_vendors": Case(
        ("other_customer", *VENDORS),
        lambda c, a: module("leads.service").engaged_vendors(c.session, a, c["job_id"]),
    ),
    "leads.service.accept": Case(
        ("rival", "outsider", *NOT_VENDORS),
        lambda c, a: module("leads.service").accept(c.session, a, c["lead_id"]),
    ),
    "leads.service.decline": Case(
        ("rival", "outsider", *NOT_VENDORS),
        lambda c, a: module("leads.service").decline(c.session, a, c.settings, c["lead_id"], None),
    ),
    "leads.service.lock_own_on_job": Case(
        ("outsider", *NOT_VENDORS),
        lambda c, a: _with_job(c, "job_id", module("leads.service").lock_own_on_job, a),
    ),
    "leads.service.lock_quoted": Case(
        ("other_customer", "rival", "outsider"),
        lambda c, a: module("leads.service").lock_quoted(c.session, a, c["lead_id"]),
    ),
    # quotes and the award
    "quotes.service.send": Case(
        ("outsider", *NOT_VENDORS),
        lambda c, a: module("quotes.service").send(
            c.session, a, QuoteCreate.model_validate({"job_id": c["job_id"], "amount": 99})
        ),
    ),
    "quotes.service.lock_with_job": Case(
        ("other_customer", "rival", "outsider"),
        lambda c, a: module("quotes.service").lock_with_job(c.session, a, c["quote_id"]),
    ),
    "quotes.service.edit": Case(
        ("rival", "outsider", *NOT_VENDORS),
        lambda c, a: module("quotes.service").edit(
            c.session, a, c["quote_id"], QuoteUpdate.model_validate({"amount": 99})
        ),
    ),
    "quotes.service.reject": Case(
        ("other_customer", *NOT_CUSTOMERS),
        lambda c, a: module("quotes.service").reject(c.session, a, c["quote_id"], None),
    ),
    "quotes.service.withdraw": Case(
        ("rival", "outsider", *NOT_VENDORS),
        lambda c, a: module("quotes.service").withdraw(c.session, a, c["quote_id"]),
    ),
    "quotes.service.get": Case(
        ("other_customer", "rival", "outsider"),
        lambda c, a: module("quotes.service").get(c.session, a, c["quote_id"]),
    ),
    "quotes.service.for_job": Case(
        ("other_customer", *VENDORS),
        lambda c, a: module("quotes.service").for_job(c.session, a, c["job_id"]),
    ),
    "quotes.service.mine": Case(
        NOT_VENDORS,
        lambda c, a: module("quotes.service").mine(c.session, a, job_id=None, limit=10),
    ),
    "quotes.award.award": Case(
        ("other_customer", *NOT_CUSTOMERS),
        lambda c, a: module("quotes.award").award(c.session, a, c["quote_id"]),
    ),
    # messaging
    "messaging.service.post_to_job": Case(
        ("other_customer", "rival", "outsider"),
        lambda c, a: module("messaging.service").post_to_job(
            c.session, a, c["job_id"], c["vendor_id"], "Hello"
        ),
    ),
    "messaging.service.archive_for_job_vendor": Case(
        ("other_customer", "rival", "outsider"),
        lambda c, a: module("messaging.service").archive_for_job_vendor(
            c.session, a, c["job_id"], c["vendor_id"]
        ),
    ),
    "messaging.service.read_page": Case(
        ("other_customer", "rival", "outsider"),
        lambda c, a: module("messaging.service").read_page(
            c.session,
            a,
            c.uploads.links,
            c["conversation_id"],
            limit=10,
            cursor=None,
            newest_first=True,
        ),
    ),
    "messaging.service.send": Case(
        ("other_customer", "rival", "outsider", "admin"),
        lambda c, a: module("messaging.service").send(
            c.session, a, c["conversation_id"], SendMessage.model_validate({"body": "Hi"})
        ),
    ),
    "messaging.service.mark_read": Case(
        ("other_customer", "rival", "outsider", "admin"),
        lambda c, a: module("messaging.service").mark_read(
            c.session, a, c["conversation_id"], MarkRead()
        ),
    ),
    "messaging.service.inbox": Own("the actor's own conversations"),
    # money
    "escrow.service.lock_for_job": Case(
        ("other_customer", "rival", "outsider"),
        lambda c, a: _with_job(c, "contract_job_id", module("escrow.service").lock_for_job, a),
    ),
    "escrow.service.get_view": Case(
        ("other_customer", "rival", "outsider"),
        lambda c, a: module("escrow.service").get_view(c.session, a, c["contract_job_id"]),
    ),
    "escrow.service.get_for_admin": Case(
        NOT_ADMIN,
        lambda c, a: module("escrow.service").get_for_admin(c.session, a, c["contract_job_id"]),
    ),
    "escrow.service.fund": Case(
        ("other_customer", *NOT_CUSTOMERS),
        lambda c, a: module("escrow.service").fund(c.session, a, c.settings, c["contract_job_id"]),
    ),
    "escrow.service.top_up": Case(
        NOT_CUSTOMERS,
        lambda c, a: module("escrow.service").top_up(c.session, a, c.settings, 100),
    ),
    "escrow.service.wallet": Case(
        ("admin",), lambda c, a: module("escrow.service").wallet(c.session, a)
    ),
    "escrow.service.pay_out": Case(
        ("admin",), lambda c, a: module("escrow.service").pay_out(c.session, a, c.settings, 1)
    ),
    "escrow.service.payouts": Case(
        ("admin",), lambda c, a: module("escrow.service").payouts(c.session, a)
    ),
    "escrow.service.every_payout": Case(
        NOT_ADMIN, lambda c, a: module("escrow.service").every_payout(c.session, a)
    ),
    "milestones.service.list_for_job": Case(
        ("other_customer", "rival", "outsider"),
        lambda c, a: module("milestones.service").list_for_job(
            c.session, a, c.uploads.links, c["contract_job_id"]
        ),
    ),
    "milestones.service.submit": Case(
        ("rival", "outsider", *NOT_VENDORS),
        lambda c, a: module("milestones.service").submit(
            c.session, a, c["milestone_id"], Evidence.model_validate({"description": "Done"})
        ),
    ),
    "milestones.service.request_changes": Case(
        ("other_customer", *NOT_CUSTOMERS),
        lambda c, a: module("milestones.service").request_changes(
            c.session, a, c["milestone_id"], "Not done"
        ),
    ),
    "milestones.service.approve": Case(
        ("other_customer", *NOT_CUSTOMERS),
        lambda c, a: module("milestones.service").approve(c.session, a, c["milestone_id"]),
    ),
    "disputes.service.raise_dispute": Case(
        ("other_customer", "rival", "outsider", "admin"),
        lambda c, a: module("disputes.service").raise_dispute(
            c.session, a, c["contract_job_id"], "It leaks"
        ),
    ),
    "disputes.service.list_disputes": Case(
        NOT_ADMIN, lambda c, a: module("disputes.service").list_disputes(c.session, a, None)
    ),
    "disputes.service.resolve": Case(
        NOT_ADMIN,
        lambda c, a: module("disputes.service").resolve(
            c.session,
            a,
            c.settings,
            c["dispute_id"],
            ResolveDispute.model_validate({"resolution": "resume"}),
        ),
    ),
    # reviews
    "reviews.service.post": Case(
        ("other_customer", *NOT_CUSTOMERS),
        lambda c, a: module("reviews.service").post(
            c.session,
            a,
            ReviewCreate.model_validate(
                {"job_id": c["contract_job_id"], "rating": 5, "recommend_yes_no": True}
            ),
        ),
    ),
    "reviews.service.respond": Case(
        ("rival", "outsider", *NOT_VENDORS),
        lambda c, a: module("reviews.service").respond(c.session, a, c["review_id"], "Thanks"),
    ),
    "reviews.service.reply": Case(
        ("other_customer", *NOT_CUSTOMERS),
        lambda c, a: module("reviews.service").reply(c.session, a, c["review_id"], "You too"),
    ),
    "reviews.service.moderate": Case(
        NOT_ADMIN,
        lambda c, a: module("reviews.service").moderate(
            c.session, a, c["review_id"], "approve", None
        ),
    ),
    # published reviews are public to customers and admins; a vendor reads only its own
    "reviews.service.for_vendor": Case(
        ("rival", "outsider"),
        lambda c, a: module("reviews.service").for_vendor(
            c.session, a, c["vendor_id"], limit=20, cursor=None
        ),
    ),
    "reviews.service.held": Case(
        NOT_ADMIN, lambda c, a: module("reviews.service").held(c.session, a)
    ),
    "reviews.service.for_job": Case(
        ("other_customer", "rival", "outsider"),
        lambda c, a: module("reviews.service").for_job(c.session, a, c["review_job_id"]),
    ),
    # uploads: the world's live job has a photo of the owner's (``upload_id``)
    "uploads.service.receive": Case(
        ("admin",),
        lambda c, a: module("uploads.service").receive(
            c.session, a, c.uploads, ReceivedFile(filename="tap.png", content=JOB_PHOTO)
        ),
    ),
    "uploads.service.attach": Own(
        "attaches only the actor's own unattached uploads (any other id is a 422); the caller "
        "has locked the object they are attached to in the actor's scope"
    ),
    "uploads.service.attach_job_photos": Own(
        "frees and attaches only the actor's own uploads; the caller has locked the draft job "
        "in the actor's scope"
    ),
    "uploads.service.views_of": Case(
        ("other_customer", "outsider"),
        lambda c, a: _nothing_shown(
            module("uploads.service").views_of(c.session, a, c.uploads.links, "job", [c["job_id"]])
        ),
    ),
    "uploads.service.download": Case(
        ("other_customer", "outsider"),
        lambda c, a: module("uploads.service").download(c.session, a, c["upload_id"], "file"),
    ),
    # events, notifications, denials
    "events.service.seen_by": Own("the events whose audience includes the actor"),
    "events.service.my_feed": Own("the events whose audience includes the actor"),
    "events.service.job_history": Case(
        ("other_customer", "outsider"),
        lambda c, a: module("events.service").job_history(
            c.session, a, c["job_id"], after=0, limit=10
        ),
    ),
    "events.service.verify_job_chain": Case(
        NOT_ADMIN,
        lambda c, a: module("events.service").verify_job_chain(c.session, a, c["job_id"]),
    ),
    "events.service.admin_feed": Case(
        NOT_ADMIN,
        lambda c, a: module("events.service").admin_feed(
            c.session, a, after=0, limit=10, job_id=None
        ),
    ),
    "notifications.service.inbox": Own("the actor's own notifications"),
    "notifications.service.mark_read": Case(
        ("other_customer", *VENDORS, "admin"),
        lambda c, a: module("notifications.service").mark_read(c.session, a, c["notification_id"]),
    ),
    "notifications.service.preferences": Own("the actor's own preferences"),
    "notifications.service.dead_letters": Case(
        NOT_ADMIN,
        lambda c, a: module("notifications.service").dead_letters(
            c.session, a, cursor=None, limit=10
        ),
    ),
    "notifications.service.change_preferences": Own("the actor's own preferences"),
    "notifications.service.register_push_subscription": Own("the actor's own browser"),
    "denials.service.report": Case(
        NOT_ADMIN,
        lambda c, a: module("denials.service").report(c.session, a, 404, hours=1, limit=5),
    ),
}


def module(name: str) -> Any:
    return importlib.import_module(f"tradematch.{name}")


def vendors_service() -> Any:
    return module("vendors.service")


async def _with_job(c: Context, param: str, function: Any, actor: Actor) -> Any:
    return await function(c.session, actor, await c.job(param))


async def _nothing_shown(views: Awaitable[dict[str, list[Any]]]) -> dict[str, list[Any]] | None:
    """None when no object shows any upload to the actor."""
    shown = await views
    return shown if any(shown.values()) else None


def service_functions() -> set[str]:
    """Every public coroutine of a domain or event-log module that takes ``actor``."""
    found = set()
    for source in modules():
        if layer(source.name) not in (DOMAIN, LOG) or source.leaf in ("repository", "schemas"):
            continue
        loaded = importlib.import_module(source.name)
        for name, function in vars(loaded).items():
            if name.startswith("_") or not inspect.iscoroutinefunction(function):
                continue
            if function.__module__ != source.name:
                continue
            if "actor" in inspect.signature(function).parameters:
                found.add(f"{source.name.removeprefix('tradematch.')}.{name}")
    return found


def test_every_service_function_has_a_case() -> None:
    found = service_functions()
    assert "jobs.service.create" in found and "quotes.award.award" in found  # discovery works
    missing = sorted(found - CASES.keys())
    assert not missing, f"service functions nobody decided the wrong actors of: {missing}"
    stale = sorted(CASES.keys() - found)
    assert not stale, f"cases for functions that no longer exist: {stale}"


@pytest_asyncio.fixture(scope="module")
async def world(module_api: Api, admin: User) -> World:
    return await build_world(
        module_api, admin, accepted=True, stages=("quoted", "funded", "reviewed", "disputed")
    )


def _actor(world: World, name: str) -> Actor:
    user = world.user(name)
    return Actor(user_id=user.user_id, role=Role(user.role))


CALLED = sorted(name for name, case in CASES.items() if isinstance(case, Case))


@pytest.mark.parametrize("name", CALLED)
async def test_wrong_actors_are_refused(
    name: str, world: World, app: FastAPI, settings: Settings
) -> None:
    case = CASES[name]
    assert isinstance(case, Case)
    assert case.wrong, "a function with nobody to refuse is Own(...)"
    answers: dict[str, int | str] = {}
    for wrong in dict.fromkeys(case.wrong):
        async with app.state.sessionmaker() as session:
            try:
                context = Context(session, settings, world, runtime_of(app.state))
                result = await case.call(context, _actor(world, wrong))
            except AppError as refused:
                answers[wrong] = refused.status_code
            else:
                answers[wrong] = "nothing" if result is None else f"allowed: {result!r:.100}"
            finally:
                await session.rollback()
    assert all(answer in (403, 404, "nothing") for answer in answers.values()), answers
