"""Every test in this folder ends with the ledger audited: whatever the test did (concurrent,
failing, replayed), the money invariants of contract §5 must hold in its database afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.flows.database import Database
from tests.flows.ledger import database_violations


@pytest.fixture
def _money_db(request: pytest.FixtureRequest) -> Database | None:
    """The database the test writes to: its own (``fresh_db``) or the worker's. Requested here,
    during set-up, so the database outlives the check below."""
    for name in ("fresh_db", "worker_db"):
        if name in request.fixturenames:
            db = request.getfixturevalue(name)
            assert isinstance(db, Database)
            return db
    return None


@pytest_asyncio.fixture(autouse=True)
async def _money_invariants_hold(_money_db: Database | None) -> AsyncIterator[None]:
    if _money_db is None:  # a unit test: no database, no money
        yield
        return
    # The worker's database is shared with other folders' tests: judge this test by what it
    # added (a fresh database starts with nothing to report).
    before = await database_violations(_money_db)
    yield
    after = await database_violations(_money_db)
    added = {
        name: sorted(set(rows) - set(before.get(name, [])))
        for name, rows in after.items()
        if set(rows) - set(before.get(name, []))
    }
    assert added == {}, "money invariants broken by the test"
