from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tradematch.core.orm import Base


class EventRecord(Base):
    """The immutable, hash-chained event log (triggers reject UPDATE, DELETE, TRUNCATE)."""

    __tablename__ = "event_log"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(48))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"))
    actor_id: Mapped[str | None] = mapped_column(String(40))
    actor_role: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    # Per-job chain: chain_index counts the job's events from 1; hash covers content + prev_hash.
    chain_index: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    __table_args__ = (
        UniqueConstraint(
            "job_id",
            "chain_index",
            name="uq_event_log_job_id_chain_index",
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_event_log_job_id_seq", "job_id", "seq"),
    )


class EventAudience(Base):
    """Who may see each event (besides admins): the per-user feed and live stream read this."""

    __tablename__ = "event_audience"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(ForeignKey("event_log.seq"), primary_key=True)
    __table_args__ = (Index("ix_event_audience_seq", "seq"),)
