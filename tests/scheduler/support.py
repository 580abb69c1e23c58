"""Shared pieces of the scheduler tests."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.helpers import Api, Marketplace, User
from tradematch.core.config import Settings

API = "/api/connection"


def sessionmaker_of(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return maker


def settings_of(app: FastAPI) -> Settings:
    settings: Settings = app.state.settings
    return settings


async def events_seen_by(api: Api, user: User, job_id: str) -> list[dict[str, Any]]:
    response = await api.client.get(f"{API}/events/{job_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def job_status(api: Api, customer: User, job_id: str) -> str:
    response = await api.client.get(f"{API}/jobs/{job_id}", headers=customer.headers)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def lead_status(api: Api, vendor: User, lead_id: str) -> str:
    response = await api.client.get(f"{API}/leads/{lead_id}", headers=vendor.headers)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def award_and_fund(api: Api, market: Marketplace, amount: int = 120) -> User:
    """The first vendor accepts, quotes ``amount`` as one milestone, wins, and escrow is funded.
    Returns the winning vendor."""
    client, customer = api.client, market.customer
    winner = market.vendors[0]
    await api.accept(winner, market.leads[winner.user_id])
    sent = await client.post(
        f"{API}/quotes",
        json={
            "job_id": market.job_id,
            "amount": amount,
            "description": "New washer fitted and tested",
            "estimated_duration": "2 hours",
        },
        headers=winner.headers,
    )
    assert sent.status_code == 201, sent.text
    accepted = await client.patch(
        f"{API}/quotes/{sent.json()['quote_id']}/accept", json={}, headers=customer.headers
    )
    assert accepted.status_code == 200, accepted.text
    top_up = await client.post(
        f"{API}/wallet/top-up", json={"amount": amount}, headers=customer.headers
    )
    assert top_up.status_code == 200, top_up.text
    funded = await client.post(
        f"{API}/jobs/{market.job_id}/escrow/fund", json={}, headers=customer.headers
    )
    assert funded.status_code == 200, funded.text
    return winner


async def submit_milestones(api: Api, market: Marketplace, vendor: User) -> list[str]:
    client = api.client
    listed = await client.get(f"{API}/jobs/{market.job_id}/milestones", headers=vendor.headers)
    assert listed.status_code == 200, listed.text
    ids = [m["milestone_id"] for m in listed.json()["items"]]
    for milestone_id in ids:
        submitted = await client.post(
            f"{API}/milestones/{milestone_id}/submit",
            json={
                "completion_evidence": {
                    "photos": ["https://example.com/tap.jpg"],
                    "description": "Tap replaced, no leaks",
                }
            },
            headers=vendor.headers,
        )
        assert submitted.status_code == 200, submitted.text
    return ids


async def approve_milestones(api: Api, market: Marketplace, milestone_ids: list[str]) -> None:
    for milestone_id in milestone_ids:
        approved = await api.client.patch(
            f"{API}/milestones/{milestone_id}/approve",
            json={},
            headers=market.customer.headers,
        )
        assert approved.status_code == 200, approved.text
