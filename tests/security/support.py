"""Shared pieces of the security tests: the fixture world and JSON walking."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.helpers import Api, User, marketplace

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
