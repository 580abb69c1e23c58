from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.accounts.models import User
from tradematch.authz.scopes import LeadScope
from tradematch.jobs.models import Job
from tradematch.kit.postcodes import centroids
from tradematch.leads.models import Lead
from tradematch.leads.states import OPEN_LEAD_STATES

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


async def get(
    session: AsyncSession, scope: LeadScope, lead_id: str, *, lock: bool = False
) -> Lead | None:
    statement = select(Lead).where(Lead.id == lead_id, scope)
    if lock:
        # A locking read must see the row as committed now, not as this session first loaded
        # it (the identity map would keep a status read before a concurrent accept committed).
        statement = statement.with_for_update(key_share=True).execution_options(
            populate_existing=True
        )
    return (await session.execute(statement)).scalar_one_or_none()


async def get_with_job(
    session: AsyncSession, scope: LeadScope, lead_id: str
) -> Row[Lead, Job, User] | None:
    result = await session.execute(
        select(Lead, Job, User)
        .join(Job, Job.id == Lead.job_id)
        .join(User, User.id == Job.customer_id)
        .where(Lead.id == lead_id, scope)
    )
    return result.first()


async def list_with_jobs(
    session: AsyncSession, scope: LeadScope, *, limit: int, before: str | None, status: str | None
) -> list[Row[Lead, Job, User]]:
    statement = (
        select(Lead, Job, User)
        .join(Job, Job.id == Lead.job_id)
        .join(User, User.id == Job.customer_id)
        .where(scope)
    )
    if before is not None:
        statement = statement.where(Lead.id < before)
    if status is not None:
        statement = statement.where(Lead.status == status)
    result = await session.execute(statement.order_by(Lead.id.desc()).limit(limit))
    return list(result.all())


async def open_leads_for_update(
    session: AsyncSession, job_id: str, *, except_lead: str | None = None
) -> list[Lead]:
    statement = select(Lead).where(Lead.job_id == job_id, Lead.status.in_(OPEN_LEAD_STATES))
    if except_lead is not None:
        statement = statement.where(Lead.id != except_lead)
    result = await session.execute(
        statement.order_by(Lead.id).with_for_update().execution_options(populate_existing=True)
    )
    return list(result.scalars())


async def expire_pending_quotes(session: AsyncSession, lead_ids: list[str]) -> list[str]:
    from tradematch.quotes.models import Quote

    if not lead_ids:
        return []
    result = await session.execute(
        update(Quote)
        .where(Quote.lead_id.in_(lead_ids), Quote.status == "pending")
        .values(status="expired", decided_at=text("now()"))
        .returning(Quote.id)
    )
    return list(result.scalars())


# The scheduler: leads past their expiry. Candidates are read without locks; the item's own
# transaction then locks the job (SKIP LOCKED) and re-reads them under it.


async def jobs_with_expired_offers(
    session: AsyncSession, now: datetime, *, after: str | None, limit: int
) -> list[str]:
    """Jobs having offered leads past ``expires_at`` (partial index on offered leads), in id
    order after ``after``."""
    statement = select(Lead.job_id).where(Lead.status == "offered", Lead.expires_at <= now)
    if after is not None:
        statement = statement.where(Lead.job_id > after)
    result = await session.execute(
        statement.group_by(Lead.job_id).order_by(Lead.job_id).limit(limit)
    )
    return list(result.scalars())


async def expired_offers_for_update(
    session: AsyncSession, job_id: str, now: datetime
) -> list[Lead]:
    """The job's offered leads past expiry, locked (the caller holds the job's lock)."""
    result = await session.execute(
        select(Lead)
        .where(Lead.job_id == job_id, Lead.status == "offered", Lead.expires_at <= now)
        .order_by(Lead.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    return list(result.scalars())
