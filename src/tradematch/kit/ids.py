"""Prefixed, time-sortable identifiers: ``job_01JD5…`` (a ULID after the prefix).

A ULID is 48 bits of milliseconds and 80 random bits in Crockford base32, so ids sort by
creation time and never collide in practice. Ten lines do not justify a dependency.
"""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

PREFIXES = frozenset(
    {
        "usr",
        "job",
        "lead",
        "quote",
        "conv",
        "msg",
        "ms",
        "esc",
        "rev",
        "evt",
        "ntf",
        "dsp",
        "pay",
        "txn",
        "upl",
    }
)


def new_id(prefix: str) -> str:
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return f"{prefix}_{''.join(reversed(chars))}"
