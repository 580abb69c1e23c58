"""One-click unsubscribe (RFC 8058) from one category of notification emails.

Every notification email carries a link, ``<public url>/api/connection/notifications/
unsubscribe?token=…``, in its ``List-Unsubscribe`` header and its footer. The token names the
recipient and the email's category and is signed (HMAC-SHA256 with a key derived from the app's
signing key), so it works without signing in and cannot be made for someone else or for another
category. It does not expire: a mail client may offer the link years later, and all it can do
is turn one kind of email off, which the user can turn back on in their preferences.

A ``POST`` to the link turns the category off for email (``notification_preferences`` by
category; the mail provider's one-click ``List-Unsubscribe=One-Click`` or the confirmation
page's button). A ``GET`` changes nothing — mail scanners follow links — and shows a page whose
button sends that ``POST``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from html import escape
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.core.errors import NotFound
from tradematch.notifications import repository
from tradematch.notifications.states import CATEGORIES

PATH = "/api/connection/notifications/unsubscribe"
TOKEN_MAX = 200
ONE_CLICK = "List-Unsubscribe=One-Click"  # the List-Unsubscribe-Post header's value

CATEGORY_NAMES = {
    "leads": "new leads and lead updates",
    "messages": "new messages",
    "quotes": "quotes",
    "payments": "escrow, milestones and payments",
    "disputes": "disputes",
    "reviews": "reviews",
    "updates": "other updates",
}


def _key(signing_key: str) -> bytes:
    # A key of its own: an unsubscribe token is never an access token, nor the other way round.
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"tradematch unsubscribe v1"
    ).derive(signing_key.encode())


def _signature(signing_key: str, user_id: str, category: str) -> str:
    digest = hmac.new(_key(signing_key), f"{user_id}\n{category}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token(signing_key: str, user_id: str, category: str) -> str:
    """``<user id>.<category>.<signature>`` (ids and categories hold no dots)."""
    return f"{user_id}.{category}.{_signature(signing_key, user_id, category)}"


def preferences_url(public_url: str) -> str:
    """The dashboards' notification preferences screen, where a category is turned back on."""
    return f"{public_url}/#/notifications"


def url(public_url: str, signing_key: str, user_id: str, category: str) -> str:
    return f"{public_url}{PATH}?token={quote(token(signing_key, user_id, category), safe='')}"


def read(signing_key: str, value: str) -> tuple[str, str] | None:
    """The (user id, category) a token was made for; None if it was not made by us."""
    parts = value.split(".")
    if len(parts) != 3:
        return None
    user_id, category, signature = parts
    if category not in CATEGORIES or not user_id:
        return None
    if not hmac.compare_digest(
        signature.encode(), _signature(signing_key, user_id, category).encode()
    ):
        return None
    return user_id, category


async def _target(session: AsyncSession, signing_key: str, value: str) -> tuple[str, str]:
    found = read(signing_key, value)
    # A forged token, and one for a user who is gone, are the same "not found".
    if found is None or not await repository.is_active_user(session, found[0]):
        raise NotFound("Unsubscribe link not found")
    return found


async def confirmation(
    session: AsyncSession, signing_key: str, value: str, *, public_url: str
) -> str:
    """The page a ``GET`` of the link shows: what the button will turn off. Changes nothing."""
    _, category = await _target(session, signing_key, value)
    action = f"{PATH}?token={quote(value, safe='')}"
    return _page(
        "Unsubscribe",
        f"<p>Stop emails about {escape(CATEGORY_NAMES[category])}?</p>"
        f'<form method="post" action="{escape(action)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
        f"<p>You will still see them in the app. {_turn_back_on(public_url)}</p>",
    )


async def unsubscribe(
    session: AsyncSession, signing_key: str, value: str, *, public_url: str
) -> str:
    """Turn the token's category off for email (again: no change); the page that says so."""
    user_id, category = await _target(session, signing_key, value)
    await repository.set_category_preferences(session, user_id, "email", {category: False})
    return _page(
        "Unsubscribed",
        f"<p>You will no longer get emails about {escape(CATEGORY_NAMES[category])}.</p>"
        f"<p>{_turn_back_on(public_url)}</p>",
    )


def _turn_back_on(public_url: str) -> str:
    link = escape(preferences_url(public_url))
    return f'You can turn them back on in your <a href="{link}">notification preferences</a>.'


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)} · TradeMatch</title></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
