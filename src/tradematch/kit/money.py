"""Money: integer pence inside, pounds exact to the penny at the API edge."""

from __future__ import annotations

import math
from decimal import Decimal, Inexact, localcontext
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema

MAX_PENCE = 100_000_000  # £1,000,000
# Anything larger is refused before any arithmetic (Field(le=MAX_PENCE) states the real bound).
MAX_POUNDS_CHECKED = Decimal(10) ** 12


def pounds_to_pence(value: Any) -> int:
    """A JSON number in pounds with at most two decimal places, as pence.

    Strict: amounts are JSON numbers, never strings (``"12"``, ``"1e5"``, ``" 12 "``,
    ``"1_000"``, ``"١٢"`` are all 422), nor booleans. A number too large to be an amount
    (``1E+999999``), not finite, or finer than a penny is a 422 as well: every failure here is a
    ``ValueError``, never an arithmetic error escaping as a 500."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a JSON number: an amount in pounds")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite amount")
    try:
        with localcontext() as context:
            context.traps[Inexact] = False
            amount = Decimal(value) if isinstance(value, int) else Decimal(str(value))
            if not amount.is_finite():
                raise ValueError("must be a finite amount")
            if abs(amount) > MAX_POUNDS_CHECKED:
                raise ValueError("must be at most £1,000,000")
            pence = amount * 100
            if pence != pence.to_integral_value():
                raise ValueError("must be exact to the penny (at most two decimal places)")
            return int(pence)
    except ArithmeticError:  # decimal.Overflow, InvalidOperation …: not an amount
        raise ValueError("must be an amount in pounds") from None


def pence_to_pounds(pence: int) -> int | float:
    """120_00 → 120, 120_50 → 120.5 (a JSON number exact to the penny)."""
    return pence // 100 if pence % 100 == 0 else pence / 100


def money_text(pence: int) -> str:
    """120_00 → "£120", 1_240_50 → "£1,240.50": an amount in words for people."""
    pounds = pence_to_pounds(pence)
    return f"£{pounds:,.2f}" if isinstance(pounds, float) else f"£{pounds:,}"


_AMOUNT_SCHEMA = {"type": "number", "exclusiveMinimum": 0, "maximum": 1_000_000, "multipleOf": 0.01}

# Request side: pounds on the wire (> 0, ≤ £1,000,000, at most two decimals) → pence in Python.
Pounds = Annotated[
    int,
    BeforeValidator(pounds_to_pence),
    Field(gt=0, le=MAX_PENCE),
    WithJsonSchema(_AMOUNT_SCHEMA),
]

# Response side: pence in Python → pounds on the wire (120 for £120.00, 120.5 for £120.50).
Money = Annotated[
    int,
    PlainSerializer(pence_to_pounds, return_type=int | float, when_used="always"),
    WithJsonSchema({"type": "number", "multipleOf": 0.01}),
]
