"""Fixed catalogues of the marketplace (trades, timeframes, badges), shared by schemas, models
and services."""

from __future__ import annotations

from enum import StrEnum


class Trade(StrEnum):
    PLUMBING = "Plumbing"
    ELECTRICAL = "Electrical"
    CARPENTRY = "Carpentry"
    ROOFING = "Roofing"
    PAINTING_DECORATING = "Painting & Decorating"
    PLASTERING = "Plastering"
    TILING = "Tiling"
    HEATING_GAS = "Heating & Gas"
    LOCKSMITH = "Locksmith"
    GARDENING = "Gardening"
    BUILDING = "Building"
    CLEANING = "Cleaning"
    HANDYMAN = "Handyman"


class Timeframe(StrEnum):
    URGENT = "urgent"
    WITHIN_A_WEEK = "within_a_week"
    WITHIN_A_MONTH = "within_a_month"
    FLEXIBLE = "flexible"


class Badge(StrEnum):
    VERIFIED = "verified"
    TOP_RATED = "top_rated"
    FAST_RESPONDER = "fast_responder"


TRADES = tuple(t.value for t in Trade)
TIMEFRAMES = tuple(t.value for t in Timeframe)
BADGES = tuple(b.value for b in Badge)
