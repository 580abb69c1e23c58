"""Identifiers: a prefix, then a ULID (48 bits of milliseconds, 80 random bits) in Crockford
base32, so they sort by creation time and match the pattern the API validates ids with."""

from __future__ import annotations

import os
import re
import time

import pytest

from tradematch.kit.ids import PREFIXES, id_pattern, new_id

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def crockford(value: int) -> str:
    """The 26 digits of a 128-bit value, one at a time (the definition, not the fast path)."""
    return "".join(CROCKFORD[(value >> (5 * k)) & 31] for k in reversed(range(26)))


def at(monkeypatch: pytest.MonkeyPatch, millis: int) -> None:
    """The clock half-way through millisecond ``millis``."""
    monkeypatch.setattr(time, "time_ns", lambda: millis * 1_000_000 + 500_000)
    monkeypatch.setattr(time, "time", lambda: (millis + 0.5) / 1000)


@pytest.mark.parametrize(
    ("millis", "random_bytes"),
    [
        (0, bytes(10)),
        (1_764_633_600_123, bytes(range(10))),
        ((1 << 48) - 1, b"\xff" * 10),
        (1_700_000_000_000, bytes.fromhex("a0539e08addd c5d143c6")),
    ],
    ids=["zero", "counting", "all ones", "mixed"],
)
def test_an_id_is_the_time_and_the_random_bits_in_crockford_base32(
    monkeypatch: pytest.MonkeyPatch, millis: int, random_bytes: bytes
) -> None:
    at(monkeypatch, millis)
    monkeypatch.setattr(os, "urandom", lambda n: random_bytes[:n])
    expected = crockford(millis << 80 | int.from_bytes(random_bytes, "big"))
    assert new_id("msg") == f"msg_{expected}"


def test_ids_sort_by_creation_time_and_match_their_pattern(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = []
    for millis in (1_764_633_600_000, 1_764_633_600_001, 1_764_633_601_000, 1_900_000_000_000):
        at(monkeypatch, millis)
        made.append(new_id("job"))
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    for prefix in PREFIXES:
        assert re.fullmatch(id_pattern(prefix), new_id(prefix))


def test_an_unknown_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown id prefix"):
        new_id("bogus")
