"""Attaching uploads by id to jobs, messages and milestone evidence: only your own, only once,
inside the parent's own transaction and event; refusals say nothing about whose upload it was."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.flows.database import Database
from tests.flows.deals import API, awarded_job, events_of, request_changes
from tests.flows.files import encode, pdf, picture, png
from tests.flows.users import Api, User, marketplace, new_area, postcode_in
from tradematch.kit.ids import new_id

NOT_ATTACHABLE = "UPLOAD_NOT_ATTACHABLE"


def job_body(**extra: Any) -> dict[str, Any]:
    return {
        "title": "Fix leaking kitchen tap",
        "trade_category": "Plumbing",
        "budget_min": 50,
        "budget_max": 150,
        "timeframe": "urgent",
        **extra,
    }


async def post_job(api: Api, customer: User, **extra: Any) -> httpx.Response:
    return await api.client.post(f"{API}/jobs", json=job_body(**extra), headers=customer.headers)


async def photo_ids(api: Api, user: User, job_id: str) -> list[str]:
    response = await api.client.get(f"{API}/jobs/{job_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    return [p["upload_id"] for p in response.json()["photo_uploads"]]


async def job_count(db: Database, customer: User) -> int:
    conn = await db.connect()
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM jobs WHERE customer_id = $1", customer.user_id
            )
        )
    finally:
        await conn.close()


def image(n: int) -> bytes:
    return encode(picture((20 + n, 20)), "PNG")


async def test_a_job_is_created_with_its_photos_in_order(api: Api) -> None:
    customer = await api.customer()
    first, second = [(await api.upload(customer, image(i)))["upload_id"] for i in (1, 2)]
    created = await post_job(api, customer, photo_upload_ids=[second, first])
    assert created.status_code == 201, created.text
    job_id = created.json()["job_id"]
    assert await photo_ids(api, customer, job_id) == [second, first]
    [event] = await events_of(api, customer, job_id, "JOB_CREATED")
    assert event["event_id"] == created.json()["event_id"]
    assert event["payload"]["photo_upload_ids"] == [second, first]
    listed = await api.client.get(f"{API}/jobs", headers=customer.headers)
    [item] = [j for j in listed.json()["items"] if j["job_id"] == job_id]
    assert [p["upload_id"] for p in item["photo_uploads"]] == [second, first]


async def test_refusals_do_not_say_whose_upload_it_was(api: Api, worker_db: Database) -> None:
    customer, stranger = await api.customer(), await api.customer()
    vendor = await api.vendor(postcode=postcode_in(new_area()), radius=1)
    theirs = (await api.upload(stranger, image(3)))["upload_id"]
    vendors_own = (await api.upload(vendor, image(4)))["upload_id"]
    used = (await api.upload(customer, image(5)))["upload_id"]
    assert (await post_job(api, customer, photo_upload_ids=[used])).status_code == 201
    document = (await api.upload(customer, pdf(), "plan.pdf"))["upload_id"]
    mine = (await api.upload(customer, image(6)))["upload_id"]
    before = await job_count(worker_db, customer)
    answers = []
    for bad in (theirs, vendors_own, used, document, new_id("upl")):
        response = await post_job(api, customer, photo_upload_ids=[mine, bad])
        assert response.status_code == 422, response.text
        answers.append(response.json())
    assert answers[0]["code"] == NOT_ATTACHABLE
    assert all(answer == answers[0] for answer in answers), answers
    # Nothing happened: no job, and my own upload is still free to use.
    assert await job_count(worker_db, customer) == before
    assert (await post_job(api, customer, photo_upload_ids=[mine])).status_code == 201


async def test_malformed_duplicate_and_too_many_ids_are_422(api: Api) -> None:
    customer = await api.customer()
    mine = (await api.upload(customer, image(7)))["upload_id"]
    for ids in (["upl_nope"], ["job_01JD5ZZZZZZZZZZZZZZZZZZZZZ"], [mine, mine], [mine] * 11):
        response = await post_job(api, customer, photo_upload_ids=ids)
        assert response.status_code == 422, (ids, response.text)
        assert response.json()["code"] == "VALIDATION_ERROR"
    eleven = [new_id("upl") for _ in range(11)]
    assert (await post_job(api, customer, photo_upload_ids=eleven)).status_code == 422


async def test_editing_a_draft_replaces_its_photos(api: Api) -> None:
    customer = await api.customer()
    a, b, c = [(await api.upload(customer, image(10 + i)))["upload_id"] for i in range(3)]
    job_id = (await post_job(api, customer, photo_upload_ids=[a, b])).json()["job_id"]
    edit = f"{API}/jobs/{job_id}"
    response = await api.client.patch(
        edit, json={"photo_upload_ids": [c, b]}, headers=customer.headers
    )
    assert response.status_code == 200, response.text
    assert await photo_ids(api, customer, job_id) == [c, b]
    [updated] = await events_of(api, customer, job_id, "JOB_UPDATED")
    assert updated["payload"]["fields"] == ["photo_upload_ids"]
    # The photo taken off is the customer's again, free for another job.
    other = await post_job(api, customer, photo_upload_ids=[a])
    assert other.status_code == 201, other.text
    # Someone else's photo in an edit changes nothing at all.
    stranger = (await api.upload(await api.customer(), image(14)))["upload_id"]
    refused = await api.client.patch(
        edit, json={"title": "New title", "photo_upload_ids": [stranger]}, headers=customer.headers
    )
    assert refused.status_code == 422 and refused.json()["code"] == NOT_ATTACHABLE
    assert await photo_ids(api, customer, job_id) == [c, b]
    got = await api.client.get(edit, headers=customer.headers)
    assert got.json()["title"] == "Fix leaking kitchen tap"
    assert (
        await api.client.patch(edit, json={"photo_upload_ids": None}, headers=customer.headers)
    ).status_code == 422
    cleared = await api.client.patch(edit, json={"photo_upload_ids": []}, headers=customer.headers)
    assert cleared.status_code == 200 and await photo_ids(api, customer, job_id) == []
    await api.publish(customer, job_id)
    late = await api.client.patch(edit, json={"photo_upload_ids": [b]}, headers=customer.headers)
    assert late.status_code == 409


async def test_messages_carry_uploads_and_urls_up_to_ten(api: Api) -> None:
    market = await marketplace(api, vendors=1)
    [vendor] = market.vendors
    conversation = (await api.accept(vendor, market.leads[vendor.user_id]))["conversation_id"]
    url = f"{API}/conversations/{conversation}/messages"
    photo = (await api.upload(market.customer, png(), "leak.png"))["upload_id"]
    sent = await api.client.post(
        url,
        json={"attachment_upload_ids": [photo], "attachments": ["https://example.com/a.jpg"]},
        headers=market.customer.headers,
    )
    assert sent.status_code == 201, sent.text
    [event] = await events_of(api, vendor, market.job_id, "MESSAGE_SENT")
    assert event["payload"]["attachment_upload_ids"] == [photo]
    page = (await api.client.get(url, headers=vendor.headers)).json()
    latest = page["items"][0]
    assert latest["message_id"] == sent.json()["message_id"]
    assert latest["type"] == "attachment"
    assert [u["upload_id"] for u in latest["attachment_uploads"]] == [photo]
    assert latest["attachments"] == ["https://example.com/a.jpg"]
    assert all(m["attachment_uploads"] == [] for m in page["items"][1:])
    # Attached once: not again, not by the other side.
    for user in (market.customer, vendor):
        again = await api.client.post(
            url, json={"attachment_upload_ids": [photo]}, headers=user.headers
        )
        assert again.status_code == 422 and again.json()["code"] == NOT_ATTACHABLE
    many = {
        "attachments": [f"https://example.com/{i}.jpg" for i in range(6)],
        "attachment_upload_ids": [new_id("upl") for _ in range(5)],
    }
    response = await api.client.post(url, json=many, headers=vendor.headers)
    assert response.status_code == 422 and response.json()["code"] == "VALIDATION_ERROR"
    assert (await api.client.post(url, json={}, headers=vendor.headers)).status_code == 422


async def test_two_messages_racing_for_one_upload(api: Api) -> None:
    market = await marketplace(api, vendors=1)
    [vendor] = market.vendors
    conversation = (await api.accept(vendor, market.leads[vendor.user_id]))["conversation_id"]
    photo = (await api.upload(vendor, image(20)))["upload_id"]
    url = f"{API}/conversations/{conversation}/messages"
    answers = await asyncio.gather(
        *(
            api.client.post(url, json={"attachment_upload_ids": [photo]}, headers=vendor.headers)
            for _ in range(4)
        )
    )
    assert sorted(a.status_code for a in answers) == [201, 422, 422, 422], [a.text for a in answers]
    page = (await api.client.get(url, headers=vendor.headers)).json()
    attached = [m for m in page["items"] if m["attachment_uploads"]]
    assert len(attached) == 1  # the refused messages were not written either


async def test_milestone_evidence_photos(api: Api) -> None:
    job = await awarded_job(api)
    milestone_id = job.milestone_ids[0]
    submit = f"{API}/milestones/{milestone_id}/submit"
    first = (await api.upload(job.winner, image(30), "before.jpg"))["upload_id"]
    document = (await api.upload(job.winner, pdf(), "invoice.pdf"))["upload_id"]
    customers = (await api.upload(job.customer, image(31)))["upload_id"]
    for ids in ([document], [customers]):
        evidence = {"description": "Done", "photo_upload_ids": ids}
        response = await api.client.post(
            submit, json={"completion_evidence": evidence}, headers=job.winner.headers
        )
        assert response.status_code == 422 and response.json()["code"] == NOT_ATTACHABLE
    too_many = {
        "description": "Done",
        "photos": [f"https://example.com/{i}.jpg" for i in range(9)],
        "photo_upload_ids": [first, new_id("upl")],
    }
    response = await api.client.post(
        submit, json={"completion_evidence": too_many}, headers=job.winner.headers
    )
    assert response.status_code == 422 and response.json()["code"] == "VALIDATION_ERROR"
    evidence = {
        "description": "Done",
        "photos": ["https://example.com/a.jpg"],
        "photo_upload_ids": [first],
    }
    response = await api.client.post(
        submit, json={"completion_evidence": evidence}, headers=job.winner.headers
    )
    assert response.status_code == 200, response.text
    [event] = await events_of(api, job.customer, job.job_id, "MILESTONE_SUBMITTED")
    assert event["payload"]["evidence"]["photo_upload_ids"] == [first]

    async def shown() -> dict[str, Any]:
        listed = await api.client.get(
            f"{API}/jobs/{job.job_id}/milestones", headers=job.customer.headers
        )
        [milestone] = [m for m in listed.json()["items"] if m["milestone_id"] == milestone_id]
        return dict(milestone["evidence"])

    current = await shown()
    assert current["photos"] == ["https://example.com/a.jpg"]
    assert [u["upload_id"] for u in current["photo_uploads"]] == [first]
    # Resubmitted after changes: the new evidence shows the new photos only; the earlier
    # photo stays readable to both parties (its submission is in the event log).
    assert (await request_changes(api, job.customer, milestone_id)).status_code == 200
    second = (await api.upload(job.winner, image(32), "after.jpg"))["upload_id"]
    for ids, status in (([first], 422), ([second], 200)):
        evidence = {"description": "Fixed", "photo_upload_ids": ids}
        response = await api.client.post(
            submit, json={"completion_evidence": evidence}, headers=job.winner.headers
        )
        assert response.status_code == status, response.text
    current = await shown()
    assert current["description"] == "Fixed"
    assert [u["upload_id"] for u in current["photo_uploads"]] == [second]
    for user in (job.customer, job.winner):
        old = await api.client.get(f"{API}/uploads/{first}", headers=user.headers)
        assert old.status_code == 200
    loser = await api.client.get(f"{API}/uploads/{second}", headers=job.loser.headers)
    assert loser.status_code == 404
