"""``tradematch events verify``: walk every job's hash chain and name the first broken event."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.events import repository
from tradematch.events.chain import event_hash


@dataclass(frozen=True)
class Break:
    event_id: str
    seq: int
    job_id: str | None
    reason: str


@dataclass(frozen=True)
class Report:
    events: int
    chains: int
    breaks: list[Break]

    @property
    def ok(self) -> bool:
        return not self.breaks


async def verify_chains(session: AsyncSession, *, job_id: str | None = None) -> Report:
    """Walk every job's chain (or only ``job_id``'s) and report the first break of each."""
    breaks: list[Break] = []
    broken_chains: set[str | None] = set()
    chains = 0
    events = 0
    current: object = object()
    expected_index, expected_prev = 1, None
    async for record in repository.all_in_chain_order(session, job_id=job_id):
        events += 1
        if record.job_id != current:
            current = record.job_id
            chains += 1
            expected_index, expected_prev = 1, None
        if record.job_id in broken_chains:
            continue  # report only the first break of each chain
        reason = None
        recomputed = event_hash(
            seq=record.seq,
            event_id=record.id,
            type=record.type,
            job_id=record.job_id,
            actor_id=record.actor_id,
            actor_role=record.actor_role,
            payload=record.payload,
            idempotency_key=record.idempotency_key,
            created_at=record.created_at,
            chain_index=record.chain_index,
            prev_hash=record.prev_hash,
        )
        if record.chain_index != expected_index:
            reason = (
                f"chain index {record.chain_index}, expected {expected_index} (an event is missing)"
            )
        elif record.prev_hash != expected_prev:
            reason = "previous-hash link does not match the preceding event"
        elif recomputed != record.hash:
            reason = "content does not match its hash (altered)"
        if reason is not None:
            breaks.append(Break(record.id, record.seq, record.job_id, reason))
            broken_chains.add(record.job_id)
        expected_index, expected_prev = record.chain_index + 1, record.hash
    return Report(events=events, chains=chains, breaks=breaks)
