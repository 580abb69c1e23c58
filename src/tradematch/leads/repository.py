"""Every SQL statement on leads, matching included."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Row,
    ScalarSelect,
    Select,
    String,
    bindparam,
    exists,
    func,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.accounts.models import User
from tradematch.authz.scopes import LeadScope, leads_held_by_bound_vendor
from tradematch.jobs.models import Job
from tradematch.kit.driver import DriverStatement
from tradematch.kit.postcodes import centroids
from tradematch.kit.repository import add_all as add_all
from tradematch.kit.repository import keyset_page, locking, one_or_none, seek
from tradematch.leads.models import Lead
from tradematch.leads.states import ENGAGED_LEAD_STATES, OPEN_LEAD_STATES
from tradematch.messaging.models import Conversation
from tradematch.vendors.models import VendorProfile

MAX_SERVICE_RADIUS_MILES = 100  # the vendor_profiles CHECK; bounds the search box
MILES_PER_DEGREE_LAT = 69.0

# One indexed query that stops as soon as it has enough vendors. The districts inside the bounding
# box of the widest service radius are sorted by distance (a few thousand rows at most; OFFSET 0
# keeps that sort from being flattened away), and for each district in turn the accepting vendors
# based there (partial index on vendor_profiles(outcode)) with the trade (vendor_trades index),
# within their own radius and without a lead on this job already, are joined in. Because the
# districts arrive nearest first, the planner finishes the ORDER BY with an incremental sort and
# LIMIT ends the walk after the nearest districts: ~1 ms for a central London job among 100,000
# vendors, where joining every vendor in the box first and sorting them all took ~50 ms
# (bench/matching.py). Order: nearest first, then best rated (unrated last), then most reviewed.
_MATCH_SQL = text(
    """
    SELECT m.vendor_id, near.distance_miles
      FROM (SELECT o.outcode,
                   tm_distance_miles(:lat, :lon, o.latitude, o.longitude) AS distance_miles
              FROM outcodes o
             WHERE o.latitude BETWEEN :lat_min AND :lat_max
               AND o.longitude BETWEEN :lon_min AND :lon_max
             ORDER BY distance_miles
            OFFSET 0) AS near
     CROSS JOIN LATERAL (
           SELECT v.user_id AS vendor_id,
                  v.rating_total::float8 / NULLIF(v.rating_count, 0) AS rating,
                  v.rating_count
             FROM vendor_profiles v
             JOIN vendor_trades t ON t.vendor_id = v.user_id AND t.trade = :trade
             JOIN users u ON u.id = v.user_id AND u.is_active
            WHERE v.outcode = near.outcode
              AND v.accepting_leads
              AND v.service_radius_miles >= near.distance_miles
              AND v.user_id <> :customer_id
              AND NOT EXISTS (SELECT 1 FROM leads l
                               WHERE l.job_id = :job_id AND l.vendor_id = v.user_id)
           ) AS m
     ORDER BY near.distance_miles, m.rating DESC NULLS LAST, m.rating_count DESC, m.vendor_id
     LIMIT :limit
    """
)


@dataclass(frozen=True)
class Match:
    vendor_id: str
    distance_miles: float


async def best_matches(session: AsyncSession, job: Job, limit: int) -> list[Match]:
    if limit <= 0:
        return []
    lat, lon = centroids()[job.outcode]
    dlat = MAX_SERVICE_RADIUS_MILES / MILES_PER_DEGREE_LAT
    dlon = MAX_SERVICE_RADIUS_MILES / (
        MILES_PER_DEGREE_LAT * max(0.01, math.cos(math.radians(lat)))
    )
    result = await session.execute(
        _MATCH_SQL,
        {
            "lat": lat,
            "lon": lon,
            "lat_min": lat - dlat,
            "lat_max": lat + dlat,
            "lon_min": lon - dlon,
            "lon_max": lon + dlon,
            "trade": job.trade_category,
            "customer_id": job.customer_id,
            "job_id": job.id,
            "limit": limit,
        },
    )
    return [Match(row.vendor_id, float(row.distance_miles)) for row in result]


async def count_open(session: AsyncSession, job_id: str) -> int:
    result = await session.execute(
        select(func.count()).where(Lead.job_id == job_id, Lead.status.in_(OPEN_LEAD_STATES))
    )
    return int(result.scalar_one())


async def has_engaged(session: AsyncSession, job_id: str) -> bool:
    """Has a vendor accepted a lead on the job (accepted or quoted, not yet decided)?"""
    engaged = exists().where(Lead.job_id == job_id, Lead.status.in_(ENGAGED_LEAD_STATES))
    return bool((await session.execute(select(engaged))).scalar_one())


@dataclass(frozen=True, slots=True)
class LockedLead:
    """What a hot path needs of a lead it has locked."""

    id: str
    job_id: str
    vendor_id: str
    status: str


# Every lead acceptance runs these: compiled once, sent by the driver (kit/driver.py).
_LOCK_OWN = DriverStatement(
    select(Lead.id, Lead.job_id, Lead.vendor_id, Lead.status)
    .where(Lead.id == bindparam("lead_id", type_=String), leads_held_by_bound_vendor("vendor_id"))
    .with_for_update(key_share=True)
)
_ACCEPTED = DriverStatement(
    update(Lead)
    .where(Lead.id == bindparam("lead_id", type_=String))
    .values(status=bindparam("status"), accepted_at=bindparam("accepted_at"))
)


async def lock_own(session: AsyncSession, vendor_id: str, lead_id: str) -> LockedLead | None:
    """The vendor's own lead, locked (FOR NO KEY UPDATE); None if out of reach."""
    row = await _LOCK_OWN.fetchrow(session, lead_id=lead_id, vendor_id=vendor_id)
    return None if row is None else LockedLead(*row)


async def mark_accepted(session: AsyncSession, lead_id: str, status: str, at: datetime) -> None:
    await _ACCEPTED.fetchval(session, lead_id=lead_id, status=status, accepted_at=at)


async def get(
    session: AsyncSession, scope: LeadScope, lead_id: str, *, lock: bool = False
) -> Lead | None:
    statement = select(Lead).where(Lead.id == lead_id, scope)
    return await one_or_none(session, statement, lock=lock, no_key_update=True)


def job_id_of(scope: LeadScope, lead_id: str) -> ScalarSelect[str]:
    """The lead's job, as a subquery: the job is locked through it before the lead."""
    return select(Lead.job_id).where(Lead.id == lead_id, scope).scalar_subquery()


async def on_job_for_update(session: AsyncSession, scope: LeadScope, job_id: str) -> Lead | None:
    """The lead in scope on the job (a vendor has at most one), locked."""
    statement = select(Lead).where(Lead.job_id == job_id, scope)
    return (await session.execute(locking(statement))).scalar_one_or_none()


async def for_update(session: AsyncSession, scope: LeadScope, lead_id: str) -> Lead | None:
    statement = select(Lead).where(Lead.id == lead_id, scope)
    return (await session.execute(locking(statement))).scalar_one_or_none()


def _views() -> Select[Lead, Job, User, str | None]:
    """Leads with their job, the job's customer and the conversation (if the vendor accepted),
    as a vendor's lead views show them."""
    return (
        select(Lead, Job, User, Conversation.id)
        .join(Job, Job.id == Lead.job_id)
        .join(User, User.id == Job.customer_id)
        .outerjoin(Conversation, Conversation.lead_id == Lead.id)
    )


async def get_view(
    session: AsyncSession, scope: LeadScope, lead_id: str
) -> Row[Lead, Job, User, str | None] | None:
    return (await session.execute(_views().where(Lead.id == lead_id, scope))).first()


async def page_of_views(
    session: AsyncSession, scope: LeadScope, *, after: str | None, limit: int, status: str | None
) -> list[Row[Lead, Job, User, str | None]]:
    """Leads in scope, newest first (ids sort by time)."""
    statement = _views().where(scope)
    if status is not None:
        statement = statement.where(Lead.status == status)
    result = await session.execute(keyset_page(statement, Lead.id, after=after, limit=limit))
    return list(result.all())


async def on_job(session: AsyncSession, scope: LeadScope, job_id: str) -> list[Lead]:
    result = await session.execute(
        select(Lead).where(Lead.job_id == job_id, scope).order_by(Lead.id)
    )
    return list(result.scalars())


async def engaged_on_job(
    session: AsyncSession, scope: LeadScope, job_id: str
) -> list[Row[Lead, VendorProfile, User, str | None]]:
    """The job's leads whose vendor accepted (or went further), with the vendor's profile and
    contact and the conversation, in the order they accepted."""
    result = await session.execute(
        select(Lead, VendorProfile, User, Conversation.id)
        .join(VendorProfile, VendorProfile.user_id == Lead.vendor_id)
        .join(User, User.id == Lead.vendor_id)
        .outerjoin(Conversation, Conversation.lead_id == Lead.id)
        .where(Lead.job_id == job_id, Lead.status.in_(ENGAGED_LEAD_STATES), scope)
        .order_by(Lead.accepted_at, Lead.id)
    )
    return list(result.all())


async def open_on_job_for_update(
    session: AsyncSession, scope: LeadScope, job_id: str, *, except_lead: str | None = None
) -> list[Lead]:
    statement = select(Lead).where(Lead.job_id == job_id, Lead.status.in_(OPEN_LEAD_STATES), scope)
    if except_lead is not None:
        statement = statement.where(Lead.id != except_lead)
    result = await session.execute(locking(statement.order_by(Lead.id)))
    return list(result.scalars())


async def ids_of_vendor_on_job(
    session: AsyncSession, scope: LeadScope, job_id: str, vendor_id: str
) -> list[str]:
    result = await session.execute(
        select(Lead.id).where(Lead.job_id == job_id, Lead.vendor_id == vendor_id, scope)
    )
    return list(result.scalars())


# The scheduler: leads past their expiry. Candidates are read without locks; the item's own
# transaction then locks the job (SKIP LOCKED) and re-reads them under it.


async def jobs_with_expired_offers(
    session: AsyncSession, scope: LeadScope, now: datetime, *, after: str | None, limit: int
) -> list[str]:
    """Jobs having offered leads past ``expires_at`` (partial index on offered leads), in id
    order after ``after``."""
    statement = (
        select(Lead.job_id)
        .where(Lead.status == "offered", Lead.expires_at <= now, scope)
        .group_by(Lead.job_id)
    )
    result = await session.execute(seek(statement, Lead.job_id, after=after, limit=limit))
    return list(result.scalars())


async def expired_offers_for_update(
    session: AsyncSession, scope: LeadScope, job_id: str, now: datetime
) -> list[Lead]:
    """The job's offered leads past expiry, locked (the caller holds the job's lock)."""
    statement = (
        select(Lead)
        .where(Lead.job_id == job_id, Lead.status == "offered", Lead.expires_at <= now, scope)
        .order_by(Lead.id)
    )
    return list((await session.execute(locking(statement, no_key_update=True))).scalars())
