"""Free-text helpers: redaction of contact details for masked views."""

from __future__ import annotations

import re

# Full UK postcode (outward + inward code), e.g. "SW1A 1AA", "m1 1ae", "EC1A1BB".
_POSTCODE = re.compile(
    r"\b(?:[A-Z]{1,2}[0-9][0-9A-Z]?)\s*[0-9][A-Z]{2}\b",
    re.IGNORECASE,
)
_EMAIL = re.compile(
    r"[A-Z0-9._%+\-]+\s*(?:@|\(at\)|\[at\]|\s+at\s+)\s*[A-Z0-9\-]+(?:\s*(?:\.|\(dot\)|\[dot\]|\s+dot\s+)\s*[A-Z0-9\-]+)+",
    re.IGNORECASE,
)
# Phone numbers: UK and international forms with optional separators; 9+ digits in total.
_PHONE = re.compile(r"(?<![\w])(?:\+|00)?(?:\(?\d[\s\-().]{0,2}){9,14}\d(?![\w])")

REDACTED = "[redacted]"


def redact_contact_details(text: str | None) -> str | None:
    """Hide phone numbers, email addresses and full postcodes inside free text."""
    if text is None:
        return None
    text = _EMAIL.sub(REDACTED, text)
    text = _POSTCODE.sub(REDACTED, text)
    return _PHONE.sub(REDACTED, text)


def contains_contact_details(text: str) -> bool:
    return redact_contact_details(text) != text
