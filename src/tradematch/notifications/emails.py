"""What a notification email says: its text, what it is about, a link to the right page of the
recipient's dashboard, and how to unsubscribe — as a plain-text and an HTML part.

What it is about is read when the email is sent, through the same service function the
recipient's own API call goes through, with the recipient as the actor: a vendor who has not
accepted a lead gets ``leads.service.get_lead``'s ``LeadPreview`` (outcode, redacted title and
description, no customer), a customer their job's ``JobDetail``. Masking is the schemas' and
services'; nothing here decides what someone may see. Anything that cannot be read (the lead
or job is gone, the recipient may no longer see it) simply leaves the section out.

The links are the dashboards' hash routes (``web/js/*/app.js``): a vendor's lead is
``#/leads/<lead id>``, a customer's job ``#/jobs/<job id>``; otherwise the page of the kind of
thing (wallet, reviews, my jobs) or the notification list.

Every value is escaped where it enters the HTML (``html.escape``): the templates are small
functions, one section per kind of view, not a template engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role
from tradematch.core.config import Settings
from tradematch.core.errors import AppError
from tradematch.jobs import service as jobs
from tradematch.jobs.schemas import JobDetail
from tradematch.leads import service as leads
from tradematch.leads.schemas import LeadDetail, LeadPreview
from tradematch.notifications import repository, unsubscribe
from tradematch.notifications.rules import category_of, pounds_text
from tradematch.uploads.links import UploadLinks

# The call to action under each category's emails.
ACTIONS = {
    "leads": "View the lead",
    "messages": "Read the message",
    "quotes": "View the quote",
    "payments": "View the job",
    "disputes": "View the dispute",
    "reviews": "View the review",
    "updates": "Open TradeMatch",
}


@dataclass(frozen=True)
class About:
    """What the email is about, as the recipient's API view shows it."""

    heading: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    description: str | None = None


@dataclass(frozen=True)
class Content:
    title: str
    body: str
    category: str
    link: str
    action: str
    unsubscribe_url: str
    preferences_link: str
    about: About | None = None


async def content(
    session: AsyncSession,
    settings: Settings,
    signing_key: str,
    *,
    event_id: str,
    user_id: str,
    title: str,
    body: str,
) -> Content:
    """The email of one notification, read as its recipient."""
    subject = await repository.email_subject(session, event_id, user_id)
    event_type = subject.event_type if subject is not None else ""
    category = category_of(event_type)
    route: tuple[str, ...] = ("notifications",)
    about: About | None = None
    if subject is not None:
        actor = Actor(user_id=user_id, role=Role(subject.role))
        route, about = await _about(session, settings, signing_key, actor, category, subject)
    base = settings.public_url
    return Content(
        title=title,
        body=body,
        category=category,
        link=f"{base}/#/{'/'.join(route)}",
        action=ACTIONS.get(category, ACTIONS["updates"]),
        unsubscribe_url=unsubscribe.url(base, signing_key, user_id, category),
        preferences_link=unsubscribe.preferences_url(base),
        about=about,
    )


async def _about(
    session: AsyncSession,
    settings: Settings,
    signing_key: str,
    actor: Actor,
    category: str,
    subject: Any,
) -> tuple[tuple[str, ...], About | None]:
    """The dashboard route to link to, and what the event is about, as ``actor`` sees it."""
    payload: Mapping[str, Any] = subject.payload if isinstance(subject.payload, dict) else {}
    links = UploadLinks(signing_key, settings.upload_url_ttl_seconds)  # photos are not shown
    if actor.is_vendor:
        lead_id = payload.get("lead_id")
        if isinstance(lead_id, str):
            try:
                lead = await leads.get_lead(session, actor, links, lead_id)
            except AppError:
                return ("leads",), None
            return ("leads", lead.lead_id), _lead(lead)
        return (_VENDOR_PAGES.get(category, "jobs"),), None
    if actor.is_customer and subject.job_id:
        try:
            job = await jobs.get(session, actor, links, subject.job_id)
        except AppError:
            return ("jobs",), None
        return ("jobs", job.job_id), _job(job)
    return ("notifications",), None


_VENDOR_PAGES = {"payments": "wallet", "reviews": "reviews", "messages": "jobs"}


def _budget(low: int, high: int) -> str:
    return f"{pounds_text(low)} to {pounds_text(high)}"


def _words(value: str) -> str:
    return str(value).replace("_", " ")


def _lead(lead: LeadDetail | LeadPreview) -> About:
    if isinstance(lead, LeadPreview):
        return About(
            heading="The lead",
            rows=[
                ("Job", lead.title),
                ("Trade", str(lead.trade_category)),
                ("Area", f"{lead.outcode}, about {lead.approx_distance_miles:g} miles away"),
                ("Budget", _budget(lead.budget_min, lead.budget_max)),
                ("Timeframe", _words(lead.timeframe)),
                ("Customer", "Shown once you accept the lead"),
            ],
            description=lead.description,
        )
    customer = lead.customer
    return About(
        heading="The job",
        rows=[
            ("Job", lead.title),
            ("Trade", str(lead.trade_category)),
            ("Postcode", lead.postcode),
            ("Budget", _budget(lead.budget_min, lead.budget_max)),
            ("Timeframe", _words(lead.timeframe)),
            ("Customer", customer.name),
            ("Phone", customer.phone),
            ("Email", customer.email),
        ],
        description=lead.description,
    )


def _job(job: JobDetail) -> About:
    return About(
        heading="Your job",
        rows=[
            ("Job", job.title),
            ("Status", _words(job.status)),
            ("Trade", str(job.trade_category)),
            ("Budget", _budget(job.budget_min, job.budget_max)),
            ("Timeframe", _words(job.timeframe)),
        ],
    )


# The two parts -------------------------------------------------------------------------------


def text(content: Content) -> str:
    lines = [content.body, ""]
    if content.about is not None:
        lines.append(content.about.heading)
        lines.extend(f"  {label}: {value}" for label, value in content.about.rows)
        if content.about.description:
            lines.extend(["", content.about.description])
        lines.append("")
    lines.extend(
        [
            f"{content.action}: {content.link}",
            "",
            "--",
            "TradeMatch",
            f"Stop emails about {unsubscribe.CATEGORY_NAMES[content.category]}: "
            f"{content.unsubscribe_url}",
            f"All notification settings: {content.preferences_link}",
        ]
    )
    return "\n".join(lines) + "\n"


def html(content: Content) -> str:
    e = escape
    about = ""
    if content.about is not None:
        rows = "".join(
            f'<tr><th align="left" style="padding:2px 12px 2px 0">{e(label)}</th>'
            f"<td>{e(value)}</td></tr>"
            for label, value in content.about.rows
        )
        description = (
            f'<p style="white-space:pre-line">{e(content.about.description)}</p>'
            if content.about.description
            else ""
        )
        about = f"<h2>{e(content.about.heading)}</h2><table>{rows}</table>{description}"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(content.title)}</title></head>"
        '<body style="font-family:sans-serif;line-height:1.4">'
        f"<h1>{e(content.title)}</h1>"
        f"<p>{e(content.body)}</p>"
        f"{about}"
        f'<p><a href="{e(content.link)}">{e(content.action)}</a></p>'
        '<hr><p style="font-size:small;color:#555">TradeMatch · '
        f'<a href="{e(content.unsubscribe_url)}">Stop emails about '
        f"{e(unsubscribe.CATEGORY_NAMES[content.category])}</a> · "
        f'<a href="{e(content.preferences_link)}">Notification settings</a></p>'
        "</body></html>"
    )
