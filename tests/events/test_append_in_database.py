"""The database writes the log (``tm_append_events``): the hash it computes is the one the
verifier recomputes in Python, whatever the payload holds; positions follow the writing
transaction; several events of one transaction take one statement."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.flows.database import Database
from tests.flows.users import Api
from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role
from tradematch.core.database import create_engine
from tradematch.events.chain import event_hash
from tradematch.events.log import emit
from tradematch.events.types import EventType
from tradematch.events.unit_of_work import unit_of_work
from tradematch.events.verify import verify_chains
from tradematch.sessions import create_sessionmaker

AWKWARD: list[dict[str, Any]] = [
    {"fields": ["description"], "note": 'Crème brûlée — 🛠 "quoted" \\ back\\slash'},
    {"z": 1, "a": {"y": [1, 2.5, None, True], "b": "tab\there\nnewline"}, "Ä": "ä"},
    {"empty": {}, "list": [], "big": 12345678901234567890, "neg": -0.125},
]


async def test_database_hashes_match_the_verifier_and_positions_follow_the_transaction(
    fresh_api: Api, fresh_db: Database
) -> None:
    customer = await fresh_api.customer()
    job = await fresh_api.create_job(customer)
    actor = Actor(customer.user_id, Role.CUSTOMER)
    engine = create_engine(fresh_db.async_url, pool_size=1)
    try:
        sessions = create_sessionmaker(engine)
        async with unit_of_work(sessions) as session:
            ids = [
                emit(
                    session,
                    EventType.JOB_UPDATED,
                    actor=actor,
                    job_id=job["job_id"],
                    payload=payload,
                    audience=[customer.user_id],
                )
                for payload in AWKWARD
            ]
            xid = (await session.execute(text("SELECT pg_current_xact_id()::text"))).scalar_one()
        async with sessions() as session:
            rows = (
                await session.execute(
                    text("SELECT * FROM event_log WHERE id = ANY(:ids) ORDER BY seq"),
                    {"ids": ids},
                )
            ).all()
            report = await verify_chains(session, job_id=job["job_id"])
            audience = (
                await session.execute(
                    text("SELECT count(*) FROM event_audience WHERE seq = ANY(:s)"),
                    {"s": [r.seq for r in rows]},
                )
            ).scalar_one()
    finally:
        await engine.dispose()

    assert [r.id for r in rows] == ids
    assert [r.seq for r in rows] == [int(xid) * 65536 + n for n in (1, 2, 3)]
    assert [r.payload for r in rows] == AWKWARD
    assert [r.chain_index for r in rows] == [2, 3, 4]  # after the job's JOB_CREATED
    for row in rows:
        recomputed = event_hash(
            seq=row.seq,
            event_id=row.id,
            type=row.type,
            job_id=row.job_id,
            actor_id=row.actor_id,
            actor_role=row.actor_role,
            payload=row.payload,
            idempotency_key=row.idempotency_key,
            created_at=row.created_at,
            chain_index=row.chain_index,
            prev_hash=row.prev_hash,
        )
        assert recomputed == row.hash
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert report.ok and report.events == 4
    assert audience == 3
