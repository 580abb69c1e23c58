"""Property-based contract test: schemathesis drives every operation of the OpenAPI schema
against a real server, as each role, and checks that no input produces a server error and that
every response conforms to the schema (status documented, body shape, content type)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from tests.flows.database import Database, clone_database, drop_database
from tests.flows.servers import LiveServer, start_server, stop_server
from tests.flows.users import PASSWORD
from tradematch.app import create_app
from tradematch.core.config import Settings

ROLES = ("customer", "vendor", "admin", "anonymous")


@pytest.fixture(scope="module")
def contract_db(server_url: str, template_db: str) -> Iterator[Database]:
    name = f"tm_c_{uuid.uuid4().hex[:12]}"
    asyncio.run(clone_database(server_url, template_db, name))
    yield Database(server_url, name)
    asyncio.run(drop_database(server_url, name))


@pytest.fixture(scope="module")
def contract_server(
    contract_db: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    server = start_server(contract_db, tmp_path_factory.mktemp("contract"), "--no-worker")
    yield server
    stop_server(server)


def _register(base: str, role: str, **extra: Any) -> str:
    body = {
        "email": f"{role}-{uuid.uuid4().hex[:8]}@example.com",
        "password": PASSWORD,
        "name": f"Contract {role}",
        "phone": "07700900111",
        "postcode": "LS1 4AP",
        "role": role,
        **extra,
    }
    response = httpx.post(f"{base}/api/auth/register", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return str(response.json()["access_token"])


def _admin_token(server: LiveServer, db: Database, data_dir: Path) -> str:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    env = {
        **os.environ,
        "TRADEMATCH_DATABASE_URL": db.url,
        "TRADEMATCH_DATA_DIR": str(data_dir),
        "TRADEMATCH_ADMIN_PASSWORD": PASSWORD,
    }
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tradematch",
            "admin",
            "create",
            "--email",
            email,
            "--name",
            "Admin",
            "--phone",
            "07700900999",
            "--postcode",
            "LS1 4AP",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    response = httpx.post(
        f"{server.base_url}/api/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="module")
def tokens(
    contract_server: LiveServer, contract_db: Database, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    base = contract_server.base_url
    customer = _register(base, "customer")
    vendor = _register(
        base,
        "vendor",
        business_name="Contract Plumbing",
        trades=["Plumbing"],
        service_radius_miles=10,
    )
    # Some real objects so that not every generated id is unknown.
    headers = {"Authorization": f"Bearer {customer}"}
    job = httpx.post(
        f"{base}/api/connection/jobs",
        json={
            "title": "Fix tap",
            "trade_category": "Plumbing",
            "budget_min": 50,
            "budget_max": 150,
            "timeframe": "urgent",
        },
        headers=headers,
    ).json()
    httpx.patch(f"{base}/api/connection/jobs/{job['job_id']}/publish", json={}, headers=headers)
    return {
        "customer": customer,
        "vendor": vendor,
        "admin": _admin_token(contract_server, contract_db, tmp_path_factory.mktemp("admin")),
    }


# The schema the server publishes, built from the application itself (no server needed yet);
# the calls go to the real server through ``base_url``.
schema = schemathesis.openapi.from_dict(
    create_app(Settings(jwt_secret="schema-only-key-of-sufficient-length-000")).openapi()
)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors_and_schema_conformance(
    case: Any, tokens: dict[str, str], contract_server: LiveServer
) -> None:
    for role in ROLES:
        headers = {} if role == "anonymous" else {"Authorization": f"Bearer {tokens[role]}"}
        case.call_and_validate(
            base_url=contract_server.base_url,
            headers=headers,
            # Cross-field rules (budget_min <= budget_max, vendor-only fields, a postcode that
            # exists) are not expressible in JSON Schema, so schema-valid input may be a 422.
            excluded_checks=[positive_data_acceptance],
        )


# Hostile input the generator does not reach on its own (its strings match the patterns):
# control characters, lone surrogates, huge and traversal-looking ids in the path; amounts as
# strings, in other scripts' digits, overflowing or finer than a penny; NUL and lone surrogates
# in every string of the body. None may produce a server error.
HOSTILE_PATH = [  # the client percent-encodes them
    "\x00",
    "job_01JD5AAAAAAAAAAAAAAAAA\x00AAA",
    "a" * 10_000,
    "../../etc/passwd",
    "job_" + "\u0661" * 26,
    "usr_01JD5AAAAAAAAAAAAAAAAAAAAA",
    "\U0001f4a9",
]
HOSTILE_AMOUNTS: list[Any] = ["\u0661\u0662", "1_000", " 12 ", "1E+999999", 12.345, 10**400]
HOSTILE_TEXT = ["a\x00b", "x\ud800y"]
AMOUNT_FIELDS = ("amount", "budget_min", "budget_max")


def _bodies(body: Any) -> Iterator[Any]:
    """The case's body with one hostile value at a time."""
    if not isinstance(body, dict):
        return
    for field in AMOUNT_FIELDS:
        if field in body:
            for amount in HOSTILE_AMOUNTS:
                yield {**body, field: amount}
    for field, value in body.items():
        if isinstance(value, str):
            for text in HOSTILE_TEXT:
                yield {**body, field: text}


@schema.parametrize()
@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_hostile_input_is_never_a_server_error(
    case: Any, tokens: dict[str, str], contract_server: LiveServer
) -> None:
    failures = []
    original_path, original_body = dict(case.path_parameters or {}), case.body
    variants: list[tuple[str, dict[str, Any], Any]] = [
        (f"{name}={value[:20]!r}", {**original_path, name: value}, original_body)
        for name in original_path
        for value in HOSTILE_PATH
    ]
    variants += [(f"body {body!r:.80}", original_path, body) for body in _bodies(original_body)]
    # Each variant as one signed-in role in turn (the role check comes first: every role gets
    # its share of requests that reach the validation).
    roles = ("admin",) if case.path.startswith("/api/admin") else ("customer", "vendor")
    for index, (label, path, body) in enumerate(variants):
        role = roles[index % len(roles)]
        # A JSON body goes as bytes with every non-ASCII character escaped (the server must take
        # a lone surrogate's ``\ud800`` escape, and answer 422); the case keeps its own body, which
        # schemathesis would re-validate and could not encode.
        raw: dict[str, Any] = {}
        if case.media_type == "application/json" and body is not original_body:
            raw["data"] = json.dumps(body, ensure_ascii=True).encode()
            body = original_body
        case.path_parameters, case.body = path, body
        response = case.call(
            base_url=contract_server.base_url,
            headers={"Authorization": f"Bearer {tokens[role]}"},
            **raw,
        )
        if response.status_code >= 500:
            failures.append(f"{role} {label}: {response.status_code} {response.text[:200]}")
    case.path_parameters, case.body = original_path, original_body
    assert not failures, "\n".join(failures)
