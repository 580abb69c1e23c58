from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from tradematch.kit.catalogue import Badge, Trade
from tradematch.kit.postcodes import Postcode
from tradematch.kit.schemas import RequestModel, ResponseModel
from tradematch.kit.text import NoContactDetails, Redacted

# Shown to every customer before any contact is unlocked: contact details are refused (422).
BusinessName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), NoContactDetails
]
Trades = Annotated[list[Trade], Field(min_length=1, max_length=len(Trade))]
Radius = Annotated[int, Field(ge=1, le=100, description="Service radius in miles")]


def unique_trades(trades: list[Trade] | None) -> list[Trade] | None:
    if trades is not None and len(set(trades)) != len(trades):
        raise ValueError("trades must not repeat")
    return trades


class VendorProfileOwn(ResponseModel):
    """The vendor's own profile (everything, since it is theirs)."""

    business_name: str
    trades: list[Trade]
    postcode: str
    service_radius_miles: int
    accepting_leads: bool
    badges: list[Badge]
    rating_average: float | None
    rating_count: int


class VendorPublicProfile(ResponseModel):
    """The limited profile anyone signed in may see: no contact details, no postcode."""

    vendor_id: str
    business_name: Redacted  # refused on the way in; redacted too for names stored before that
    trades: list[Trade]
    badges: list[Badge]
    rating_average: float | None
    rating_count: int
    distance_miles: float | None


class VendorProfileUpdate(RequestModel):
    business_name: BusinessName | None = None
    trades: Trades | None = None
    postcode: Postcode | None = None
    service_radius_miles: Radius | None = None
    accepting_leads: bool | None = None

    _trades = field_validator("trades")(unique_trades)

    @model_validator(mode="after")
    def _something(self) -> VendorProfileUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class TradeCatalogue(ResponseModel):
    items: list[Trade]
