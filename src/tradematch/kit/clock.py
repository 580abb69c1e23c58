"""The service clock. Timed rules (expiry, auto-approval) read it, so tests can move it.

A process can also be started with its clock shifted (``TRADEMATCH_CLOCK_OFFSET_SECONDS``,
applied by the scheduler at start; development and tests only): a worker process then sees
"three days from now" without anyone waiting three days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def advance(delta: timedelta) -> None:
    """Move the clock forward (tests and the demo only)."""
    global _offset
    _offset += delta


def set_offset(delta: timedelta) -> None:
    """Shift the clock to ``delta`` from real time (a process started with an offset)."""
    global _offset
    _offset = delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)
