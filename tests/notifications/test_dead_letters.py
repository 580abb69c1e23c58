"""``GET /api/admin/notifications/dead``: the notifications parked after their last attempt,
newest first, for the admin dashboard; nothing pending or sent is listed."""

from __future__ import annotations

from tests.flows.database import Database
from tests.flows.users import Api, create_admin, marketplace


async def test_dead_letters_are_listed_newest_first_with_their_event(
    fresh_api: Api, fresh_db: Database
) -> None:
    admin = await create_admin(fresh_api, fresh_db.async_url)
    await marketplace(fresh_api, vendors=2)
    conn = await fresh_db.connect()
    try:
        rows = await conn.fetch(
            "SELECT n.id, e.type FROM notifications n JOIN event_log e ON e.id = n.event_id"
            " ORDER BY n.id LIMIT 3"
        )
        assert len(rows) == 3
        dead = [rows[0], rows[2]]
        for row in dead:
            await conn.execute(
                "UPDATE notifications SET status = 'dead', attempts = 8,"
                " last_error = 'SMTP 550 mailbox unavailable' WHERE id = $1",
                row["id"],
            )
    finally:
        await conn.close()

    response = await fresh_api.client.get("/api/admin/notifications/dead", headers=admin.headers)
    assert response.status_code == 200, response.text
    page = response.json()
    assert [n["notification_id"] for n in page["items"]] == [dead[1]["id"], dead[0]["id"]]
    assert page["next_cursor"] is None
    first = page["items"][0]
    assert first["event_type"] == dead[1]["type"]
    assert first["attempts"] == 8
    assert first["last_error"] == "SMTP 550 mailbox unavailable"

    one = await fresh_api.client.get(
        "/api/admin/notifications/dead", params={"limit": 1}, headers=admin.headers
    )
    assert [n["notification_id"] for n in one.json()["items"]] == [dead[1]["id"]]
    rest = await fresh_api.client.get(
        "/api/admin/notifications/dead",
        params={"cursor": one.json()["next_cursor"]},
        headers=admin.headers,
    )
    assert [n["notification_id"] for n in rest.json()["items"]] == [dead[0]["id"]]
