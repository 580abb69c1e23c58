"""Access tokens: a verified token is remembered, but never past its expiry, never under
another key, and a token that fails is not remembered at all (core/security.py)."""

from __future__ import annotations

import time

import pytest

from tradematch.core import security
from tradematch.core.errors import Unauthorized
from tradematch.core.security import issue_token, read_token

KEY = "k" * 32


def test_a_remembered_token_is_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    token = issue_token(KEY, "usr_1", "customer", ttl_seconds=60)
    assert read_token(KEY, token).user_id == "usr_1"
    assert read_token(KEY, token).user_id == "usr_1"  # from memory now
    issued = time.time()
    monkeypatch.setattr(time, "time", lambda: issued + 61)  # the clock read_token reads
    with pytest.raises(Unauthorized):
        read_token(KEY, token)


def test_a_remembered_token_is_refused_under_another_key() -> None:
    token = issue_token(KEY, "usr_2", "vendor", ttl_seconds=60)
    assert read_token(KEY, token).role == "vendor"
    with pytest.raises(Unauthorized):
        read_token("x" * 32, token)


def test_a_token_that_fails_is_not_remembered() -> None:
    token = issue_token(KEY, "usr_3", "customer", ttl_seconds=60)
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-2]}AA"
    expired = issue_token(KEY, "usr_3", "customer", ttl_seconds=-1)
    before = security._verified.cache_info().currsize
    for bad in (forged, expired, "not-a-token"):
        with pytest.raises(Unauthorized):
            read_token(KEY, bad)
    assert security._verified.cache_info().currsize == before
    assert read_token(KEY, token).user_id == "usr_3"
