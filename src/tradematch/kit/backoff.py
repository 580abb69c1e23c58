"""Exponential backoff with jitter, for anything that retries."""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_seconds(
    attempts: int,
    base: float,
    cap: float,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """Delay before the next attempt after ``attempts`` failures: doubling from ``base`` up to
    ``cap``, with "equal jitter" (half fixed, half random) so retries of many rows that failed
    together spread out, yet never come back at once."""
    ceiling = min(cap, base * 2.0 ** min(attempts - 1, 62))
    return ceiling / 2 + uniform(0, ceiling / 2)
