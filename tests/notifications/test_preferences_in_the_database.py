"""The recipients' preferences are one rule in the database (``tm_notification_wanted``),
applied by the event append and by replays as the rows are inserted: an active account, the
channel on, the category on for that channel, push only with a subscription."""

from __future__ import annotations

from tests.flows.database import Database, fetch, fetchval
from tests.flows.users import Api

PREFERENCES = "/api/connection/notifications/preferences"
WANTED = "SELECT tm_notification_wanted($1, $2, $3) AS wanted"


async def _wanted(db: Database, user_id: str, channel: str, category: str) -> bool:
    return bool((await fetch(db, WANTED, user_id, channel, category))[0]["wanted"])


async def test_the_rule_follows_each_preference(api: Api, worker_db: Database) -> None:
    customer = await api.customer()
    uid = customer.user_id
    assert await _wanted(worker_db, uid, "in_app", "messages")
    assert await _wanted(worker_db, uid, "email", "messages")
    assert not await _wanted(worker_db, uid, "push", "messages")  # no subscription
    assert not await _wanted(worker_db, "usr_nobody", "in_app", "messages")

    response = await api.client.put(
        PREFERENCES,
        json={"in_app": False, "email_categories": {"quotes": False}},
        headers=customer.headers,
    )
    assert response.status_code == 200, response.text
    assert not await _wanted(worker_db, uid, "in_app", "messages")  # the channel is off
    assert not await _wanted(worker_db, uid, "email", "quotes")  # the category, on email
    assert await _wanted(worker_db, uid, "email", "messages")  # other categories still on

    disabled = "UPDATE users SET is_active = false WHERE id = $1 RETURNING id"
    assert await fetchval(worker_db, disabled, uid) == uid
    assert not await _wanted(worker_db, uid, "email", "messages")  # a disabled account
