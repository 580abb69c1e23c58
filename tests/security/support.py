"""Shared pieces of the security tests: an admin account, the fixture world, JSON walking."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.helpers import PASSWORD, Api, User, marketplace, new_area, postcode_in
from tradematch.accounts.service import create_user
from tradematch.kit.catalogue import Role


async def make_admin(api: Api, sessionmaker: async_sessionmaker[AsyncSession]) -> User:
    """An administrator, made the way ``tradematch admin create`` makes one, then signed in."""
    tag = uuid.uuid4().hex[:10]
    email = f"admin-{tag}@example.com"
    async with sessionmaker() as session, session.begin():
        user = await create_user(
            session,
            email=email,
            password=PASSWORD,
            name=f"Admin {tag}",
            phone="07000000000",
            postcode=postcode_in(new_area()),
            role=Role.ADMIN,
        )
        user_id, name, phone, postcode = user.id, user.name, user.phone, user.postcode
    login = await api.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return User(user_id, "admin", email, login.json()["access_token"], name, phone, postcode)


ACTORS = ("anonymous", "owner", "other_customer", "holder", "rival", "outsider", "admin")


@dataclass
class World:
    """A customer's live job offered to two vendors (``holder`` and ``rival``), a draft job of
    the same customer, and the users around it. ``params`` fills path templates."""

    users: dict[str, User | None]
    params: dict[str, str]

    def user(self, actor: str) -> User:
        user = self.users[actor]
        assert user is not None, actor
        return user

    def headers(self, actor: str) -> dict[str, str]:
        user = self.users[actor]
        return {} if user is None else user.headers


async def build_world(api: Api, admin: User, *, accepted: bool) -> World:
    market = await marketplace(api, vendors=2)
    holder, rival = market.vendors
    draft = await api.create_job(market.customer, title="Replace bathroom extractor fan")
    params = {
        "job_id": market.job_id,
        "draft_job_id": draft["job_id"],
        "lead_id": market.leads[holder.user_id],
        "rival_lead_id": market.leads[rival.user_id],
        "vendor_id": holder.user_id,
    }
    if accepted:
        params["conversation_id"] = (await api.accept(holder, params["lead_id"]))["conversation_id"]
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
