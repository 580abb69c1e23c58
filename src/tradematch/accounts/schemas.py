from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from tradematch.kit.catalogue import Badge, Role, Trade
from tradematch.kit.postcodes import Postcode
from tradematch.kit.schemas import Name, RequestModel, ResponseModel
from tradematch.kit.text import NoContactDetails

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("must be an email address")
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def _phone(value: str) -> str:
    digits = re.sub(r"[\s\-().]", "", value)
    if not re.fullmatch(r"\+?[0-9]{10,15}", digits):
        raise ValueError("must be a phone number of 10-15 digits")
    return digits


Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=254),
    AfterValidator(_email),
]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=10, max_length=32),
    AfterValidator(_phone),
]
Password = Annotated[str, Field(min_length=8, max_length=128)]
# Shown to every customer before any contact is unlocked: contact details are refused (422).
BusinessName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), NoContactDetails
]
Trades = Annotated[list[Trade], Field(min_length=1, max_length=len(Trade))]
Radius = Annotated[int, Field(ge=1, le=100, description="Service radius in miles")]


def _unique_trades(trades: list[Trade] | None) -> list[Trade] | None:
    if trades is not None and len(set(trades)) != len(trades):
        raise ValueError("trades must not repeat")
    return trades


class RegisterRequest(RequestModel):
    email: Email
    password: Password
    name: Name
    phone: Phone
    postcode: Postcode
    role: Literal["customer", "vendor"]
    business_name: BusinessName | None = None
    trades: Trades | None = None
    service_radius_miles: Radius | None = None

    _trades = field_validator("trades")(_unique_trades)

    @model_validator(mode="after")
    def _vendor_fields(self) -> RegisterRequest:
        vendor_fields = (self.business_name, self.trades, self.service_radius_miles)
        if self.role == "vendor" and any(v is None for v in vendor_fields):
            raise ValueError("a vendor needs business_name, trades and service_radius_miles")
        if self.role == "customer" and any(v is not None for v in vendor_fields):
            raise ValueError("business_name, trades and service_radius_miles are for vendors only")
        return self


class LoginRequest(RequestModel):
    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]
    password: Annotated[str, Field(min_length=1, max_length=128)]


class TokenResponse(ResponseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: int


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


class UserResponse(ResponseModel):
    user_id: str
    role: Role
    email: str
    name: str
    phone: str
    postcode: str
    vendor_profile: VendorProfileOwn | None = None


class RegisterResponse(UserResponse):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: int
