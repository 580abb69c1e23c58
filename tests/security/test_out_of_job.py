"""A vendor out of a job is told only "This job is no longer available" (contract §6).

Out of the job: its lead was declined, expired, or closed (the job was cancelled or expired, or
another vendor won it; the job may since be in progress, disputed or closed). Whatever the reason
and whatever vendor action it tries on the job, its lead, its quote or its conversation, the
answer is the same 409 ``NO_LONGER_AVAILABLE`` with exactly ``{"error", "code"}``: no state, no
entity, no other detail. And nothing changes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from tests.flows.apps import sessionmaker_of, settings_of
from tests.flows.deals import (
    API,
    accept_quote,
    awarded_job,
    disputed,
    get_quote,
    messages,
    quoted,
    quoting_job,
)
from tests.flows.users import Api, User, marketplace
from tradematch.kit import clock
from tradematch.worker.scheduler import run_once

GONE = {"error": "This job is no longer available", "code": "NO_LONGER_AVAILABLE"}


async def _actions(
    api: Api,
    vendor: User,
    job_id: str,
    lead_id: str,
    quote_id: str | None = None,
    conversation_id: str | None = None,
) -> dict[str, httpx.Response]:
    """Every vendor action there is on the job, its lead, its quote and its conversation."""
    http, headers = api.client, vendor.headers
    answers = {
        "send quote": await http.post(
            f"{API}/quotes",
            json={"job_id": job_id, "amount": 99, "description": "Again"},
            headers=headers,
        ),
        "accept lead": await http.post(f"{API}/leads/{lead_id}/accept", json={}, headers=headers),
        "decline lead": await http.post(
            f"{API}/leads/{lead_id}/decline", json={"reason": "busy"}, headers=headers
        ),
    }
    if quote_id is not None:
        answers["edit quote"] = await http.patch(
            f"{API}/quotes/{quote_id}", json={"amount": 80}, headers=headers
        )
        answers["withdraw quote"] = await http.patch(
            f"{API}/quotes/{quote_id}/withdraw", json={}, headers=headers
        )
    if conversation_id is not None:
        answers["message"] = await http.post(
            f"{API}/conversations/{conversation_id}/messages",
            json={"body": "Still keen?"},
            headers=headers,
        )
    return answers


def _all_gone(reason: str, answers: dict[str, httpx.Response]) -> list[str]:
    return [
        f"{reason} / {action}: {response.status_code} {response.text}"
        for action, response in answers.items()
        if response.status_code != 409 or response.json() != GONE
    ]


async def _quote_of(api: Api, vendor: User, quote_id: str) -> dict[str, Any]:
    response = await get_quote(api, vendor, quote_id)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_vendor_who_declined(api: Api) -> None:
    market = await marketplace(api, vendors=1)
    [vendor] = market.vendors
    lead_id = market.leads[vendor.user_id]
    declined = await api.client.post(
        f"{API}/leads/{lead_id}/decline", json={}, headers=vendor.headers
    )
    assert declined.status_code == 200, declined.text

    failures = _all_gone("declined", await _actions(api, vendor, market.job_id, lead_id))

    assert not failures, "\n".join(failures)


async def test_a_vendor_who_lost_the_award_in_progress_disputed_and_closed(api: Api) -> None:
    job = await awarded_job(api)
    loser = job.loser
    lead_id = job.quoting.leads[loser.user_id]
    conversation_id = job.quoting.conversations[loser.user_id]
    quote_before = await _quote_of(api, loser, job.loser_quote_id)
    messages_before = await messages(api, loser, conversation_id)
    failures = []

    failures += _all_gone(
        "lost, job in progress",
        await _actions(api, loser, job.job_id, lead_id, job.loser_quote_id, conversation_id),
    )
    await disputed(api, job.winner, job.job_id)
    failures += _all_gone(
        "lost, job disputed",
        await _actions(api, loser, job.job_id, lead_id, job.loser_quote_id, conversation_id),
    )

    assert not failures, "\n".join(failures)
    assert await _quote_of(api, loser, job.loser_quote_id) == quote_before
    assert await messages(api, loser, conversation_id) == messages_before


async def test_a_vendor_whose_job_was_cancelled(api: Api) -> None:
    quoting = await quoting_job(api, vendors=2)
    vendor, silent = quoting.vendors
    quote_id = await quoted(api, vendor, quoting.job_id)
    cancelled = await api.client.patch(
        f"{API}/jobs/{quoting.job_id}/cancel", json={}, headers=quoting.customer.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    quote_before = await _quote_of(api, vendor, quote_id)

    failures = _all_gone(
        "job cancelled",
        await _actions(
            api,
            vendor,
            quoting.job_id,
            quoting.leads[vendor.user_id],
            quote_id,
            quoting.conversations[vendor.user_id],
        ),
    )
    failures += _all_gone(
        "job cancelled, lead never quoted",
        await _actions(
            api,
            silent,
            quoting.job_id,
            quoting.leads[silent.user_id],
            conversation_id=quoting.conversations[silent.user_id],
        ),
    )

    assert not failures, "\n".join(failures)
    assert await _quote_of(api, vendor, quote_id) == quote_before


async def test_a_vendor_whose_lead_was_closed_by_another_award_before_it_quoted(
    api: Api,
) -> None:
    quoting = await quoting_job(api, vendors=3, accept=2)
    winner, accepted, offered = quoting.vendors
    quote_id = await quoted(api, winner, quoting.job_id)
    assert (await accept_quote(api, quoting.customer, quote_id)).status_code == 200

    failures = _all_gone(
        "accepted, another won",
        await _actions(
            api,
            accepted,
            quoting.job_id,
            quoting.leads[accepted.user_id],
            conversation_id=quoting.conversations[accepted.user_id],
        ),
    )
    failures += _all_gone(
        "only offered, another won",
        await _actions(api, offered, quoting.job_id, quoting.leads[offered.user_id]),
    )

    assert not failures, "\n".join(failures)


async def test_a_vendor_whose_lead_and_job_expired(fresh_app: FastAPI, fresh_api: Api) -> None:
    api = fresh_api
    sessionmaker, settings = sessionmaker_of(fresh_app), settings_of(fresh_app)
    market = await marketplace(api, vendors=2)
    ttl = max(settings.lead_ttl_hours, settings.job_ttl_hours)

    clock.advance(timedelta(hours=ttl, minutes=1))
    await run_once(sessionmaker, settings)
    job = await api.client.get(f"{API}/jobs/{market.job_id}", headers=market.customer.headers)
    assert job.json()["status"] == "expired", job.text
    failures = []
    for vendor in market.vendors:
        failures += _all_gone(
            "lead and job expired",
            await _actions(api, vendor, market.job_id, market.leads[vendor.user_id]),
        )

    assert not failures, "\n".join(failures)


async def test_a_vendor_still_in_the_job_keeps_the_detailed_answers(api: Api) -> None:
    """The rule is only for vendors out of the job: a vendor in play still learns why."""
    quoting = await quoting_job(api, vendors=1)
    [vendor] = quoting.vendors
    again = await api.client.post(
        f"{API}/leads/{quoting.leads[vendor.user_id]}/accept", json={}, headers=vendor.headers
    )
    assert again.status_code == 409
    assert again.json()["code"] == "INVALID_STATE_TRANSITION", again.text
