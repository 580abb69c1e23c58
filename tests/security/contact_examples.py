"""Contact details as the auditors typed them (issue 8, point 1)."""

from __future__ import annotations

# Issue 8, point 1: each of these reached a vendor who had not accepted the lead.
AUDITOR_EXAMPLES = {
    "three spaces": "07700   900123",
    "underscore": "07700_900123",
    "slashes": "07700/900/123",
    "zero-width space": "07700\u200b900123",
    "en dashes": "07700\u2013900\u2013123",
    "middle dots": "07700\u00b7900\u00b7123",
    "full-width email": "john\uff20example\uff0ecom",
    "braced at/dot": "john{at}example{dot}com",
    "spaced postcode": "S W 1 A 1 A A",
    "hyphenated postcode": "SW1A-1AA",
}
