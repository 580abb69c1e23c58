"""The in-app channel (list, unread count, read) and per-user channel preferences."""

from __future__ import annotations

from typing import Any

from tests.flows.database import Database, fetch
from tests.flows.deals import accepted_conversation, send_message
from tests.flows.users import Api, User, marketplace
from tradematch.kit.ids import new_id

NOTIFICATIONS = "/api/connection/notifications"
PREFERENCES = "/api/connection/notifications/preferences"


async def _inbox(api: Api, user: User, **params: str | int) -> dict[str, Any]:
    response = await api.client.get(NOTIFICATIONS, params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_inbox_newest_first_with_cursor_unread_count_and_read(api: Api) -> None:
    market = await marketplace(api, vendors=2)
    vendor, rival = market.vendors
    await api.accept(vendor, market.leads[vendor.user_id])

    inbox = await _inbox(api, vendor)
    assert inbox["items"][0]["body"] == "Lead accepted. Messaging enabled."
    assert inbox["items"][1]["body"].startswith("New lead: Fix leaking")
    assert inbox["unread_count"] == 2 and inbox["next_cursor"] is None
    assert all(n["job_id"] == market.job_id and not n["read"] for n in inbox["items"])
    assert [n["event_type"] for n in inbox["items"]] == ["LEAD_ACCEPTED", "LEAD_OFFERED"]
    customer_inbox = await _inbox(api, market.customer)
    assert [n["body"] for n in customer_inbox["items"]] == ["Vendor accepted your job"]

    first = await _inbox(api, vendor, limit=1)
    assert len(first["items"]) == 1 and first["next_cursor"] == first["items"][0]["notification_id"]
    second = await _inbox(api, vendor, limit=1, cursor=first["next_cursor"])
    assert second["items"][0]["notification_id"] == inbox["items"][1]["notification_id"]
    assert second["next_cursor"] is None

    newest = inbox["items"][0]["notification_id"]
    read = await api.client.patch(f"{NOTIFICATIONS}/{newest}/read", json={}, headers=vendor.headers)
    assert read.status_code == 200, read.text
    assert read.json()["unread_count"] == 1
    again = await api.client.patch(f"{NOTIFICATIONS}/{newest}/read", headers=vendor.headers)
    assert again.status_code == 200 and again.json()["read_at"] == read.json()["read_at"]
    unread = await _inbox(api, vendor, unread_only="true")
    assert [n["notification_id"] for n in unread["items"]] == [inbox["items"][1]["notification_id"]]
    assert (await _inbox(api, vendor))["items"][0]["read"] is True

    # Someone else's notification is not found, exactly like one that does not exist.
    foreign = await api.client.patch(f"{NOTIFICATIONS}/{newest}/read", headers=rival.headers)
    ghost = await api.client.patch(f"{NOTIFICATIONS}/{new_id('ntf')}/read", headers=rival.headers)
    assert foreign.status_code == ghost.status_code == 404
    assert foreign.json() == ghost.json()
    malformed = await api.client.patch(f"{NOTIFICATIONS}/nope/read", headers=vendor.headers)
    assert malformed.status_code == 422
    bad_cursor = await api.client.get(NOTIFICATIONS, params={"cursor": "x"}, headers=vendor.headers)
    assert bad_cursor.status_code == 422
    assert (await api.client.get(NOTIFICATIONS)).status_code == 401


async def test_preferences_turn_channels_off_for_new_notifications(
    api: Api, worker_db: Database
) -> None:
    market = await marketplace(api, vendors=1)
    customer, vendor = market.customer, market.vendors[0]
    defaults = (await api.client.get(PREFERENCES, headers=customer.headers)).json()
    assert {k: defaults[k] for k in ("in_app", "email", "push")} == {
        "in_app": True,
        "email": True,
        "push": True,
    }
    assert defaults["push_subscriptions"] == 0 and defaults["push_public_key"]

    changed = await api.client.put(PREFERENCES, json={"email": False}, headers=customer.headers)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["in_app"], changed.json()["email"]) == (True, False)
    for bad in ({"sms": True}, {"email": "sometimes"}):
        response = await api.client.put(PREFERENCES, json=bad, headers=customer.headers)
        assert response.status_code == 422, response.text

    conversation = await accepted_conversation(api, market)
    await send_message(api, vendor, conversation, "Hello, when suits you?")
    channels = "SELECT channel FROM notifications WHERE user_id = $1 ORDER BY channel"
    assert [r["channel"] for r in await fetch(worker_db, channels, customer.user_id)] == [
        "in_app",
        "in_app",
    ]  # "Vendor accepted your job" and the message; no email, and no push (no subscription)

    await api.client.put(
        PREFERENCES, json={"in_app": False, "email": True}, headers=customer.headers
    )
    await send_message(api, vendor, conversation, "Tuesday at nine?")
    assert [r["channel"] for r in await fetch(worker_db, channels, customer.user_id)] == [
        "email",
        "in_app",
        "in_app",
    ]
    # The vendor's own preferences were never touched: every channel it can use got rows.
    vendor_channels = {r["channel"] for r in await fetch(worker_db, channels, vendor.user_id)}
    assert vendor_channels == {"in_app", "email"}
