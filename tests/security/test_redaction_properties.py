"""Property-based tests of the contact-detail redactor: generated disguises of phone numbers,
email addresses and full postcodes (random separators, invisible characters, full-width and
other-script forms, at/dot spellings, case, spelled and look-alike digits) are all redacted,
with none of their digits left; ordinary trades text is left alone; redaction is idempotent and
never raises."""

from __future__ import annotations

import os
import re

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tradematch.kit.contact_details import normalise
from tradematch.kit.postcodes import centroids
from tradematch.kit.text import REDACTED, contains_contact_details, redact_contact_details

# TRADEMATCH_REDACTION_EXAMPLES=5000 for a longer hunt.
PROPERTY = settings(
    max_examples=int(os.environ.get("TRADEMATCH_REDACTION_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SEPARATORS = [
    " ", "  ", "   ", "\t", "\n", "\u00a0", "\u2009", "\u3000",  # blanks
    "-", "\u2010", "\u2013", "\u2014", "\u2212", "\ufe63",  # dashes
    ".", "\u00b7", "\u2022", "\u2219", "\u30fb", "\uff0e",  # dots, middle dots, bullets
    "/", "\\", "\u2044", "\uff0f",  # slashes
    "_", "\uff3f", "\u203f",  # underscores
    ",", ":", "(", ")", "[", "]",
]  # fmt: skip
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e", "\u202a"]
DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
ZERO_WORDS = ["zero", "oh", "O", "nought"]


def _visible(text: str | None) -> str:
    """What a reader sees: invisible characters next to a redacted span may stay."""
    return normalise(text or "").text


def _digit_forms(d: int) -> list[str]:
    return [
        str(d),
        chr(0xFF10 + d),  # full-width
        chr(0x0660 + d),  # Arabic-Indic
        chr(0x06F0 + d),  # extended Arabic-Indic
        chr(0x0966 + d),  # Devanagari
        chr(0x1D7CE + d),  # mathematical bold
        chr(0x24EA) if d == 0 else chr(0x2460 + d - 1),  # circled
    ]


invisible = st.lists(st.sampled_from(INVISIBLE), max_size=2).map("".join)
separator = st.tuples(
    invisible, st.lists(st.sampled_from(SEPARATORS), min_size=1, max_size=3), invisible
).map(lambda t: t[0] + "".join(t[1]) + t[2])


@st.composite
def phone_number(draw: st.DrawFn) -> tuple[str, str]:
    """(a leading "+" or "", the digits) of a UK or international number."""
    kind = draw(st.sampled_from(["mobile", "landline", "plus44", "0044", "international"]))

    def rest(n: int) -> str:
        return draw(st.text("0123456789", min_size=n, max_size=n))

    if kind == "mobile":
        return "", "07" + rest(9)
    if kind == "landline":
        return "", "0" + draw(st.sampled_from("123")) + rest(draw(st.sampled_from([8, 9])))
    if kind == "plus44":
        return "+", "44" + draw(st.sampled_from("1237")) + rest(9)
    if kind == "0044":
        return "", "0044" + draw(st.sampled_from("1237")) + rest(9)
    country = draw(st.text("123456789", min_size=1, max_size=1)) + rest(draw(st.integers(0, 2)))
    return "+", country + rest(draw(st.integers(max(1, 9 - len(country)), 15 - len(country))))


@st.composite
def disguised_phone(draw: st.DrawFn) -> str:
    plus, digits = draw(phone_number())
    if draw(st.integers(0, 5)) == 0:  # spelled out, one word per digit
        words = [
            draw(st.sampled_from(ZERO_WORDS)) if d == "0" else DIGIT_WORDS[int(d)] for d in digits
        ]
        out = words[0]
        for word in words[1:]:
            out += draw(separator.filter(lambda s: normalise(s).text.strip() != "")) + word
        return (plus + " " if plus else "") + out
    # Look-alike letters for some 0s and 1s, never the last three digits (a run needs a few
    # digits typed as digits, or it would be any word made of o, l and I).
    rendered = []
    for index, d in enumerate(digits):
        forms = _digit_forms(int(d))
        if d in "01" and index < len(digits) - 3:
            forms += ["O", "o"] if d == "0" else ["l", "I"]
        rendered.append(draw(st.sampled_from(forms)))
    groups: list[str] = []
    position = 0
    while position < len(rendered):
        size = draw(st.integers(1, 5))
        inside = draw(invisible)
        groups.append(inside.join(rendered[position : position + size]))
        position += size
    out = groups[0]
    for group in groups[1:]:
        out += draw(separator) + group
    if plus:
        out = draw(st.sampled_from(["+", "\uff0b", "\ufe62"])) + draw(invisible) + out
    return out


@given(
    number=disguised_phone(),
    before=st.sampled_from(["", "Call ", "Ring me on ", "Tel:", "Mobile: ", "text "]),
    after=st.sampled_from(["", " thanks", ".", "!", " after work", " (evenings)"]),
)
@PROPERTY
def test_disguised_phone_numbers_are_redacted(number: str, before: str, after: str) -> None:
    redacted = redact_contact_details(before + number + after)
    assert _visible(redacted) == _visible(before + REDACTED + after)
    assert not re.search(r"[0-9]", normalise(redacted or "").text)


AT_SPELLINGS = [
    "@",
    "\uff20",
    "\ufe6b",
    " @ ",
    "(at)",
    "[at]",
    "{at}",
    "<at>",
    " (at) ",
    " [ at ] ",
]
AT_WORDS = [" at ", " AT ", "_at_", " - at - "]
DOT_SPELLINGS = [".", "\uff0e", "\u3002", " dot ", "(dot)", "[dot]", "{dot}", " DOT ", " . "]
TLDS = ["com", "co.uk", "org.uk", "org", "net", "io", "uk", "info"]
label = st.from_regex(r"[a-z][a-z0-9]{2,9}", fullmatch=True)


def _case(draw: st.DrawFn, text: str, *, mixed: bool) -> str:
    style = draw(st.sampled_from(["lower", "upper", "mixed"] if mixed else ["lower", "upper"]))
    if style == "upper":
        return text.upper()
    if style == "lower":
        return text
    return "".join(c.upper() if draw(st.booleans()) else c for c in text)


def _full_width(draw: st.DrawFn, text: str) -> str:
    return "".join(
        chr(ord(c) - 0x21 + 0xFF01) if c.isascii() and c.isalnum() and draw(st.booleans()) else c
        for c in text
    )


@st.composite
def disguised_email(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A disguised address and the parts of it that must not survive."""
    local = draw(label)
    second = draw(st.one_of(st.none(), label))
    domain = draw(label)
    tld = draw(st.sampled_from(TLDS)).split(".")
    word_at = draw(st.booleans())
    at = draw(st.sampled_from(AT_WORDS if word_at else AT_SPELLINGS))
    dots = st.sampled_from(DOT_SPELLINGS)
    local_part = local if second is None else local + draw(dots) + second
    address_parts = [local_part, at, domain]
    for part in tld:
        address_parts += [draw(dots), part]
    # A bare word "at" reads as prose unless the top-level domain is plainly one.
    address = "".join(
        p if p in (at,) else _full_width(draw, _case(draw, p, mixed=not word_at))
        for p in address_parts
    )
    if word_at:
        address = _case(draw, address, mixed=False)
    chars = list(address)
    for _ in range(draw(st.integers(0, 3))):
        chars.insert(draw(st.integers(0, len(chars))), draw(st.sampled_from(INVISIBLE)))
    return "".join(chars), [local, domain] + ([] if second is None else [second])


@given(
    email=disguised_email(),
    before=st.sampled_from(["", "Email ", "Contact: ", "write to "]),
    after=st.sampled_from(["", " please", ".", " today"]),
)
@PROPERTY
def test_disguised_email_addresses_are_redacted(
    email: tuple[str, list[str]], before: str, after: str
) -> None:
    address, secrets = email
    context = (before + after).lower()
    assume(all(secret not in context for secret in secrets))
    redacted = redact_contact_details(before + address + after)
    assert _visible(redacted) == _visible(before + REDACTED + after)
    shown = normalise((redacted or "").replace(REDACTED, " ")).text.lower()
    assert not any(secret in shown for secret in secrets)


INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
POSTCODE_GAPS = ["", "", " ", "  ", "-", "\u2013", ".", "\u00b7", "_", "/", ",", "\u00a0"]
OUTCODES = sorted(centroids())


@st.composite
def disguised_postcode(draw: st.DrawFn) -> tuple[str, str]:
    outward = draw(st.sampled_from(OUTCODES))
    inward = (
        draw(st.sampled_from("0123456789"))
        + draw(st.sampled_from(INWARD_LETTERS))
        + draw(st.sampled_from(INWARD_LETTERS))
    )
    compact = outward + inward
    out = ""
    for index, c in enumerate(compact):
        c = c.lower() if draw(st.booleans()) else c
        c = _full_width(draw, c)
        if index:
            out += draw(st.sampled_from(POSTCODE_GAPS)) + draw(invisible)
        out += c
    return out, compact


@given(
    postcode=disguised_postcode(),
    before=st.sampled_from(["", "Postcode ", "I live at ", "near "]),
    after=st.sampled_from(["", " thanks", ".", ", top floor"]),
)
@PROPERTY
def test_disguised_full_postcodes_are_redacted(
    postcode: tuple[str, str], before: str, after: str
) -> None:
    text, compact = postcode
    # The one documented exception: a district, a blank and a lower-case two-letter word
    # ("B10 at the moment") is prose, even where "B1 0AT" is also a postcode.
    squeezed = re.sub(r"[\s.\-/_,]+", " ", normalise(text).text)
    prose = r"[A-Za-z0-9]+[0-9] (at|as|an|ad|ah|by|be|eh|er|ha|he|re|st|up|us|we|ye|nd|rd|th)"
    assume(not re.fullmatch(prose, squeezed))
    redacted = redact_contact_details(before + text + after)
    assert _visible(redacted) == _visible(before + REDACTED + after)
    shown = re.sub(r"[^A-Z0-9]", "", normalise(redacted or "").text.upper())
    assert compact not in shown
    assert not re.search(r"[0-9]", shown)


# Ordinary trades text, built from fragments with words between them (two numbers side by side
# with only a blank between can be a phone number; that is the point of the detector).
WORDS = [
    "tap", "leaking", "kitchen", "boiler", "radiator", "budget", "pipe", "room", "available",
    "from", "until", "fit", "new", "replace", "sockets", "for", "about", "the", "and", "with",
    "at", "on", "near", "please", "approx", "each", "plus", "VAT", "Worcester", "Baxi",
]  # fmt: skip
BRANDS = ["Greenstar", "ecoTEC", "Combi", "Logic", "Vokera"]


@st.composite
def trades_fragment(draw: st.DrawFn) -> str:
    n = st.integers
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return f"£{draw(n(1, 99_999)):,}"
    if kind == 1:
        return f"{draw(n(1, 9_999))}.{draw(n(0, 99)):02d}"
    if kind == 2:
        return f"{draw(n(1, 999))}mm"
    if kind == 3:
        return f"{draw(n(1, 9))}.{draw(n(0, 9))}m x {draw(n(1, 12))}m"
    if kind == 4:
        day, month, year = draw(n(1, 28)), draw(n(1, 12)), draw(n(2000, 2039))
        sep = draw(st.sampled_from("/.-"))
        return f"{day:02d}{sep}{month:02d}{sep}{year}"
    if kind == 5:
        return f"{draw(n(0, 23)):02d}:{draw(n(0, 59)):02d}"
    if kind == 6:
        return f"{draw(n(1, 12))}{draw(st.sampled_from(['am', 'pm', '.30am', '.15pm']))}"
    if kind == 7:
        return str(draw(n(0, 9_999)))
    if kind == 8:
        return f"GC {draw(n(10, 99))}-{draw(n(100, 999))}-{draw(n(10, 99))}"
    return draw(st.sampled_from([f"{b} {draw(n(10, 40))}i" for b in BRANDS] + OUTCODES))


@st.composite
def trades_text(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 8))):
        parts.append(draw(st.sampled_from(WORDS)))
        parts.append(draw(trades_fragment()))
        parts.append(draw(st.sampled_from([" ", ", ", ". ", "; "])))
    return " ".join(parts).strip()


@given(text=trades_text())
@PROPERTY
def test_text_without_contact_details_is_unchanged(text: str) -> None:
    assert redact_contact_details(text) == text
    assert not contains_contact_details(text)


contact_text = st.one_of(
    disguised_phone(),
    disguised_email().map(lambda e: e[0]),
    disguised_postcode().map(lambda p: p[0]),
)
any_text = st.text(st.characters(exclude_categories=()), max_size=300)


@given(
    text=st.one_of(any_text, contact_text, trades_text()), more=st.one_of(any_text, contact_text)
)
@PROPERTY
def test_redaction_is_idempotent_and_never_raises(text: str, more: str) -> None:
    for sample in (text, text + " " + more, more + text):
        once = redact_contact_details(sample)
        assert isinstance(once, str)
        assert redact_contact_details(once) == once
        assert contains_contact_details(sample) == (once != sample)
        assert not contains_contact_details(once)
