"""Event payloads speak the API's language: pounds, and a message's ``type``.

New events are written that way. Events written before (``amount_pence``, a MESSAGE_SENT's
``kind``) stay in the log as written, since the hash chain covers them: participants see them in
today's shape, administrators see the log as written, and the chain still verifies.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tests.flows.users import Api, User, marketplace
from tradematch.authz.actor import SYSTEM
from tradematch.events.log import emit
from tradematch.events.types import EventType
from tradematch.events.unit_of_work import unit_of_work


async def _history(api: Api, user: User, job_id: str) -> list[dict[str, Any]]:
    response = await api.client.get(f"/api/connection/events/{job_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_new_payloads_carry_pounds_and_the_message_type(api: Api) -> None:
    market = await marketplace(api, vendors=1)
    [vendor] = market.vendors
    accepted = await api.accept(vendor, market.leads[vendor.user_id])
    quote = await api.client.post(
        "/api/connection/quotes",
        json={"job_id": market.job_id, "amount": 120.5, "description": "Washer and labour"},
        headers=vendor.headers,
    )
    assert quote.status_code == 201, quote.text
    sent = await api.client.post(
        f"/api/connection/conversations/{accepted['conversation_id']}/messages",
        json={"body": "Tomorrow at 9?"},
        headers=market.customer.headers,
    )
    assert sent.status_code == 201, sent.text

    events = {e["type"]: e for e in await _history(api, market.customer, market.job_id)}
    assert events["QUOTE_SENT"]["payload"]["amount"] == 120.5
    assert "amount_pence" not in events["QUOTE_SENT"]["payload"]
    message = events["MESSAGE_SENT"]["payload"]
    assert message["type"] == "text" and "kind" not in message


async def test_old_payloads_are_shown_in_todays_shape(app: FastAPI, api: Api, admin: User) -> None:
    market = await marketplace(api, vendors=1)
    customer = market.customer
    # Two events as earlier versions wrote them, through the production emit() path.
    async with unit_of_work(app.state.sessionmaker) as session:
        emit(
            session,
            EventType.QUOTE_SENT,
            actor=SYSTEM,
            job_id=market.job_id,
            payload={"quote_id": "quote_old", "lead_id": "lead_old", "amount_pence": 12050},
            audience=[customer.user_id],
        )
        emit(
            session,
            EventType.MESSAGE_SENT,
            actor=SYSTEM,
            job_id=market.job_id,
            payload={
                "conversation_id": "conv_old",
                "message_id": "msg_old",
                "position": 2,
                "kind": "text",
                "sender_id": customer.user_id,
                "attachment_upload_ids": [],
            },
            audience=[customer.user_id],
        )

    shown = {e["type"]: e["payload"] for e in await _history(api, customer, market.job_id)}
    assert shown["QUOTE_SENT"] == {"quote_id": "quote_old", "lead_id": "lead_old", "amount": 120.5}
    assert shown["MESSAGE_SENT"]["type"] == "text" and "kind" not in shown["MESSAGE_SENT"]

    # Administrators read the log as written, and the chain over it is intact.
    log = await api.client.get(
        "/api/admin/events", params={"job_id": market.job_id}, headers=admin.headers
    )
    assert log.status_code == 200, log.text
    written = {e["type"]: e["payload"] for e in log.json()["items"]}
    assert written["QUOTE_SENT"]["amount_pence"] == 12050
    assert written["MESSAGE_SENT"]["kind"] == "text"
    chain = await api.client.get(f"/api/admin/jobs/{market.job_id}/chain", headers=admin.headers)
    assert chain.status_code == 200 and chain.json()["ok"] is True, chain.text


def test_every_event_type_has_a_payload_schema() -> None:
    # An event type without one could not be shown: the feed's union is discriminated by type.
    from tradematch.events.schemas import PAYLOADS

    assert [event_type for event_type in EventType if event_type not in PAYLOADS] == []
