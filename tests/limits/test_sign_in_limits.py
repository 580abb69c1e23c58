"""Signing in and registering tell no one which emails have accounts, and guessing passwords
slows the guesser without locking the owner out: failed logins are limited per email from one
client, with a higher ceiling per email over all clients, in PostgreSQL (shared by every
process); registrations are limited per client."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from tests.flows.apps import app_for, make_settings
from tests.flows.database import Database
from tests.flows.users import PASSWORD
from tradematch.core import security

LOGIN = "/api/auth/login"
REGISTER = "/api/auth/register"


@asynccontextmanager
async def clients_of(app: FastAPI) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """A client per peer address, on ``app``."""
    opened: list[httpx.AsyncClient] = []

    def at(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(
            app=app, raise_app_exceptions=False, client=(address, 40000)
        )
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30)
        opened.append(client)
        return client

    try:
        yield at
    finally:
        for client in opened:
            await client.aclose()


def _registration(email: str) -> dict[str, Any]:
    return {
        "email": email,
        "password": PASSWORD,
        "name": "Test Person",
        "phone": "07000000000",
        "postcode": "SW1A 1AA",
        "role": "customer",
    }


def _email() -> str:
    return f"limits-{uuid.uuid4().hex[:12]}@example.com"


def _address() -> str:
    """A client address of the test's own (the limits are kept in the shared database)."""
    value = uuid.uuid4().int
    return f"10.{value % 250}.{(value >> 8) % 250}.{(value >> 16) % 250 + 1}"


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(LOGIN, json={"email": email, "password": password})


async def test_the_password_is_verified_for_unknown_emails(
    worker_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str | bytes] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            verified.append(hash)
            return super().verify(hash, password)

    monkeypatch.setattr(security, "_hasher", CountingHasher())
    settings = make_settings(tmp_path)
    async with app_for(worker_db, settings) as (app, _), clients_of(app) as at:
        client = at(_address())
        unknown = await _login(client, _email(), "some-password-here")
        assert unknown.status_code == 401
        assert verified == [security._DUMMY_HASH]


def test_the_stand_in_hash_costs_what_a_users_hash_costs() -> None:
    """The hash verified for an unknown email is written out in the code; it has the
    parameters every user's hash is made with (the library's recommended ones, which the test
    processes swap for the cheapest: tests/conftest.py), so verifying it takes as long."""
    production = PasswordHasher()
    assert not production.check_needs_rehash(security.STAND_IN_HASH)
    assert security.STAND_IN_HASH.split("$")[:4] == production.hash("x").split("$")[:4]
    assert security._DUMMY_HASH.split("$")[:4] == security.hash_password("x").split("$")[:4]


async def test_a_failed_login_takes_as_long_for_an_unknown_email(
    worker_db: Database, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, login_max_attempts=100)
    async with app_for(worker_db, settings) as (app, _), clients_of(app) as at:
        client = at(_address())
        email = _email()
        assert (await client.post(REGISTER, json=_registration(email))).status_code == 201

        async def timed(address: str) -> float:
            started = time.perf_counter()
            response = await _login(client, address, "wrong-password-x")
            assert response.status_code == 401
            return time.perf_counter() - started

        known, unknown = [], []
        for _ in range(5):
            known.append(await timed(email))
            unknown.append(await timed(_email()))
        # Loose on purpose (the machine is shared): without the dummy verification an unknown
        # email answers some twenty times faster.
        assert statistics.median(unknown) > 0.4 * statistics.median(known), (known, unknown)


async def test_guesses_from_one_client_do_not_lock_the_owner_out(
    worker_db: Database, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, login_max_attempts=3, login_max_attempts_per_email=7, login_window_seconds=60
    )
    async with app_for(worker_db, settings) as (app, _), clients_of(app) as at:
        owner, attacker = at(_address()), at(_address())
        email = _email()
        assert (await owner.post(REGISTER, json=_registration(email))).status_code == 201
        for _ in range(3):
            assert (await _login(attacker, email, "wrong-password-x")).status_code == 401
        stopped = await _login(attacker, email, PASSWORD)
        assert stopped.status_code == 429
        assert stopped.json()["code"] == "RATE_LIMITED"
        assert 1 <= int(stopped.headers["Retry-After"]) <= 60
        # The owner, from their own address, signs in as usual.
        assert (await _login(owner, email, PASSWORD)).status_code == 200


async def test_guesses_spread_over_clients_meet_the_per_email_ceiling(
    worker_db: Database, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, login_max_attempts=3, login_max_attempts_per_email=5, login_window_seconds=60
    )
    email = _email()
    # Two processes on one database: the counts are shared, not per process.
    async with (
        app_for(worker_db, settings) as (first, _),
        app_for(worker_db, settings) as (second, _),
        clients_of(first) as at_first,
        clients_of(second) as at_second,
    ):
        owner = at_first(_address())
        assert (await owner.post(REGISTER, json=_registration(email))).status_code == 201
        guessers = [at_first(_address()), at_second(_address()), at_second(_address())]
        for guesser, tries in zip(guessers, [2, 2, 1], strict=True):
            for _ in range(tries):
                assert (await _login(guesser, email, "wrong-password-x")).status_code == 401
        ceiling = await _login(at_second(_address()), email, PASSWORD)
        assert ceiling.status_code == 429
        assert ceiling.json()["code"] == "RATE_LIMITED"
        # Another email is not affected.
        other = _email()
        assert (await owner.post(REGISTER, json=_registration(other))).status_code == 201
        assert (await _login(at_second(_address()), other, PASSWORD)).status_code == 200


async def test_registration_is_rate_limited_per_client(worker_db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, register_max_per_client=3, register_window_seconds=600)
    async with app_for(worker_db, settings) as (app, _), clients_of(app) as at:
        prober, someone_else = at(_address()), at(_address())
        taken = _email()
        assert (await prober.post(REGISTER, json=_registration(taken))).status_code == 201
        assert (await prober.post(REGISTER, json=_registration(_email()))).status_code == 201
        # A probe that finds an existing account counts too.
        probe = await prober.post(REGISTER, json={**_registration(taken), "name": "Other"})
        assert probe.status_code == 409
        limited = await prober.post(REGISTER, json=_registration(_email()))
        assert limited.status_code == 429
        assert limited.json()["code"] == "RATE_LIMITED"
        assert 1 <= int(limited.headers["Retry-After"]) <= 600
        # The probe for a taken email is refused the same way: nothing more is learnt.
        again = await prober.post(REGISTER, json={**_registration(taken), "name": "Third"})
        assert again.status_code == 429
        assert (await someone_else.post(REGISTER, json=_registration(_email()))).status_code == 201
