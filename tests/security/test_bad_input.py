"""Malformed input anywhere — body, path, query, header — is a 4xx and changes nothing.

The auditors' cases: a NUL byte or a lone surrogate in the registration email (the idempotency
claim used to query the database before the body was validated), amounts that are strings or
overflow ``Decimal``, and NUL in query strings and headers.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi import FastAPI

from tests.contract.test_hostile_ids import snapshot
from tests.flows.deals import API, quoting_job
from tests.flows.users import PASSWORD, Api

GONE_WRONG = ("\x00", "a\x00b@example.com", "\ud800@example.com", "x\udfff@example.com")


def _register_body(email: str) -> bytes:
    body = {
        "email": email,
        "password": PASSWORD,
        "name": "Nul Person",
        "phone": "07700900123",
        "postcode": "LS1 4AP",
        "role": "customer",
    }
    return json.dumps(body).encode()  # json.dumps escapes the lone surrogate: valid JSON


@pytest.mark.parametrize(
    "email", GONE_WRONG, ids=["NUL", "NUL inside", "surrogate", "low surrogate"]
)
async def test_registering_with_nul_or_a_lone_surrogate_is_a_422(
    fresh_app: FastAPI, fresh_api: Api, email: str
) -> None:
    before = await snapshot(fresh_app)
    for headers in ({}, {"Idempotency-Key": f"reg-{uuid.uuid4()}"}):
        response = await fresh_api.client.post(
            "/api/auth/register",
            content=_register_body(email),
            headers={"Content-Type": "application/json", **headers},
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "VALIDATION_ERROR"
    assert await snapshot(fresh_app) == before


AMOUNTS: dict[str, Any] = {
    "Arabic-Indic digits": "\u0661\u0662",
    "underscores": "1_000",
    "exponent as a string": "1e5",
    "blanks": " 12 ",
    "a numeric string": "12",
    "overflowing string": "1E+999999",
    "three decimal places": 12.345,
    "a float's noise": 0.30000000000000004,
    "huge integer": 10**400,
    "huge float": 1e308,
    "boolean": True,
    "null": None,
    "zero": 0,
    "negative": -5,
    "more than a million": 1_000_000.01,
}


async def test_amounts_are_strict_json_numbers(api: Api) -> None:
    quoting = await quoting_job(api, vendors=1)
    [vendor] = quoting.vendors
    failures = []
    for label, amount in AMOUNTS.items():
        response = await api.client.post(
            f"{API}/quotes",
            json={"job_id": quoting.job_id, "amount": amount},
            headers=vendor.headers,
        )
        if response.status_code != 422 or response.json()["code"] != "VALIDATION_ERROR":
            failures.append(f"{label}: {response.status_code} {response.text[:200]}")
    # Overflow as a raw JSON number too (a float too large for a double).
    raw = f'{{"job_id": "{quoting.job_id}", "amount": 1E+999999}}'
    response = await api.client.post(
        f"{API}/quotes",
        content=raw,
        headers={**vendor.headers, "Content-Type": "application/json"},
    )
    if response.status_code != 422:
        failures.append(f"raw 1E+999999: {response.status_code} {response.text[:200]}")
    assert not failures, "\n".join(failures)
    for fine in (12, 12.5, 12.34, 1e3):
        response = await api.client.post(
            f"{API}/wallet/top-up", json={"amount": fine}, headers=quoting.customer.headers
        )
        assert response.status_code == 200, (fine, response.text)


async def test_nul_in_query_strings_and_headers(fresh_app: FastAPI, fresh_api: Api) -> None:
    api = fresh_api
    quoting = await quoting_job(api, vendors=1)
    customer, [vendor] = quoting.customer, quoting.vendors
    before = await snapshot(fresh_app)
    answers = {
        "cursor": await api.client.get(f"{API}/jobs?cursor=%00", headers=customer.headers),
        "status": await api.client.get(f"{API}/jobs?status=live%00", headers=customer.headers),
        "job_id filter": await api.client.get(f"{API}/quotes?job_id=%00", headers=vendor.headers),
        "unknown parameter": await api.client.get(f"{API}/jobs?%00=1", headers=customer.headers),
        "Idempotency-Key": await api.client.post(
            f"{API}/leads/{quoting.leads[vendor.user_id]}/decline",
            json={},
            headers={**vendor.headers, "Idempotency-Key": "key\x00"},
        ),
        "idempotency_key in the body": await api.client.post(
            f"{API}/leads/{quoting.leads[vendor.user_id]}/decline",
            content=json.dumps({"idempotency_key": "\ud800"}),
            headers={**vendor.headers, "Content-Type": "application/json"},
        ),
        "Authorization": await api.client.get(
            f"{API}/jobs", headers={"Authorization": "Bearer \x00"}
        ),
    }
    bad = {
        k: (r.status_code, r.text[:200])
        for k, r in answers.items()
        if not 400 <= r.status_code < 500
    }
    assert not bad, bad
    assert answers["Authorization"].status_code == 401
    assert await snapshot(fresh_app) == before


async def test_unknown_query_parameters_are_refused_before_anything_runs(
    fresh_app: FastAPI, fresh_api: Api
) -> None:
    """A typo in a query string is a 422 naming it, on reading and writing routes, before the
    token is even read: nothing runs with a parameter the route does not take."""
    api = fresh_api
    quoting = await quoting_job(api, vendors=1)
    customer, [vendor] = quoting.customer, quoting.vendors
    before = await snapshot(fresh_app)
    lead = quoting.leads[vendor.user_id]
    answers = {
        "typo on a list": await api.client.get(f"{API}/jobs?limt=5", headers=customer.headers),
        "on a write": await api.client.post(
            f"{API}/leads/{lead}/decline?reason=x", json={}, headers=vendor.headers
        ),
        "without a token": await api.client.get(f"{API}/jobs?limt=5"),
    }
    for name, response in answers.items():
        assert response.status_code == 422, (name, response.text)
        body = response.json()
        assert body["code"] == "VALIDATION_ERROR", name
        assert body["unknown"] in (["limt"], ["reason"]), (name, body)
    assert await snapshot(fresh_app) == before
    known = await api.client.get(f"{API}/jobs?limit=5", headers=customer.headers)
    assert known.status_code == 200, known.text
