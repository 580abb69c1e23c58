"""What holds a review for moderation: contact details, or abusive language."""

from __future__ import annotations

import re

from tradematch.kit.text import contains_contact_details

# A deliberately small list of unambiguous terms; admins see everything that is held.
_ABUSE = re.compile(
    r"\b(f+u+c+k+\w*|sh[i1]t+\w*|c+u+n+t+\w*|bastard\w*|bitch\w*|wank\w*|twat\w*|dickhead\w*|"
    r"retard\w*|idiot\w*|scum\w*|moron\w*)\b",
    re.IGNORECASE,
)


def hold_reason(text: str | None) -> str | None:
    if not text:
        return None
    if contains_contact_details(text):
        return "contains contact details"
    if _ABUSE.search(text):
        return "contains abusive language"
    return None
