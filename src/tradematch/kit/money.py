"""Money: integer pence inside, pounds exact to the penny at the API edge."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema

MAX_PENCE = 100_000_000  # £1,000,000


def pounds_to_pence(value: Any) -> int:
    """Accept a JSON number (or numeric string) in pounds with at most two decimals."""
    if isinstance(value, bool) or value is None:
        raise ValueError("must be an amount in pounds")
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError("must be an amount in pounds") from None
    if not amount.is_finite():
        raise ValueError("must be a finite amount")
    pence = amount * 100
    if pence != pence.to_integral_value():
        raise ValueError("must be exact to the penny (at most two decimal places)")
    return int(pence)


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
