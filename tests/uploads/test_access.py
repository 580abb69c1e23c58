"""Who may read an upload: every actor against an upload attached to a job, a message, a
milestone's evidence, and one attached to nothing; by bearer token and by the signed links the
API hands out; and the links' own rules (expiry, viewer, tampering, revocation)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from tests.flows.database import Database
from tests.flows.deals import API, awarded_job, quoted
from tests.flows.files import encode, jpeg_with_gps, pdf, picture, png
from tests.flows.users import Api, User, marketplace
from tradematch.kit.ids import new_id
from tradematch.uploads.links import UploadLinks

PHOTO_NAME = "call 07700 900123.jpg"


@dataclass
class World:
    users: dict[str, User | None]
    uploads: dict[str, str]  # object kind → upload id
    job_id: str
    lead_ids: dict[str, str]  # actor → lead id on the job
    conversation_id: str
    contract_job_id: str


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest_asyncio.fixture(scope="module")
async def world(module_api: Api, admin: User) -> World:
    api = module_api
    market = await marketplace(api, vendors=2, photo=(PHOTO_NAME, jpeg_with_gps()))
    holder, rival = market.vendors
    conversation_id = (await api.accept(holder, market.leads[holder.user_id]))["conversation_id"]
    attachment = await api.upload(holder, png(), "meter.png")
    await _ok(
        await api.client.post(
            f"{API}/conversations/{conversation_id}/messages",
            json={"body": "The meter", "attachment_upload_ids": [attachment["upload_id"]]},
            headers=holder.headers,
        ),
        201,
    )
    loose = await api.upload(holder, encode(picture((30, 30)), "PNG"), "draft.png")
    contract = await awarded_job(api)
    evidence = await api.upload(contract.winner, encode(picture((40, 30)), "JPEG"), "after.jpg")
    await _ok(
        await api.client.post(
            f"{API}/milestones/{contract.milestone_ids[0]}/submit",
            json={
                "completion_evidence": {
                    "description": "New valve fitted",
                    "photo_upload_ids": [evidence["upload_id"]],
                }
            },
            headers=contract.winner.headers,
        )
    )
    assert market.photo_upload_id is not None
    return World(
        users={
            "anonymous": None,
            "owner": market.customer,
            "other_customer": market.other_customer,
            "holder": holder,
            "rival": rival,
            "outsider": market.outsider_vendor,
            "admin": admin,
            "contract_customer": contract.customer,
            "winner": contract.winner,
            "loser": contract.loser,
        },
        uploads={
            "job": market.photo_upload_id,
            "message": attachment["upload_id"],
            "milestone": evidence["upload_id"],
            "unattached": loose["upload_id"],
        },
        job_id=market.job_id,
        lead_ids={"holder": market.leads[holder.user_id], "rival": market.leads[rival.user_id]},
        conversation_id=conversation_id,
        contract_job_id=contract.job_id,
    )


# The whole rule as data: object → actor → status of GET /uploads/{id} with that actor's token.
# owner: the live job's customer; holder: vendor holding an accepted lead on it (and in the
# conversation); rival: vendor holding an offered lead on it; outsider: vendor without a lead;
# contract_customer / winner / loser: the customer, winning and losing vendors of another job
# whose milestone evidence carries the upload.
EXPECTED: dict[str, dict[str, int]] = {
    "job": {
        "anonymous": 401,
        "owner": 200,
        "holder": 200,
        "rival": 200,
        "outsider": 404,
        "other_customer": 404,
        "loser": 404,
        "admin": 200,
    },
    "message": {
        "anonymous": 401,
        "owner": 200,
        "holder": 200,
        "rival": 404,
        "outsider": 404,
        "other_customer": 404,
        "admin": 200,
    },
    "milestone": {
        "anonymous": 401,
        "contract_customer": 200,
        "winner": 200,
        "loser": 404,
        "outsider": 404,
        "owner": 404,
        "admin": 200,
    },
    "unattached": {
        "anonymous": 401,
        "holder": 200,
        "owner": 404,
        "rival": 404,
        "outsider": 404,
        "other_customer": 404,
        "admin": 404,
    },
}
CASES = [(kind, actor) for kind, actors in EXPECTED.items() for actor in actors]


def _headers(world: World, actor: str) -> dict[str, str]:
    user = world.users[actor]
    return {} if user is None else user.headers


@pytest.mark.parametrize(("kind", "actor"), CASES, ids=[f"{k}-{a}" for k, a in CASES])
async def test_who_may_read_an_upload(module_api: Api, world: World, kind: str, actor: str) -> None:
    client = module_api.client
    expected = EXPECTED[kind][actor]
    upload_id = world.uploads[kind]
    for suffix in ("", "/thumbnail"):
        response = await client.get(
            f"{API}/uploads/{upload_id}{suffix}", headers=_headers(world, actor)
        )
        assert response.status_code == expected, (suffix, response.text)
        if expected == 200:
            assert response.headers["content-type"].startswith("image/")
            continue
        body = response.json()
        assert body["code"] == {401: "UNAUTHORIZED", 404: "NOT_FOUND"}[expected]
        if expected == 404:
            ghost = await client.get(
                f"{API}/uploads/{new_id('upl')}{suffix}", headers=_headers(world, actor)
            )
            assert ghost.status_code == 404 and ghost.json() == body
            # A conditional request learns nothing either.
            etag_probe = await client.get(
                f"{API}/uploads/{upload_id}{suffix}",
                headers={**_headers(world, actor), "If-None-Match": "*"},
            )
            assert etag_probe.status_code == 404


async def _views_seen(api: Api, world: World, kind: str, actor: str) -> list[dict[str, Any]]:
    """The upload views the API shows ``actor`` for the object of ``kind``."""
    user = world.users[actor]
    assert user is not None
    client, headers = api.client, user.headers
    if kind == "job":
        if actor == "admin":
            body = await _ok(await client.get(f"/api/admin/jobs/{world.job_id}", headers=headers))
        elif actor == "owner":
            body = await _ok(await client.get(f"{API}/jobs/{world.job_id}", headers=headers))
        else:
            lead_id = world.lead_ids[actor]
            body = await _ok(await client.get(f"{API}/leads/{lead_id}", headers=headers))
            listed = await _ok(await client.get(f"{API}/leads", headers=headers))
            [item] = [i for i in listed["items"] if i["lead_id"] == lead_id]
            assert item["photo_uploads"] == body["photo_uploads"]
        return list(body["photo_uploads"])
    if kind == "message":
        page = await _ok(
            await client.get(
                f"{API}/conversations/{world.conversation_id}/messages", headers=headers
            )
        )
        return [view for m in page["items"] for view in m["attachment_uploads"]]
    if kind == "milestone":
        items = (
            await _ok(
                await client.get(f"{API}/jobs/{world.contract_job_id}/milestones", headers=headers)
            )
        )["items"]
        return [view for m in items if m["evidence"] for view in m["evidence"]["photo_uploads"]]
    return []


ALLOWED = [(k, a) for k, a in CASES if EXPECTED[k][a] == 200 and k != "unattached"]


@pytest.mark.parametrize(("kind", "actor"), ALLOWED, ids=[f"{k}-{a}" for k, a in ALLOWED])
async def test_signed_links_in_views_work_without_the_token(
    module_api: Api, world: World, kind: str, actor: str
) -> None:
    client = module_api.client
    [shown] = await _views_seen(module_api, world, kind, actor)
    assert shown["upload_id"] == world.uploads[kind]
    user = world.users[actor]
    assert user is not None
    for url in (shown["url"], shown["thumbnail_url"]):
        query = parse_qs(urlsplit(url).query)
        assert query["viewer"] == [user.user_id]
        by_link = await client.get(url)
        assert by_link.status_code == 200, by_link.text
        by_token = await client.get(urlsplit(url).path, headers=user.headers)
        assert by_link.content == by_token.content
        assert by_link.headers["x-content-type-options"] == "nosniff"
        assert by_link.headers["cache-control"] == "private, no-cache"
        assert by_link.headers["content-disposition"].startswith("inline;")
        # Revalidation answers 304 after the same access check.
        again = await client.get(url, headers={"If-None-Match": by_link.headers["etag"]})
        assert again.status_code == 304 and not again.content


async def test_job_photo_names_are_redacted_for_vendors(module_api: Api, world: World) -> None:
    [owner_view] = await _views_seen(module_api, world, "job", "owner")
    assert owner_view["filename"] == PHOTO_NAME
    for vendor in ("holder", "rival"):
        [shown] = await _views_seen(module_api, world, "job", vendor)
        assert shown["filename"] == "call [redacted].jpg"
        served = await module_api.client.get(shown["url"])
        disposition = served.headers["content-disposition"]
        assert "07700" not in disposition and "redacted" in disposition


async def test_the_uploader_sees_an_unattached_upload_in_the_post_answer(
    module_api: Api, world: World
) -> None:
    holder = world.users["holder"]
    assert holder is not None
    created = await module_api.upload(holder, png(), "mine.png")
    assert (await module_api.client.get(created["url"])).status_code == 200
    assert (await module_api.client.get(created["thumbnail_url"])).status_code == 200


# ------------------------------------------------------------------------- signed link rules


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    path = changes.pop("path", parts.path)
    query.update(changes)
    return f"{path}?{urlencode(query)}"


async def test_forged_and_stale_links_are_404(module_api: Api, world: World, app: FastAPI) -> None:
    client = module_api.client
    [shown] = await _views_seen(module_api, world, "job", "rival")
    url = shown["url"]
    assert (await client.get(url)).status_code == 200
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    links = UploadLinks(app.state.signing_key, 600)
    holder, rival, outsider = (world.users[a] for a in ("holder", "rival", "outsider"))
    assert holder is not None and rival is not None and outsider is not None
    job_photo = world.uploads["job"]
    forged = {
        "expired": links.url(job_photo, "file", rival.user_id, now=time.time() - 3600),
        "for another viewer": _with(url, viewer=holder.user_id),
        "for an outsider": _with(url, viewer=outsider.user_id),
        "tampered signature": _with(
            url, sig=query["sig"][:-2] + ("AA" if query["sig"][-2:] != "AA" else "BB")
        ),
        "extended expiry": _with(url, exp=str(int(query["exp"]) + 3600)),
        "another upload": _with(url, path=f"{API}/uploads/{world.uploads['message']}"),
        "the thumbnail's link": _with(shown["thumbnail_url"], path=f"{API}/uploads/{job_photo}"),
        "no signature": _with(url, sig=""),
        "exp not a number": _with(url, exp="soon"),
        "half a link": f"{API}/uploads/{job_photo}?viewer={rival.user_id}",
        "a signed link for someone who may not see it": links.url(
            job_photo, "file", outsider.user_id
        ),
    }
    ghost = await client.get(f"{API}/uploads/{new_id('upl')}?{urlsplit(url).query}")
    assert ghost.status_code == 404
    for label, link in forged.items():
        response = await client.get(link)
        assert response.status_code == 404, (label, response.text)
        assert response.json() == ghost.json(), label
    # No token and no link at all: authentication is required.
    assert (await client.get(f"{API}/uploads/{job_photo}")).status_code == 401


async def test_a_link_dies_with_the_viewers_right_to_see(api: Api) -> None:
    """The rival's lead closes when the job is awarded to another vendor: the job photo link
    it was given stops working at once, as does its token, and its lead shows no photos."""
    market = await marketplace(api, vendors=2, photo=("tap.jpg", jpeg_with_gps()))
    winner, rival = market.vendors
    rival_lead = market.leads[rival.user_id]
    preview = await _ok(await api.client.get(f"{API}/leads/{rival_lead}", headers=rival.headers))
    [photo] = preview["photo_uploads"]
    assert (await api.client.get(photo["url"])).status_code == 200
    await api.accept(winner, market.leads[winner.user_id])
    quote_id = await quoted(api, winner, market.job_id)
    await _ok(
        await api.client.patch(
            f"{API}/quotes/{quote_id}/accept", json={}, headers=market.customer.headers
        )
    )
    assert (await api.client.get(photo["url"])).status_code == 404
    assert (await api.client.get(photo["thumbnail_url"])).status_code == 404
    by_token = await api.client.get(f"{API}/uploads/{photo['upload_id']}", headers=rival.headers)
    assert by_token.status_code == 404
    after = await _ok(await api.client.get(f"{API}/leads/{rival_lead}", headers=rival.headers))
    assert after["photo_uploads"] == []
    # The winner keeps seeing the job's photo.
    won = await _ok(
        await api.client.get(f"{API}/leads/{market.leads[winner.user_id]}", headers=winner.headers)
    )
    assert [p["upload_id"] for p in won["photo_uploads"]] == [photo["upload_id"]]


async def test_a_pdf_in_a_conversation_is_a_download_for_both_sides(api: Api) -> None:
    market = await marketplace(api, vendors=1)
    [vendor] = market.vendors
    conversation_id = (await api.accept(vendor, market.leads[vendor.user_id]))["conversation_id"]
    document = await api.upload(vendor, pdf(), "quote.pdf")
    await _ok(
        await api.client.post(
            f"{API}/conversations/{conversation_id}/messages",
            json={"attachment_upload_ids": [document["upload_id"]]},
            headers=vendor.headers,
        ),
        201,
    )
    page = await _ok(
        await api.client.get(
            f"{API}/conversations/{conversation_id}/messages", headers=market.customer.headers
        )
    )
    latest = page["items"][0]
    assert latest["type"] == "attachment" and latest["body"] is None
    [shown] = latest["attachment_uploads"]
    assert shown["content_type"] == "application/pdf" and shown["thumbnail_url"] is None
    served = await api.client.get(shown["url"])
    assert served.status_code == 200 and served.content == pdf()
    assert served.headers["content-disposition"].startswith("attachment;")
    outsider = await api.client.get(
        f"{API}/uploads/{document['upload_id']}", headers=market.outsider_vendor.headers
    )
    assert outsider.status_code == 404


async def test_a_deactivated_viewers_links_stop_working(api: Api, worker_db: Database) -> None:
    customer = await api.customer()
    created = await api.upload(customer, png(), "mine.png")
    assert (await api.client.get(created["url"])).status_code == 200
    conn = await worker_db.connect()
    try:
        await conn.execute("UPDATE users SET is_active = false WHERE id = $1", customer.user_id)
    finally:
        await conn.close()
    assert (await api.client.get(created["url"])).status_code == 404
