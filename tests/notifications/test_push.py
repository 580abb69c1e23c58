"""Web push: registration is validated; pushes are encrypted for the subscriber, signed with the
VAPID key and carry the notification id; a 410 from the push service removes the subscription."""

from __future__ import annotations

import json
from pathlib import Path

from tests.flows.apps import app_for, dispatching, eventually, make_settings
from tests.flows.database import Database, fetch
from tests.flows.peers import Subscriber, push_service
from tests.flows.users import Api, User, marketplace

PUSH = "/api/connection/notifications/push-subscriptions"


async def _subscribe(api: Api, user: User, name: str, subscriber: Subscriber) -> int:
    response = await api.client.post(
        PUSH,
        json={
            "endpoint": f"https://push.example.net/{name}",
            "expirationTime": None,
            "keys": subscriber.keys,
        },
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["subscription_id"])


async def test_push_subscription_registration_is_validated(
    fresh_db: Database, tmp_path: Path
) -> None:
    async with app_for(fresh_db, make_settings(tmp_path)) as (_, api):
        user = await api.customer()
        keys = Subscriber().keys
        bad = [
            {"endpoint": "http://push.example.net/x", "keys": keys},
            {"endpoint": "not a url", "keys": keys},
            {"endpoint": "https://push.example.net/x", "keys": {**keys, "p256dh": "AAAA"}},
            {"endpoint": "https://push.example.net/x", "keys": {**keys, "p256dh": "!!!"}},
            {"endpoint": "https://push.example.net/x", "keys": {**keys, "auth": "c2hvcnQ"}},
            {"endpoint": "https://push.example.net/x", "keys": {"p256dh": keys["p256dh"]}},
            {"endpoint": "https://push.example.net/x", "keys": keys, "extra": 1},
        ]
        for body in bad:
            response = await api.client.post(PUSH, json=body, headers=user.headers)
            assert response.status_code == 422, (body, response.text)
        first = await _subscribe(api, user, "a", Subscriber())
        # The same browser subscribing again (new keys) updates its subscription.
        assert await _subscribe(api, user, "a", Subscriber()) == first
        prefs = (
            await api.client.get("/api/connection/notifications/preferences", headers=user.headers)
        ).json()
        assert prefs["push_subscriptions"] == 1
        # The VAPID key was generated once and kept in the data directory.
        assert (tmp_path / "vapid_private_key").exists()
        again = (
            await api.client.get("/api/connection/notifications/preferences", headers=user.headers)
        ).json()
        assert (
            len(prefs["push_public_key"]) == 87
            and again["push_public_key"] == prefs["push_public_key"]
        )


async def test_push_is_delivered_encrypted_and_a_gone_subscription_is_removed(
    fresh_db: Database, tmp_path: Path
) -> None:
    # The push service runs on this machine: the setting lets pushes reach a private address.
    settings = make_settings(tmp_path, push_allow_private_networks=True)
    async with push_service() as service, app_for(fresh_db, settings) as (app, api):
        market = await marketplace(api, vendors=1)
        customer, vendor = market.customer, market.vendors[0]
        browser, stale_browser, vendor_browser = Subscriber(), Subscriber(), Subscriber()
        live = await _subscribe(api, customer, "live", browser)
        stale = await _subscribe(api, customer, "stale", stale_browser)
        vendors_only = await _subscribe(api, vendor, "vendor", vendor_browser)
        # Point the subscriptions at the local push service (the API accepts only https).
        conn = await fresh_db.connect()
        try:
            for sub_id, path in (
                (live, "ok/live"),
                (stale, "gone/stale"),
                (vendors_only, "gone/v"),
            ):
                await conn.execute(
                    "UPDATE push_subscriptions SET endpoint = $1 WHERE id = $2",
                    f"{service.base_url}/{path}",
                    sub_id,
                )
        finally:
            await conn.close()
        public_key = (
            await api.client.get(
                "/api/connection/notifications/preferences", headers=customer.headers
            )
        ).json()["push_public_key"]

        await api.accept(vendor, market.leads[vendor.user_id])
        pushes = await fetch(
            fresh_db, "SELECT * FROM notifications WHERE channel = 'push' ORDER BY user_id"
        )
        assert {p["user_id"] for p in pushes} == {customer.user_id, vendor.user_id}
        async with dispatching(app):

            async def settled() -> bool:
                return all(
                    r["status"] != "pending"
                    for r in await fetch(fresh_db, "SELECT * FROM notifications")
                )

            await eventually(settled, what="pushes settled")

    final = {
        r["user_id"]: r
        for r in await fetch(fresh_db, "SELECT * FROM notifications WHERE channel = 'push'")
    }
    assert final[customer.user_id]["status"] == "sent"
    assert final[vendor.user_id]["status"] == "dead"
    assert "expired" in final[vendor.user_id]["last_error"]
    remaining = await fetch(fresh_db, "SELECT id FROM push_subscriptions")
    assert [r["id"] for r in remaining] == [live]

    (delivered,) = [r for r in service.requests if r.path == "/ok/live"]
    notification_id = final[customer.user_id]["id"]
    assert delivered.headers["topic"] == notification_id
    assert delivered.headers["content-encoding"] == "aes128gcm"
    assert delivered.headers["authorization"].startswith("vapid t=")
    assert delivered.headers["authorization"].endswith(f"k={public_key}")
    content = json.loads(browser.decrypt(delivered.body))
    assert content == {
        "id": notification_id,
        "tag": notification_id,
        "event_id": final[customer.user_id]["event_id"],
        "title": "Lead accepted",
        "body": "Vendor accepted your job",
    }
