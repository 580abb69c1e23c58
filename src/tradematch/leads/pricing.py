"""Lead prices (admin-only): a base price per trade, scaled by urgency. Configurable."""

from __future__ import annotations

from collections.abc import Mapping

from tradematch.kit.catalogue import Timeframe, Trade

BASE_PRICE_PENCE: Mapping[str, int] = {
    Trade.PLUMBING: 1200,
    Trade.ELECTRICAL: 1400,
    Trade.CARPENTRY: 1000,
    Trade.ROOFING: 1800,
    Trade.PAINTING_DECORATING: 900,
    Trade.PLASTERING: 900,
    Trade.TILING: 900,
    Trade.HEATING_GAS: 1600,
    Trade.LOCKSMITH: 1100,
    Trade.GARDENING: 600,
    Trade.BUILDING: 2000,
    Trade.CLEANING: 500,
    Trade.HANDYMAN: 700,
}

URGENCY_PERCENT: Mapping[str, int] = {
    Timeframe.URGENT: 150,
    Timeframe.WITHIN_A_WEEK: 120,
    Timeframe.WITHIN_A_MONTH: 100,
    Timeframe.FLEXIBLE: 80,
}


def lead_price_pence(
    trade: str,
    timeframe: str,
    base_overrides: Mapping[str, int] | None = None,
    urgency_overrides: Mapping[str, int] | None = None,
) -> int:
    base = {**BASE_PRICE_PENCE, **(base_overrides or {})}[trade]
    percent = {**URGENCY_PERCENT, **(urgency_overrides or {})}[timeframe]
    return base * percent // 100
