from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Annotated, Literal

from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import AnyUrl, ConfigDict, Field, UrlConstraints, field_validator

from tradematch.kit.schemas import RequestModel, ResponseModel

NOTIFICATION_ID_PATTERN = r"^ntf_[0-9A-HJKMNP-TV-Z]{26}$"

HttpsUrl = Annotated[
    AnyUrl, UrlConstraints(max_length=2048, allowed_schemes=["https"], host_required=True)
]


class NotificationView(ResponseModel):
    notification_id: str
    event_id: str
    event_type: str
    job_id: str | None
    title: str
    body: str
    read: bool
    read_at: datetime | None
    created_at: datetime


class NotificationPage(ResponseModel):
    items: list[NotificationView]
    unread_count: int = Field(description="All of my unread in-app notifications.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null at the end."
    )


class NotificationRead(ResponseModel):
    notification_id: str
    read_at: datetime
    unread_count: int


class Preferences(ResponseModel):
    in_app: bool = Field(description="Notifications listed by GET /notifications.")
    email: bool
    push: bool = Field(description="Web push to every registered push subscription.")


Category = Literal["leads", "messages", "quotes", "payments", "disputes", "reviews", "updates"]


class PreferencesView(Preferences):
    email_categories: dict[Category, bool] = Field(
        description="Which categories of notifications are emailed (while `email` is on); "
        "an email's unsubscribe link turns its category off here."
    )
    push_subscriptions: int = Field(description="How many push subscriptions I registered.")
    push_public_key: str = Field(
        description="The VAPID public key (base64url) to subscribe with, as the browser's "
        "`applicationServerKey`."
    )


class PreferencesChange(RequestModel):
    """Channels to turn on or off; a channel left out keeps its setting."""

    in_app: bool | None = None
    email: bool | None = None
    push: bool | None = None
    email_categories: dict[Category, bool] | None = Field(
        default=None, description="Categories to email or not; one left out keeps its setting."
    )


class PushKeys(RequestModel):
    p256dh: Annotated[str, Field(min_length=1, max_length=255)]
    auth: Annotated[str, Field(min_length=1, max_length=255)]

    @field_validator("p256dh")
    @classmethod
    def _p256dh(cls, value: str) -> str:
        raw = _b64url(value)
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError:
            raise ValueError("p256dh must be an uncompressed P-256 public key") from None
        if len(raw) != 65:
            raise ValueError("p256dh must be an uncompressed P-256 public key")
        return value

    @field_validator("auth")
    @classmethod
    def _auth(cls, value: str) -> str:
        if len(_b64url(value)) != 16:
            raise ValueError("auth must be a 16-byte secret")
        return value


class PushSubscriptionCreate(RequestModel):
    """The browser's `PushSubscription.toJSON()`."""

    model_config = ConfigDict(populate_by_name=True)

    endpoint: HttpsUrl
    keys: PushKeys
    expiration_time: int | None = Field(
        default=None, alias="expirationTime", ge=0, description="Ignored; as the browser sends it."
    )

    @field_validator("endpoint")
    @classmethod
    def _stored_length(cls, value: AnyUrl) -> AnyUrl:
        if len(str(value)) > 2048:  # the normalised form is what is stored
            raise ValueError("endpoint is too long")
        return value


class PushSubscriptionView(ResponseModel):
    subscription_id: int
    endpoint: str
    created_at: datetime


_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


def _b64url(value: str) -> bytes:
    if not _B64URL.fullmatch(value):
        raise ValueError("must be base64url")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("must be base64url") from None


class DeadLetter(ResponseModel):
    notification_id: str
    event_id: str
    event_type: str
    user_id: str
    channel: str
    title: str
    attempts: int
    last_error: str | None
    created_at: datetime


class DeadLetterPage(ResponseModel):
    items: list[DeadLetter]
    next_cursor: str | None
