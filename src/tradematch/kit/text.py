"""Contact details in user-written text: one policy, stated once.

Every user-written field another party can see before contact is unlocked is either

* **refused** on the way in: request schemas type it ``NoContactDetails[...]`` and a request
  whose field holds a phone number, email address, full postcode, link or handle is a 422 that
  names the field (error type ``contact_details``); or
* **redacted** on the way out: response schemas shown to that party type it ``Redacted`` and
  the detected spans are replaced by ``[redacted]``.

Which fields take which, and why, is the table in docs/security.md ("Contact details in free
text"). Detection itself lives in ``kit/contact_details.py``. Nothing here raises: if detection
ever failed, the whole text would be withheld rather than shown unchecked.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from tradematch.kit import contact_details

log = logging.getLogger(__name__)

REDACTED = "[redacted]"
CONTACT_DETAILS_ERROR = "contact_details"
CONTACT_DETAILS_MESSAGE = (
    "must not contain contact details (phone numbers, email addresses, full postcodes, links or "
    "social handles): they are shared once a lead is accepted"
)


def _spans(text: str) -> list[tuple[int, int]] | None:
    """Detected spans, or None if detection failed (callers then fail closed)."""
    try:
        return contact_details.find(text)
    except Exception:  # a masked view must render whatever the text holds
        log.exception("contact detail detection failed")
        return None


def _replace(text: str, spans: list[tuple[int, int]]) -> str:
    parts: list[str] = []
    position = 0
    for start, end in spans:
        parts.append(text[position:start])
        parts.append(REDACTED)
        position = end
    parts.append(text[position:])
    return "".join(parts)


# Redacting can expose a neighbour that only counted as embedded in a longer word before
# ("000000000L10AA": once the digits go, "L10AA" stands alone as a postcode). A second look
# settles it; more than one more is never needed in practice, and the cap bounds the cost.
_MAX_PASSES = 4


def redact_contact_details(text: str | None) -> str | None:
    """``text`` with every phone number, email address, full postcode, link and handle replaced
    by ``[redacted]``; idempotent; never raises."""
    if not text:
        return text
    for _ in range(_MAX_PASSES):
        spans = _spans(text)
        if spans is None:
            return REDACTED
        if not spans:
            return text
        text = _replace(text, spans)
    return text


def contains_contact_details(text: str | None) -> bool:
    if not text:
        return False
    spans = _spans(text)
    return spans is None or bool(spans)


def redact_file_name(name: str | None) -> str | None:
    """A user's file name as others may see it: contact details in the name are redacted and a
    short extension is kept ("call 07700 900123.jpg" → "call [redacted].jpg")."""
    if not name:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and stem and 1 <= len(extension) <= 5 and extension.isalnum():
        return f"{redact_contact_details(stem)}.{extension}"
    return redact_contact_details(name)


def _refuse_contact_details(value: str) -> str:
    if contains_contact_details(value):
        raise PydanticCustomError(CONTACT_DETAILS_ERROR, CONTACT_DETAILS_MESSAGE)
    return value


def _redact(value: str) -> str:
    return redact_contact_details(value) or value


NoContactDetails = AfterValidator(_refuse_contact_details)
"""Refuse (422) a request field holding contact details: ``Annotated[str, NoContactDetails]``."""

Redacted = Annotated[str, AfterValidator(_redact)]
"""A response field shown to another party before contact is unlocked: contact details in it
are replaced by ``[redacted]`` when the view is built."""

RedactedFileName = Annotated[str, AfterValidator(lambda name: redact_file_name(name) or name)]
"""A user's file name in a response another party sees."""


# Keys under which event payloads carry user-written text (a dispute's reason, a request for
# changes, ...). Ids, states, amounts and URLs are never touched.
FREE_TEXT_KEYS = frozenset(
    {"reason", "description", "note", "title", "feedback", "response", "reply", "body", "text"}
)


def redact_free_text(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with contact details redacted from its free-text values, at any depth."""
    return {key: _redact_value(key, value) for key, value in payload.items()}


def _redact_value(key: str, value: Any) -> Any:
    if isinstance(value, str):
        return _redact(value) if key in FREE_TEXT_KEYS else value
    if isinstance(value, dict):
        return redact_free_text(value)
    if isinstance(value, list):
        return [_redact_value(key, item) for item in value]
    return value


RedactedPayload = Annotated[dict[str, Any], AfterValidator(redact_free_text)]
"""An event payload as a participant sees it: free-text values redacted."""
