"""Prefixed, time-sortable identifiers: ``job_01JD5…`` (a ULID after the prefix).

A ULID is 48 bits of milliseconds and 80 random bits in Crockford base32, so ids sort by
creation time and never collide in practice. Ten lines do not justify a dependency.
"""

from __future__ import annotations

import os
import time
from typing import Annotated

from pydantic import StringConstraints

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # the digits of each 10-bit value
_SHIFTS = range(120, -1, -10)  # 26 digits are 130 bits: 13 pairs, most significant first

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
    value = (time.time_ns() // 1_000_000 << 80) | int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{''.join([_PAIRS[value >> shift & 1023] for shift in _SHIFTS])}"


# --- ids at the edge ----------------------------------------------------------------------
# Every id the API takes (path, query or body) is validated by its kind's pattern before
# anything else looks at it: a malformed id (a NUL byte, a lone surrogate, 10,000 characters,
# ``../``, other scripts' digits, another kind's prefix) is a 422, never a database lookup.

ULID_PATTERN = "[0-9A-HJKMNP-TV-Z]{26}"


def id_pattern(prefix: str) -> str:
    """The full pattern of an id with ``prefix`` (a ULID in Crockford base32 after it)."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    return f"^{prefix}_{ULID_PATTERN}$"


def _id(prefix: str) -> StringConstraints:
    return StringConstraints(pattern=id_pattern(prefix), max_length=len(prefix) + 27)


UserId = Annotated[str, _id("usr")]
JobId = Annotated[str, _id("job")]
LeadId = Annotated[str, _id("lead")]
QuoteId = Annotated[str, _id("quote")]
ConversationId = Annotated[str, _id("conv")]
MessageId = Annotated[str, _id("msg")]
MilestoneId = Annotated[str, _id("ms")]
ReviewId = Annotated[str, _id("rev")]
DisputeId = Annotated[str, _id("dsp")]
NotificationId = Annotated[str, _id("ntf")]
UploadId = Annotated[str, _id("upl")]
