"""No path parameter, however hostile, produces a 500 or changes anything.

The routes are read from the OpenAPI document, so a new route is fuzzed without anyone listing
it. Each path parameter in turn takes each hostile value (the others a well-formed id of
nothing), for every method, as a customer, a vendor and an admin (so the request gets past
authentication and the role check to the id itself). Every answer is a 4xx in the one error
shape, a malformed id is a 422 wherever the role may call the route, and the database is
exactly as it was.
"""

from __future__ import annotations

import string
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from tests.flows.users import Api, User, create_admin, marketplace
from tradematch.kit.ids import new_id
from tradematch.tables import Base

HOSTILE = {
    "NUL": "%00",
    "NUL inside an id": "job_01JD5AAAAAAAAAAAAAAAAA%00AAA",
    "lone surrogate (as UTF-8)": "%ED%A0%80",
    "invalid UTF-8": "%FF%FE",
    "10k characters": "a" * 10_000,
    "parent directory": "..%2F",
    "parent directory, encoded": "..%2F..%2Fetc%2Fpasswd",
    # httpx resolves a literal ``..`` before sending (RFC 3986 5.2.4); percent-encoded dots
    # reach the server as the ``..`` segment a raw request line would give it.
    "dot segment": "%2E%2E",
    "Arabic-Indic digits": "job_" + "\u0661" * 26,
    "full-width digits": "job_" + "\uff11" * 26,
    "wrong prefix": new_id("usr"),
    "lower case": new_id("job").lower(),
    "SQL": "job_' OR '1'='1",
    "empty-ish": "%20",
}
PREFIXES = {
    "job_id": "job",
    "lead_id": "lead",
    "quote_id": "quote",
    "conversation_id": "conv",
    "milestone_id": "ms",
    "review_id": "rev",
    "dispute_id": "dsp",
    "vendor_id": "usr",
    "notification_id": "ntf",
    "upload_id": "upl",
}
ROLES = ("customer", "vendor", "admin")


def operations(app: FastAPI) -> list[tuple[str, str, list[str]]]:
    """Every (method, path template, path parameters) of the OpenAPI document with an id."""
    found = []
    for template, item in app.openapi()["paths"].items():
        for method in item:
            if method.upper() not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                continue
            names = [n for _, n, _, _ in string.Formatter().parse(template) if n]
            if names:
                found.append((method.upper(), template, names))
    return found


async def snapshot(app: FastAPI) -> dict[str, int]:
    """Rows per table (the denial counts aside: refusals are counted by design)."""
    counts = {}
    async with app.state.sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            if table.name == "denial_counts":
                continue
            counts[table.name] = (
                await session.execute(select(func.count()).select_from(table))
            ).scalar_one()
    return counts


def _error_shape(response: httpx.Response) -> bool:
    try:
        body: Any = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("error"), str) and "code" in body


def test_every_id_parameter_is_known(app: FastAPI) -> None:
    names = {name for _, _, params in operations(app) for name in params}
    assert names == set(PREFIXES), names
    schemas = {
        p["name"]: p["schema"].get("pattern")
        for item in app.openapi()["paths"].values()
        for op in item.values()
        for p in op.get("parameters", [])
        if p["in"] == "path"
    }
    for name, prefix in PREFIXES.items():
        assert schemas[name] == f"^{prefix}_[0-9A-HJKMNP-TV-Z]{{26}}$", (name, schemas[name])


async def test_hostile_path_parameters(fresh_app: FastAPI, fresh_api: Api) -> None:
    api = fresh_api
    market = await marketplace(api, vendors=1)
    users: dict[str, User] = {
        "customer": market.customer,
        "vendor": market.vendors[0],
        "admin": await create_admin(api, str(fresh_app.state.database_url)),
    }
    before = await snapshot(fresh_app)
    failures: list[str] = []
    for method, template, names in operations(fresh_app):
        for name in names:
            for label, hostile in HOSTILE.items():
                values = {n: new_id(PREFIXES[n]) for n in names}
                values[name] = hostile
                path = template.format(**values)
                for role in ROLES:
                    kwargs: dict[str, Any] = {"headers": users[role].headers}
                    if method != "GET":
                        kwargs["json"] = {}
                    response = await api.client.request(method, path, **kwargs)
                    status = response.status_code
                    where = f"{method} {template} {name}={label} as {role}: {status}"
                    if status >= 500 or status < 400:
                        failures.append(f"{where} {response.text[:200]}")
                    elif not _error_shape(response):
                        failures.append(f"{where} not the error shape: {response.text[:200]}")
                    elif status == 404 and response.json().get("code") != "NOT_FOUND":
                        failures.append(f"{where} {response.text[:200]}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:60])
    assert await snapshot(fresh_app) == before


async def test_a_malformed_id_is_a_validation_error(app: FastAPI, api: Api) -> None:
    customer = await api.customer()
    # ``%2E%2E``: the ``..`` segment itself (a literal one httpx would resolve before sending).
    for hostile in ("%00", "%2E%2E", "job_" + "\u0661" * 26, new_id("usr"), "a" * 10_000):
        response = await api.client.get(f"/api/connection/jobs/{hostile}", headers=customer.headers)
        assert response.status_code == 422, (hostile[:20], response.text)
        body = response.json()
        assert body["code"] == "VALIDATION_ERROR" and body["details"][0]["loc"] == [
            "path",
            "job_id",
        ], body
