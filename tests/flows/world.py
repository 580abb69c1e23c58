"""The security tests' world (a job, the users around it, and the money side at the stage a test
needs) and walking JSON documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.flows.deals import API
from tests.flows.users import Api, User, marketplace

ACTORS = ("anonymous", "owner", "other_customer", "holder", "rival", "outsider", "admin")


@dataclass
class World:
    """A customer's live job offered to two vendors (``holder`` and ``rival``), a draft job of
    the same customer, and the users around it; with ``stages``, also the money side (see
    ``STAGES``). ``params`` fills path templates."""

    users: dict[str, User | None]
    params: dict[str, str]

    def user(self, actor: str) -> User:
        user = self.users[actor]
        assert user is not None, actor
        return user

    def headers(self, actor: str) -> dict[str, str]:
        user = self.users[actor]
        return {} if user is None else user.headers


# The money side of a world, built on demand. "quoted": the holder's pending quote on the live
# job (``quote_id``). Every other stage is a job of its own (``contract_job_id``) offered to
# the same two vendors, both of whom accept and quote; the owner awards it to the holder, so
# the rival is the vendor who lost. Each stage goes one step further than the one it needs:
STAGES: dict[str, str | None] = {
    "quoted": None,
    "awarded": None,  # escrow pending; the owner's wallet topped up (``milestone_id``)
    "funded": "awarded",  # escrow held
    "submitted": "funded",  # the milestone submitted with evidence
    "disputed": "funded",  # the owner raised a dispute (``dispute_id``)
    "completed": "submitted",  # approved and released: the job is completed
    "reviewed": "completed",  # the owner's published review (``review_id``)
    "responded": "reviewed",  # ...and the holder's response to it
    "held_review": "completed",  # a review held for moderation (``review_id``)
}
JOB_PHOTO = bytes.fromhex(  # a 1x1 PNG
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c49444154789c63f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)
HELD_FEEDBACK = "Great job, call him on 07700 900456"  # contact details: held for moderation


async def _call(api: Api, user: User, method: str, path: str, body: Any, expect: int) -> Any:
    response = await api.client.request(method, f"{API}{path}", json=body, headers=user.headers)
    assert response.status_code == expect, (method, path, response.text)
    return response.json()


async def _contract(api: Api, owner: User, holder: User, rival: User, stage: str) -> dict[str, str]:
    """A job of the owner taken to ``stage`` (after "awarded"); the ids it names."""
    chain = [stage]
    while (before := STAGES[chain[-1]]) is not None:
        chain.append(before)
    job_id = (await api.create_job(owner, title="Replace a radiator valve"))["job_id"]
    await api.publish(owner, job_id)
    quotes = {}
    for vendor, amount in ((holder, 120), (rival, 150)):
        lead_id = (await api.lead_for(vendor, job_id))["lead_id"]
        await api.accept(vendor, lead_id)
        quote = {"job_id": job_id, "amount": amount, "description": "Valve and labour"}
        quotes[vendor.user_id] = (await _call(api, vendor, "POST", "/quotes", quote, 201))[
            "quote_id"
        ]
    await _call(api, owner, "PATCH", f"/quotes/{quotes[holder.user_id]}/accept", {}, 200)
    await _call(api, owner, "POST", "/wallet/top-up", {"amount": 1000}, 200)
    [milestone] = (await _call(api, owner, "GET", f"/jobs/{job_id}/milestones", None, 200))["items"]
    ids = {"contract_job_id": job_id, "milestone_id": milestone["milestone_id"]}
    milestone_path = f"/milestones/{milestone['milestone_id']}"
    evidence = {"completion_evidence": {"photos": [], "description": "New valve fitted"}}
    review = {"job_id": job_id, "rating": 5, "recommend_yes_no": True}
    steps: dict[str, tuple[User, str, str, dict[str, Any], int]] = {
        "funded": (owner, "POST", f"/jobs/{job_id}/escrow/fund", {}, 200),
        "submitted": (holder, "POST", f"{milestone_path}/submit", evidence, 200),
        "disputed": (owner, "POST", f"/jobs/{job_id}/dispute", {"reason": "Still leaks"}, 201),
        "completed": (owner, "PATCH", f"{milestone_path}/approve", {}, 200),
        "reviewed": (owner, "POST", "/reviews", {**review, "feedback": "Spot on"}, 201),
        "held_review": (owner, "POST", "/reviews", {**review, "feedback": HELD_FEEDBACK}, 201),
    }
    for step in reversed(chain):
        if step == "responded":
            path = f"/reviews/{ids['review_id']}/respond"
            await _call(api, holder, "PATCH", path, {"response": "Thank you!"}, 200)
        elif step in steps:
            answer = await _call(api, *steps[step])
            for key in ("dispute_id", "review_id"):
                if key in answer:
                    ids[key] = answer[key]
            if "review_id" in answer:
                ids["review_job_id"] = job_id
    return ids


async def build_world(
    api: Api, admin: User, *, accepted: bool, stages: tuple[str, ...] = ()
) -> World:
    """The world, with the money-side ``stages`` asked for; when several name the same
    parameter (``contract_job_id``, ``milestone_id``) the first stage's wins."""
    market = await marketplace(api, vendors=2, photo=("tap.png", JOB_PHOTO))
    holder, rival = market.vendors
    draft = await api.create_job(market.customer, title="Replace bathroom extractor fan")
    params = {
        "job_id": market.job_id,
        "draft_job_id": draft["job_id"],
        "lead_id": market.leads[holder.user_id],
        "rival_lead_id": market.leads[rival.user_id],
        "vendor_id": holder.user_id,
        "upload_id": str(market.photo_upload_id),  # the live job's photo
    }
    if accepted:
        params["conversation_id"] = (await api.accept(holder, params["lead_id"]))["conversation_id"]
        inbox = await api.client.get(
            "/api/connection/notifications", headers=market.customer.headers
        )
        params["notification_id"] = inbox.json()["items"][0]["notification_id"]  # "accepted"
    for stage in stages:
        if stage == "quoted":
            assert accepted, "the holder quotes on a lead it accepted"
            quote = {"job_id": market.job_id, "amount": 95, "estimated_duration": "1 day"}
            params["quote_id"] = (await _call(api, holder, "POST", "/quotes", quote, 201))[
                "quote_id"
            ]
        else:
            for key, value in (await _contract(api, market.customer, holder, rival, stage)).items():
                params.setdefault(key, value)
    users: dict[str, User | None] = {
        "anonymous": None,
        "owner": market.customer,
        "other_customer": market.other_customer,
        "holder": holder,
        "rival": rival,
        "outsider": market.outsider_vendor,
        "admin": admin,
    }
    return World(users, params)


def walk(value: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    """Every node of a JSON document, with its path (``$.items[0].title``)."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")


def keys_of(value: Any) -> set[str]:
    found: set[str] = set()
    for _, node in walk(value):
        if isinstance(node, dict):
            found.update(node)
    return found


def as_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
