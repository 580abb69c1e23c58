"""Messaging: the conversation an accepted lead opens, sending, paging, unread counts, locking."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import asyncpg
import httpx
import pytest

from tests.flows.database import Database
from tests.flows.users import Api, Marketplace, User, marketplace

API = "/api/connection/conversations"
SYSTEM_TEXT = "Lead accepted. Messaging enabled."


async def _accepted(api: Api, vendors: int = 2) -> tuple[Marketplace, User, str]:
    """A live job whose first vendor accepted its lead: (market, that vendor, conversation id)."""
    market = await marketplace(api, vendors=vendors)
    vendor = market.vendors[0]
    accepted = await api.accept(vendor, market.leads[vendor.user_id])
    assert accepted["conversation_id"].startswith("conv_")
    return market, vendor, accepted["conversation_id"]


async def _send(api: Api, user: User, conversation_id: str, **body: Any) -> httpx.Response:
    return await api.client.post(
        f"{API}/{conversation_id}/messages", json=body, headers=user.headers
    )


async def _sent(api: Api, user: User, conversation_id: str, **body: Any) -> str:
    response = await _send(api, user, conversation_id, **body)
    assert response.status_code == 201, response.text
    assert response.json()["conversation_id"] == conversation_id
    assert response.json()["event_id"].startswith("evt_")
    return str(response.json()["message_id"])


async def _page(api: Api, user: User, conversation_id: str, **params: Any) -> dict[str, Any]:
    response = await api.client.get(
        f"{API}/{conversation_id}/messages", params=params, headers=user.headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _all(api: Api, user: User, conversation_id: str) -> list[dict[str, Any]]:
    return list((await _page(api, user, conversation_id, order="oldest_first", limit=100))["items"])


async def _inbox(api: Api, user: User) -> dict[str, dict[str, Any]]:
    response = await api.client.get(API, headers=user.headers)
    assert response.status_code == 200, response.text
    return {item["conversation_id"]: item for item in response.json()["items"]}


async def _mark_read(api: Api, user: User, conversation_id: str, **body: Any) -> httpx.Response:
    return await api.client.patch(
        f"{API}/{conversation_id}/mark-read", json=body, headers=user.headers
    )


# ---------------------------------------------------------------------------- opening


async def test_accepting_a_lead_opens_a_conversation_with_a_system_message(api: Api) -> None:
    market, vendor, conversation_id = await _accepted(api)

    for participant in (market.customer, vendor):
        messages = await _all(api, participant, conversation_id)
        assert len(messages) == 1
        first = messages[0]
        assert first["type"] == "system"
        assert first["body"] == SYSTEM_TEXT
        assert first["sender_id"] is None
        assert first["sender_role"] == "system"
        assert first["position"] == 1
        assert first["message_id"].startswith("msg_")

    inbox = await _inbox(api, market.customer)
    assert inbox[conversation_id]["status"] == "open"
    assert inbox[conversation_id]["messaging_enabled"] is True
    assert inbox[conversation_id]["job_id"] == market.job_id
    assert (
        inbox[conversation_id]["counterpart_name"] == vendor.body["vendor_profile"]["business_name"]
    )
    assert (await _inbox(api, vendor))[conversation_id]["counterpart_name"] == market.customer.name

    # The lead now points at the conversation, for the vendor.
    lead = await api.client.get(
        f"/api/connection/leads/{market.leads[vendor.user_id]}", headers=vendor.headers
    )
    assert lead.json()["conversation_id"] == conversation_id


async def test_no_conversation_before_the_vendor_accepts(api: Api) -> None:
    market, _vendor, conversation_id = await _accepted(api)
    waiting = market.vendors[1]  # offered the same job, has not accepted

    assert await _inbox(api, waiting) == {}
    lead = await api.lead_for(waiting, market.job_id)
    assert "conversation_id" not in lead
    # The customer has exactly one conversation: the one with the vendor who accepted.
    assert list(await _inbox(api, market.customer)) == [conversation_id]


def test_a_new_process_can_store_messages() -> None:
    """Regression: sessions need every table model registered. A process that had not imported
    the quotes models (``messages.quote_id`` refers to ``quotes``) failed with a 500 on the
    first message it stored, e.g. when a lead was accepted."""
    code = (
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        "from tradematch.app import api_routers\n"
        "from tradematch.sessions import create_sessionmaker\n"
        "from tradematch.core.orm import Base\n"
        "api_routers()\n"  # what the app imports: every endpoint module
        "create_sessionmaker(create_async_engine('postgresql+asyncpg://u@localhost/x'))\n"
        "for table in Base.metadata.tables.values():\n"
        "    for fk in table.foreign_keys:\n"
        "        fk.column  # raises NoReferencedTableError if the target is not registered\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------- sending


async def test_both_parties_send_text_and_attachments(api: Api) -> None:
    market, vendor, conversation_id = await _accepted(api)
    photos = [
        "https://cdn.example.com/tap.jpg",
        "https://cdn.example.com/pipe.png?size=large",
    ]

    hello = await _sent(api, market.customer, conversation_id, body="Can you come on Tuesday?")
    reply = await _sent(
        api, vendor, conversation_id, body="Yes, here is a similar job", attachments=photos
    )
    only_photo = await _sent(api, market.customer, conversation_id, attachments=[photos[0]])
    limit = [f"https://cdn.example.com/{i}.jpg" for i in range(10)]
    ten = await _sent(api, vendor, conversation_id, attachments=limit)
    longest = await _sent(api, vendor, conversation_id, body="z" * 5000)

    messages = await _all(api, vendor, conversation_id)
    assert [m["message_id"] for m in messages[1:]] == [hello, reply, only_photo, ten, longest]
    assert [m["position"] for m in messages] == [1, 2, 3, 4, 5, 6]
    by_id = {m["message_id"]: m for m in messages}
    assert by_id[hello]["type"] == "text"
    assert (by_id[hello]["sender_id"], by_id[hello]["sender_role"]) == (
        market.customer.user_id,
        "customer",
    )
    assert by_id[hello]["attachments"] == []
    assert by_id[reply]["type"] == "attachment"
    assert (by_id[reply]["sender_id"], by_id[reply]["sender_role"]) == (vendor.user_id, "vendor")
    assert by_id[reply]["body"] == "Yes, here is a similar job"
    assert by_id[reply]["attachments"] == photos
    assert (by_id[only_photo]["body"], by_id[only_photo]["attachments"]) == (None, [photos[0]])
    assert by_id[ten]["attachments"] == limit
    assert by_id[longest]["body"] == "z" * 5000
    # Both participants read the same conversation.
    assert await _all(api, market.customer, conversation_id) == messages


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            {"body": "see", "attachments": ["http://cdn.example.com/tap.jpg"]}, id="http-url"
        ),
        pytest.param({"attachments": ["javascript:alert(1)"]}, id="javascript-url"),
        pytest.param({"attachments": ["ftp://cdn.example.com/tap.jpg"]}, id="ftp-url"),
        pytest.param({"attachments": ["not a url"]}, id="not-a-url"),
        pytest.param({"attachments": ["https://"]}, id="https-without-host"),
        pytest.param(
            {"attachments": [f"https://x.example.com/{i}.jpg" for i in range(11)]},
            id="11-attachments",
        ),
        pytest.param({"body": "hi", "attachments": [42]}, id="attachment-number"),
        pytest.param(
            {"attachments": "https://cdn.example.com/tap.jpg"}, id="attachments-not-a-list"
        ),
        pytest.param({}, id="empty"),
        pytest.param({"body": None, "attachments": []}, id="null-body-no-attachments"),
        pytest.param({"body": ""}, id="empty-body"),
        pytest.param({"body": "   "}, id="blank-body"),
        pytest.param({"body": "x" * 5001}, id="body-5001-chars"),
        pytest.param({"body": "nul\x00byte"}, id="nul-in-body"),
        pytest.param({"body": 5}, id="body-number"),
        pytest.param({"body": "hi", "type": "system"}, id="type-is-not-settable"),
        pytest.param({"body": "hi", "kind": "system"}, id="kind-is-not-settable"),
        pytest.param(
            {"body": "hi", "sender_id": "usr_01JD5Z0000000000000000000"}, id="sender-not-settable"
        ),
    ],
)
async def test_bad_message_is_422_and_stores_nothing(api: Api, body: dict[str, Any]) -> None:
    market, _vendor, conversation_id = await _accepted(api, vendors=1)

    response = await _send(api, market.customer, conversation_id, **body)

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert isinstance(response.json()["error"], str)
    messages = await _all(api, market.customer, conversation_id)
    assert [m["type"] for m in messages] == ["system"]


# ---------------------------------------------------------------------------- paging


async def _walk(
    api: Api, user: User, conversation_id: str, **params: Any
) -> tuple[list[int], list[int]]:
    """Follow next_cursor to the end; return (positions in order, page sizes)."""
    positions: list[int] = []
    sizes: list[int] = []
    cursor: str | None = None
    while True:
        page = await _page(
            api, user, conversation_id, **params, **({"cursor": cursor} if cursor else {})
        )
        positions += [m["position"] for m in page["items"]]
        sizes.append(len(page["items"]))
        cursor = page["next_cursor"]
        if cursor is None:
            return positions, sizes
        assert int(cursor) == page["items"][-1]["position"]


async def test_message_pages_in_both_orders(api: Api) -> None:
    market, vendor, conversation_id = await _accepted(api, vendors=1)
    for i in range(11):
        sender = market.customer if i % 2 == 0 else vendor
        await _sent(api, sender, conversation_id, body=f"message {i}")
    # 12 messages in all: the system message, then "message 0" … "message 10".

    default = await _page(api, vendor, conversation_id, limit=5)  # newest first by default
    assert [m["position"] for m in default["items"]] == [12, 11, 10, 9, 8]
    assert default["items"][0]["body"] == "message 10"

    newest, sizes = await _walk(api, vendor, conversation_id, limit=5)
    assert newest == list(range(12, 0, -1))  # no duplicates, no gaps
    assert sizes == [5, 5, 2]

    oldest, sizes = await _walk(
        api, market.customer, conversation_id, limit=5, order="oldest_first"
    )
    assert oldest == list(range(1, 13))
    assert sizes == [5, 5, 2]

    exact, sizes = await _walk(api, vendor, conversation_id, limit=4, order="oldest_first")
    assert exact == list(range(1, 13))
    assert sizes == [4, 4, 4]  # a full last page still ends the walk (no empty extra page)

    everything = await _page(api, vendor, conversation_id, limit=100)
    assert len(everything["items"]) == 12
    assert everything["next_cursor"] is None

    # A page started mid-way continues from the cursor, in either direction.
    after_six = await _page(api, vendor, conversation_id, order="oldest_first", cursor=6, limit=3)
    assert [m["position"] for m in after_six["items"]] == [7, 8, 9]
    before_six = await _page(api, vendor, conversation_id, cursor=6, limit=3)
    assert [m["position"] for m in before_six["items"]] == [5, 4, 3]

    for params in (
        {"order": "sideways"},
        {"limit": 0},
        {"limit": 101},
        {"cursor": "abc"},
        {"cursor": -1},
    ):
        response = await api.client.get(
            f"{API}/{conversation_id}/messages", params=params, headers=vendor.headers
        )
        assert response.status_code == 422, (params, response.text)
        assert response.json()["code"] == "VALIDATION_ERROR"


async def test_messages_sent_between_pages_do_not_shift_the_walk(api: Api) -> None:
    """Cursors are positions, not offsets: a message arriving mid-walk neither duplicates nor
    hides one in a newest-first walk back in time."""
    market, vendor, conversation_id = await _accepted(api, vendors=1)
    for i in range(6):
        await _sent(api, market.customer, conversation_id, body=f"m{i}")  # positions 2..7

    first = await _page(api, vendor, conversation_id, limit=3)
    assert [m["position"] for m in first["items"]] == [7, 6, 5]
    await _sent(api, market.customer, conversation_id, body="late arrival")  # position 8
    second = await _page(api, vendor, conversation_id, limit=3, cursor=first["next_cursor"])
    assert [m["position"] for m in second["items"]] == [4, 3, 2]


# ---------------------------------------------------------------------------- inbox and unread


async def test_inbox_unread_counts_and_mark_read(api: Api) -> None:
    market, vendor, conversation_id = await _accepted(api, vendors=1)
    customer = market.customer
    # Both start with the unread system message.
    assert (await _inbox(api, customer))[conversation_id]["unread_count"] == 1
    assert (await _inbox(api, vendor))[conversation_id]["unread_count"] == 1

    first = await _sent(api, customer, conversation_id, body="Hello")
    await _sent(api, customer, conversation_id, body="Are you free?")
    last = await _sent(api, vendor, conversation_id, body="Tomorrow at 9?")

    customer_view = (await _inbox(api, customer))[conversation_id]
    vendor_view = (await _inbox(api, vendor))[conversation_id]
    # One's own messages are never unread for oneself.
    assert customer_view["unread_count"] == 2  # system + the vendor's reply
    assert vendor_view["unread_count"] == 3  # system + the customer's two
    for view in (customer_view, vendor_view):
        assert view["last_message"]["message_id"] == last
        assert view["last_message"]["body"] == "Tomorrow at 9?"
        assert view["last_message"]["sender_id"] == vendor.user_id
        assert view["last_message_at"] is not None

    # The vendor reads up to the customer's first message: only the second stays unread.
    partial = await _mark_read(api, vendor, conversation_id, up_to_message_id=first)
    assert partial.status_code == 200, partial.text
    assert (partial.json()["last_read_position"], partial.json()["unread_count"]) == (2, 1)
    assert (await _inbox(api, vendor))[conversation_id]["unread_count"] == 1

    everything = await _mark_read(api, vendor, conversation_id)
    assert everything.status_code == 200, everything.text
    assert (everything.json()["last_read_position"], everything.json()["unread_count"]) == (4, 0)
    assert everything.json()["event_id"].startswith("evt_")
    assert (await _inbox(api, vendor))[conversation_id]["unread_count"] == 0
    # ... for the vendor only: the customer's unread count is untouched.
    assert (await _inbox(api, customer))[conversation_id]["unread_count"] == 2

    # Read state never moves backwards.
    back = await _mark_read(api, vendor, conversation_id, up_to_message_id=first)
    assert (back.json()["last_read_position"], back.json()["unread_count"]) == (4, 0)

    # A message that arrives later is unread again, for its recipient only.
    await _sent(api, customer, conversation_id, body="Great, see you then")
    assert (await _inbox(api, vendor))[conversation_id]["unread_count"] == 1
    assert (await _inbox(api, customer))[conversation_id]["unread_count"] == 2

    # A message id from another conversation is not a read marker here.
    _other_market, other_vendor, other_conversation = await _accepted(api, vendors=1)
    foreign = await _sent(api, other_vendor, other_conversation, body="elsewhere")
    wrong = await _mark_read(api, vendor, conversation_id, up_to_message_id=foreign)
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["code"] == "VALIDATION_ERROR"
    assert (await _inbox(api, vendor))[conversation_id]["unread_count"] == 1


async def test_inbox_orders_by_latest_activity(api: Api) -> None:
    market = await marketplace(api, vendors=2)
    conversations = {}
    for vendor in market.vendors:
        accepted = await api.accept(vendor, market.leads[vendor.user_id])
        conversations[vendor.user_id] = accepted["conversation_id"]
    first_vendor, second_vendor = market.vendors
    await _sent(api, market.customer, conversations[first_vendor.user_id], body="You first")

    response = await api.client.get(API, headers=market.customer.headers)
    order = [item["conversation_id"] for item in response.json()["items"]]
    assert order == [conversations[first_vendor.user_id], conversations[second_vendor.user_id]]

    await _sent(api, second_vendor, conversations[second_vendor.user_id], body="Me now")
    response = await api.client.get(API, headers=market.customer.headers)
    order = [item["conversation_id"] for item in response.json()["items"]]
    assert order == [conversations[second_vendor.user_id], conversations[first_vendor.user_id]]

    # Each vendor sees only its own conversation with the customer.
    assert list(await _inbox(api, first_vendor)) == [conversations[first_vendor.user_id]]
    assert list(await _inbox(api, second_vendor)) == [conversations[second_vendor.user_id]]


# ---------------------------------------------------------------------------- locking and access


async def test_cancelled_job_locks_the_conversation_but_reading_still_works(api: Api) -> None:
    market, vendor, conversation_id = await _accepted(api)
    await _sent(api, market.customer, conversation_id, body="Before the cancel")
    before = await _all(api, vendor, conversation_id)

    cancel = await api.client.patch(
        f"/api/connection/jobs/{market.job_id}/cancel", json={}, headers=market.customer.headers
    )
    assert cancel.status_code == 200, cancel.text

    # The customer is told messaging is locked; the vendor, now out of the job, only that the
    # job is no longer available (contract §6).
    for participant, status, code in (
        (market.customer, 403, "MESSAGING_DISABLED"),
        (vendor, 409, "NO_LONGER_AVAILABLE"),
    ):
        response = await _send(api, participant, conversation_id, body="Still there?")
        assert response.status_code == status, response.text
        assert response.json()["code"] == code
        attachment = await _send(
            api, participant, conversation_id, attachments=["https://cdn.example.com/a.jpg"]
        )
        assert attachment.status_code == status, attachment.text
        assert attachment.json()["code"] == code

        summary = (await _inbox(api, participant))[conversation_id]
        assert summary["status"] == "locked"
        assert summary["messaging_enabled"] is False
        # History stays readable, unchanged.
        assert await _all(api, participant, conversation_id) == before
        read = await _mark_read(api, participant, conversation_id)
        assert read.status_code == 200, read.text


async def test_non_participants_get_404(api: Api) -> None:
    market, vendor, conversation_id = await _accepted(api)
    await _sent(api, vendor, conversation_id, body="Private words")
    strangers = {
        "vendor offered the same job": market.vendors[1],
        "vendor elsewhere": market.outsider_vendor,
        "another customer": market.other_customer,
    }

    for who, stranger in strangers.items():
        for response in (
            await api.client.get(f"{API}/{conversation_id}/messages", headers=stranger.headers),
            await _send(api, stranger, conversation_id, body="Let me in"),
            await _mark_read(api, stranger, conversation_id),
        ):
            assert response.status_code == 404, (who, response.text)
            assert response.json()["code"] == "NOT_FOUND"
            assert "Private words" not in response.text
        assert conversation_id not in await _inbox(api, stranger), who

    # A conversation that does not exist answers exactly the same.
    missing = await api.client.get(
        f"{API}/conv_01JD5Z00000000000000000000/messages", headers=vendor.headers
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")
    # Nothing the strangers tried was stored.
    assert [m["body"] for m in await _all(api, vendor, conversation_id)] == [
        SYSTEM_TEXT,
        "Private words",
    ]
    anonymous = await api.client.get(f"{API}/{conversation_id}/messages")
    assert anonymous.status_code == 401


async def test_messages_are_immutable(api: Api, worker_db: Database) -> None:
    market, vendor, conversation_id = await _accepted(api, vendors=1)
    message_id = await _sent(api, market.customer, conversation_id, body="Final words")

    # The API offers no way to change or remove a message.
    for method in ("PUT", "PATCH", "DELETE"):
        for path in (
            f"{API}/{conversation_id}/messages",
            f"{API}/{conversation_id}/messages/{message_id}",
        ):
            response = await api.client.request(
                method, path, json={"body": "Edited"}, headers=vendor.headers
            )
            assert response.status_code in (404, 405), (method, path, response.text)

    # And the database itself refuses, whoever asks.
    conn = await worker_db.connect()
    try:
        for statement in (
            "UPDATE messages SET body = 'Edited' WHERE id = $1",
            "DELETE FROM messages WHERE id = $1",
            "TRUNCATE messages CASCADE",  # CASCADE gets past the uploads' foreign key
        ):
            # Each attempt in a transaction that is rolled back, so a broken trigger cannot
            # take the shared database's messages with it.
            transaction = conn.transaction()
            await transaction.start()
            try:
                with pytest.raises(asyncpg.PostgresError, match="append-only"):
                    if "$1" in statement:
                        await conn.execute(statement, message_id)
                    else:
                        await conn.execute(statement)
            finally:
                await transaction.rollback()
        body = await conn.fetchval("SELECT body FROM messages WHERE id = $1", message_id)
    finally:
        await conn.close()
    assert body == "Final words"
    assert [m["body"] for m in await _all(api, market.customer, conversation_id)] == [
        SYSTEM_TEXT,
        "Final words",
    ]
