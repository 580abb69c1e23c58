"""Finding contact details in free text, however they are disguised.

Detection runs on a *normalised* copy of the text, and every match is mapped back to the span of
the original that produced it, so redaction replaces exactly what the writer typed.

Normalisation, one input character at a time (so each output character knows where it came
from): Unicode NFKC (full-width and other compatibility forms become plain ASCII: a full-width
at sign becomes ``@``, full-width or circled digits become ``0``-``9``); format characters
(category Cf: zero-width space and joiner, soft hyphen, BOM, bidi controls) and combining marks
are dropped; decimal digits of every script become ASCII digits; Cyrillic and Greek letters that
look like Latin ones become those letters; dash-, dot- (middle dot, bullet, ideographic full
stop, ...), slash- and underscore-like characters become ``-``, ``.``, ``/``, ``_``; every kind
of space, control character and other punctuation becomes a space. The detectors then treat
any *run* of separators as one.

What is found (see docs/security.md, "Contact details in free text", for the judgement calls):

* phone numbers: digits joined by any separators (whitespace, ``-._/·•,:()[]``…), where digits
  may also be spelled out (``seven``, ``oh``, ``double``) or written as look-alike letters
  (``O`` for 0, ``l``/``I`` for 1) inside a run that has real digits; a run is a phone number when
  it starts with ``+`` and has 8+ digits, has a group starting ``0[1-9]`` (or ``00``) followed by
  8+ more digits, has ``0[1-9]`` followed by 9-10 digits to its end anywhere inside it (a UK
  number with a junk digit glued in front), has a group ``7`` + 9 digits or ``44`` + 9-10 digits
  at its end (UK numbers without the trunk 0 or the ``+``), or has 12+ digits at all. A run
  made of full dates (``12/03/2026``, ``2026-03-12``) and clock times (``10:30``, ``9.30am``)
  with fewer than three other digits is a schedule, never a phone number;
* email addresses, with ``@`` or its spellings (``(at)``, ``[at]``, ``{at}``, ``<at>``,
  `` at ``, ``_at_``) and ``.`` or its spellings (``(dot)``, `` dot ``…); a bare `` at `` needs a
  well-known top-level domain or mail provider after it;
* full UK postcodes (outward code from the bundled list of districts + inward code), with any
  separators between their characters (``S W 1 A 1 A A``, ``sw1a-1aa``); an outward code alone
  (``SW1A``) is public and stays;
* links: ``http(s)://…``, ``www.…``, bare domains with a common top-level domain
  (``bobsplumbing.co.uk``), messenger links (``wa.me/…``, ``t.me/…``), ``@handles`` and
  ``instagram: handle``-style labels.

Cost: normalisation is one pass (a per-character cache makes non-ASCII text cheap, ASCII text is
translated in C); phone numbers, and emails and domains, are each read from one pass over the
text's tokens; the remaining patterns are precompiled, anchored and free of nested ambiguous
repetition. The whole scan is linear in the length of the text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from tradematch.kit.postcodes import centroids

# ---------------------------------------------------------------------------- normalisation

_DOTS = frozenset(
    "\u00b7\u0387\u16eb\u2022\u2024\u2027\u2219\u22c5\u2981\u2e31\u2e33\u25e6\u25cf"
    "\u30fb\uff65\u3002\uff61\ufe52\u2e3c\u00b0\u2218"
)
_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2796\ufe58\ufe63\uff0d")
_SLASHES = frozenset("\\\u2044\u2215\u2216\u29f8\u29f9\uff0f\uff3c\u2571\u2572")
# Characters that render as nothing or as a blank but are letters or symbols by category.
_BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
# Cyrillic and Greek letters drawn like Latin ones (Unicode's confusables, the ones that matter
# for digits, "at", "dot", postcodes and domains).
_LATIN_LOOKALIKES = str.maketrans(
    "АВЕЅІЈКМНОРСТХУаеѕіјорсхуԁһԛԝΑΒΕΖΗΙΚΜΝΟΡΤΥΧοαιικνρτυχ",
    "ABESIJKMHOPCTXYaesijopcxydhqwABEZHIKMNOPTYXoaiikvptux",
)
# ASCII: controls are blanks, a backslash is a slash; nothing is added or removed, so positions
# in the normalised text are positions in the original.
_ASCII = str.maketrans({**{chr(c): " " for c in range(32)}, "\x7f": " ", "\\": "/"})


@lru_cache(maxsize=8192)
def _fold(ch: str) -> str:
    """The normalised form of one non-ASCII character ('' when it is dropped)."""
    category = unicodedata.category(ch)
    if category == "Cf" or category in ("Mn", "Me"):
        return ""
    if ch in _BLANKS or category[0] in "ZC":
        return " "
    if ch in _DOTS:
        return "."
    if ch in _DASHES or category == "Pd":
        return "-"
    if ch in _SLASHES:
        return "/"
    if category == "Pc":
        return "_"
    out = []
    for part in unicodedata.normalize("NFKC", ch):
        if part.isascii():
            out.append(part.translate(_ASCII))
            continue
        digit = unicodedata.digit(part, None)
        if digit is not None:
            out.append(str(digit))
        elif part in _DOTS:
            out.append(".")
        elif part in _DASHES or unicodedata.category(part) == "Pd":
            out.append("-")
        elif part in _SLASHES:
            out.append("/")
        elif unicodedata.category(part)[0] in "PZC":
            out.append(" ")
        else:
            out.append(part.translate(_LATIN_LOOKALIKES))
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Normalised:
    text: str
    origin: list[int] | None  # origin[i]: index in the original of text[i]; None = identity

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span that produced ``text[start:end]``."""
        if self.origin is None:
            return start, end
        return self.origin[start], self.origin[end - 1] + 1


def normalise(text: str) -> Normalised:
    if text.isascii():
        return Normalised(text.translate(_ASCII), None)
    parts: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        folded = ch.translate(_ASCII) if ch.isascii() else _fold(ch)
        if folded:
            parts.append(folded)
            origin.extend([index] * len(folded))
    return Normalised("".join(parts), origin)


# ---------------------------------------------------------------------------- phone numbers

_NUMBER_WORDS = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "nought": "0",
    "nil": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_REPEATS = {"double": 2, "triple": 3}
_LOOKALIKE_DIGITS = str.maketrans("oOlI", "0011")
_LOOKALIKE_WORD = re.compile(r"[oOlI]+")
_SEPARATORS = " .-/_,:;()[]{}<>*~|='\"!?^`#"

_DATE = r"(?:0?[1-9]|[12][0-9]|3[01])(?P<ds>[./-])(?:0?[1-9]|1[0-2])(?P=ds)(?:19|20)[0-9]{2}"
_ISO_DATE = r"(?:19|20)[0-9]{2}(?P<is>[./-])(?:0?[1-9]|1[0-2])(?P=is)(?:0?[1-9]|[12][0-9]|3[01])"
_CLOCK = r"(?:[01]?[0-9]|2[0-3]):[0-5][0-9]|(?:[01]?[0-9]|2[0-3])(?:[.:][0-5][0-9])? ?[ap]\.?m\b"
_NOT_DIGIT = re.compile(r"[^0-9]")
# A full date or clock time is one token: its digits count towards a run, but a run made (all
# but two digits) of dates and times is a schedule, not a phone number.
_PHONE_TOKENS = re.compile(
    rf"(?P<stop>(?<![0-9])(?:{_DATE}|{_ISO_DATE}|{_CLOCK})(?![0-9]))"
    r"|(?P<digits>[0-9]+)"
    r"|(?P<word>[^\W\d_]+)"
    rf"|(?P<sep>[{re.escape(_SEPARATORS)}\s]+)"
    r"|(?P<plus>\+)"
    r"|(?P<other>.)",
    re.DOTALL | re.IGNORECASE,
)


@dataclass(slots=True)
class _Unit:
    digits: str
    start: int
    end: int
    lookalike: bool = False  # letters standing in for digits ("O", "l", "I")
    date: bool = False  # a full date or clock time


@dataclass(slots=True)
class _Run:
    start: int  # where the run starts (its "+", if any)
    plus: bool = False
    units: list[_Unit] = field(default_factory=list)

    def trimmed(self) -> _Run:
        """A lone "I" or "l" set apart at either end is a word ("... 900123. I am"), not a 1;
        glued to digits ("I23") or inside the run it stays."""
        units = self.units
        while len(units) > 1 and _lone_letter(units[-1]) and units[-2].end < units[-1].start:
            units = units[:-1]
        first = 0
        if not self.plus:
            while (
                first < len(units) - 1
                and _lone_letter(units[first])
                and (units[first].end < units[first + 1].start)
            ):
                first += 1
        if first == 0 and units is self.units:
            return self
        return _Run(self.start if first == 0 else units[first].start, self.plus, units[first:])

    @property
    def end(self) -> int:
        return self.units[-1].end


def _lone_letter(unit: _Unit) -> bool:
    return unit.lookalike and unit.end - unit.start == 1


def _is_phone(run: _Run) -> bool:
    digits = "".join(unit.digits for unit in run.units)
    total = len(digits)
    real = sum(len(u.digits) for u in run.units if not u.lookalike)
    in_dates = sum(len(u.digits) for u in run.units if u.date)
    if real < 3 or total < 8:
        return False
    if total - in_dates < 3:
        return False  # dates and times side by side ("03/04/2026 10:30", "08:00-12:00")
    if run.plus or total >= 12:
        return True
    group = 0
    for unit in run.units:
        rest = total - group
        head = digits[group : group + 3]
        if head[:1] == "0" and rest >= 9 and (head[1:2] != "0" or group == 0):
            return True
        if head[:1] == "7" and rest == 10:
            return True
        if head[:2] == "44" and head[2:3] not in ("", "0") and rest in (11, 12):
            return True
        group += len(unit.digits)
    # A UK number (0 + 9 or 10 digits) with junk digits glued in front of it.
    return any(
        digits[i] == "0" and digits[i + 1] != "0" and total - i in (10, 11)
        for i in range(max(0, total - 11), total - 9)
    )


def _phone_spans(text: str) -> Iterator[tuple[int, int]]:
    run: _Run | None = None
    plus_at: int | None = None
    repeat = 1

    def finished(run: _Run | None) -> Iterator[tuple[int, int]]:
        if run is not None and run.units:
            run = run.trimmed()
            if _is_phone(run):
                yield run.start, run.end

    for token in _PHONE_TOKENS.finditer(text):
        kind, value = token.lastgroup, token.group()
        if kind == "sep" or (kind == "plus" and run is not None):
            continue
        digits: str | None = None
        lookalike = False
        if kind == "digits":
            digits = value
        elif kind == "stop":
            digits = _NOT_DIGIT.sub("", value)
        elif kind == "word":
            lower = value.lower()
            if lower in _REPEATS:
                repeat = _REPEATS[lower]
                if run is None:
                    run = _Run(token.start())
                continue
            if lower in _NUMBER_WORDS:
                digits = _NUMBER_WORDS[lower]
            elif _LOOKALIKE_WORD.fullmatch(value):
                digits, lookalike = value.translate(_LOOKALIKE_DIGITS), True
        if digits:
            digits = digits[0] * repeat + digits[1:]
            repeat = 1
            if run is None:
                run = _Run(token.start() if plus_at is None else plus_at, plus_at is not None)
            run.units.append(_Unit(digits, token.start(), token.end(), lookalike, kind == "stop"))
            plus_at = None
            continue
        yield from finished(run)
        run, repeat = None, 1
        plus_at = token.start() if kind == "plus" else None
    yield from finished(run)


# ---------------------------------------------------------------------------- emails and links

# A bare domain ("bobsplumbing.co.uk") needs one of these, in lower or upper case, after a dot
# with no blank around it: "boiler.Email me" is a sentence missing a space, not a domain.
BARE_TLDS = frozenset(
    [
        "com",
        "co",
        "uk",
        "net",
        "org",
        "io",
        "info",
        "biz",
        "app",
        "dev",
        "xyz",
        "online",
        "site",
        "shop",
        "store",
        "tech",
        "email",
        "services",
        "london",
        "wales",
        "scot",
        "cymru",
        "eu",
        "ie",
        "ly",
        "gl",
    ]
)
# A bare word "at" counts only before one of these top-level domains or mail providers (a real
# "@" or "(at)" accepts any alphabetic top-level domain, or none): the bare ones and more.
KNOWN_TLDS = BARE_TLDS | frozenset(
    [
        "website",
        "ai",
        "gov",
        "ac",
        "ltd",
        "plc",
        "digital",
        "solutions",
        "builders",
        "plumbing",
        "construction",
        "contractors",
        "repair",
        "cleaning",
        "gardens",
        "cloud",
        "page",
        "link",
        "me",
    ]
)
MAIL_PROVIDERS = frozenset(
    [
        "gmail",
        "googlemail",
        "hotmail",
        "outlook",
        "yahoo",
        "ymail",
        "icloud",
        "btinternet",
        "protonmail",
        "proton",
        "aol",
        "virginmedia",
        "sky",
        "live",
        "msn",
    ]
)
_MESSENGER_DOMAINS = frozenset(
    {("wa", "me"), ("t", "me"), ("m", "me"), ("telegram", "me"), ("linktr", "ee")}
)

_OPEN, _CLOSE = r"[(\[{<]", r"[)\]}>]"
_LINK_TOKENS = re.compile(
    rf"(?P<at>@|{_OPEN}\s*(?:at|@)\s*{_CLOSE})"
    rf"|(?P<dot>\.|{_OPEN}\s*(?:dot|\.)\s*{_CLOSE})"
    r"|(?P<word>[^\W_]+)"
    r"|(?P<join>[_\-+]+)"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)",
    re.DOTALL | re.IGNORECASE,
)
_SEPARATOR_TOKENS = frozenset({"at", "dot", "join", "space"})
_SPELLED = frozenset({"at", "dot"})

# How two words of a chain are joined.
AT, SPELLED_AT, DOT, LOOSE_DOT, SPELLED_DOT, JOIN, BREAK = range(7)
_LABEL_JOINS = frozenset({DOT, LOOSE_DOT, SPELLED_DOT})
_LOCAL_JOINS = frozenset({DOT, LOOSE_DOT, SPELLED_DOT, JOIN})


def _connector(tokens: list[re.Match[str]], text: str) -> int:
    kinds = {t.lastgroup for t in tokens}
    words = {t.group().lower() for t in tokens if t.lastgroup == "word"}
    if "at" in kinds:
        raw = text[tokens[0].start() : tokens[-1].end()]
        if raw.endswith("@") and raw[:1].isspace():
            return BREAK  # "follow @bob": a handle, not the end of an address
        return AT
    if "at" in words:
        return SPELLED_AT
    if "dot" in words or any(t.lastgroup == "dot" and t.group() != "." for t in tokens):
        return SPELLED_DOT
    if "dot" in kinds:
        raw = text[tokens[0].start() : tokens[-1].end()]
        if raw == ".":
            return DOT
        before, _, after = raw.partition(".")
        # "example . com" is a disguised dot; "end. Next" is a sentence.
        return (
            LOOSE_DOT
            if (before.strip() == "" and after.strip() == "" and bool(before)) or (not after)
            else BREAK
        )
    if kinds == {"join"}:
        return JOIN
    return BREAK


def _chains(text: str) -> Iterator[tuple[list[re.Match[str]], list[int]]]:
    """Words joined by dots, "@", "at"/"dot" spellings, "_", "-" or "+": each chain once."""
    tokens = list(_LINK_TOKENS.finditer(text))
    count = len(tokens)
    i = 0
    while i < count:
        if tokens[i].lastgroup != "word":
            i += 1
            continue
        words, joins = [tokens[i]], []
        while True:
            j = i + 1
            while j < count and tokens[j].lastgroup in _SEPARATOR_TOKENS:
                j += 1
            # A spelled "at"/"dot" between separators is part of the connector.
            if (
                j + 1 < count
                and j > i + 1
                and tokens[j].lastgroup == "word"
                and tokens[j].group().lower() in _SPELLED
                and tokens[j + 1].lastgroup in _SEPARATOR_TOKENS
            ):
                j += 1
                while j < count and tokens[j].lastgroup in _SEPARATOR_TOKENS:
                    j += 1
            if j >= count or tokens[j].lastgroup != "word":
                break
            kind = _connector(tokens[i + 1 : j], text)
            if kind == BREAK:
                break
            words.append(tokens[j])
            joins.append(kind)
            i = j
        yield words, joins
        i = j  # the next chain starts where this one stopped


def _is_tld(label: str, *, strict: bool) -> bool:
    if strict:
        return label.lower() in KNOWN_TLDS and (label.islower() or label.isupper())
    return label.isalpha() and 2 <= len(label) <= 24


def _email_spans(words: list[re.Match[str]], joins: list[int]) -> Iterator[tuple[int, int]]:
    for k, join in enumerate(joins):
        if join not in (AT, SPELLED_AT):
            continue
        first = k
        while first > 0 and joins[first - 1] in _LOCAL_JOINS:
            first -= 1
        last = k + 1
        end = None
        if words[last].group().lower() in MAIL_PROVIDERS:
            end = last
        while last < len(joins) and joins[last] in (*_LABEL_JOINS, JOIN):
            last += 1
            if joins[last - 1] in _LABEL_JOINS and _is_tld(
                words[last].group(), strict=join == SPELLED_AT
            ):
                end = last
        if end is None and join == AT:
            end = k + 1  # "bob@bobsplumbing": an address all the same
        if end is not None:
            yield words[first].start(), words[end].end()


def _domain_spans(
    text: str, words: list[re.Match[str]], joins: list[int]
) -> Iterator[tuple[int, int]]:
    first = 0
    for k in range(len(words)):
        if k < len(joins) and joins[k] in (DOT, SPELLED_DOT, JOIN):
            continue
        end = None  # the last label of words[first..k] that ends a domain
        for m in range(first + 1, k + 1):
            if joins[m - 1] not in (DOT, SPELLED_DOT):
                continue
            label = words[m].group()
            pair = (words[m - 1].group().lower(), label.lower())
            if pair in _MESSENGER_DOMAINS or (
                label.lower() in BARE_TLDS and (label.islower() or label.isupper())
            ):
                end = m
        if end is not None:
            last = words[end].end()
            if last < len(text) and text[last] == "/":  # and its path (t.me/handle)
                while last < len(text) and not text[last].isspace():
                    last += 1
                while text[last - 1] in _TRAILING_PUNCTUATION:
                    last -= 1
            yield words[first].start(), last
        first = k + 1


_URL = re.compile(r"\b(?:(?:https?|ftp)\s*:\s*//|www\s*\.\s*)[^\s<>\"]+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@.+\-])@[^\W\d][\w.]{1,40}")
_MESSENGERS = (
    r"whats\s?app|telegram|snap\s?chat|insta(?:gram)?|ig|face\s?book|fb|tik\s?tok|twitter|"
    r"skype|viber|we\s?chat|kik|discord|linked\s?in"
)
# "instagram: bob.plumbing": only the handle goes.
_LABELLED_HANDLE = re.compile(
    rf"\b(?:{_MESSENGERS})\s*(?:handle|id|user(?:name)?|name)?\s*[:=]\s*"
    r"(?P<handle>@?[\w.\-]{2,40})",
    re.IGNORECASE,
)
_TRAILING_PUNCTUATION = ".,;:!?)]}'\""


def _link_spans(text: str) -> Iterator[tuple[int, int]]:
    for words, joins in _chains(text):
        if joins:
            yield from _email_spans(words, joins)
            yield from _domain_spans(text, words, joins)
    for match in _URL.finditer(text):
        start, end = match.span()
        while end > start and text[end - 1] in _TRAILING_PUNCTUATION:
            end -= 1
        yield start, end
    for match in _HANDLE.finditer(text):
        yield match.span()
    for match in _LABELLED_HANDLE.finditer(text):
        yield match.span("handle")


# ---------------------------------------------------------------------------- postcodes

_GAP = r"[\s.\-/_,]*"
_INWARD_LETTER = "[abd-hjlnp-uw-z]"  # never C, I, K, M, O or V
_POSTCODE = re.compile(
    rf"(?<![^\W_])(?P<outward>[a-z](?:{_GAP}[a-z])?{_GAP}[0-9](?:{_GAP}[a-z0-9])??)"
    rf"(?P<middle>{_GAP})(?P<digit>[0-9])(?P<gap>{_GAP})"
    rf"{_INWARD_LETTER}{_GAP}{_INWARD_LETTER}(?![^\W_])",
    re.IGNORECASE,
)
_NOT_ALNUM = re.compile(r"[^a-z0-9]", re.IGNORECASE)
# Two-letter words (lower case) that follow a district in prose and look like inward letters.
_SHORT_WORDS = frozenset(
    [
        "at",
        "as",
        "an",
        "ad",
        "ah",
        "by",
        "be",
        "eh",
        "er",
        "ha",
        "he",
        "re",
        "st",
        "up",
        "us",
        "we",
        "ye",
        "nd",
        "rd",
        "th",
    ]
)


def _postcode_spans(text: str) -> Iterator[tuple[int, int]]:
    districts = centroids()
    for match in _POSTCODE.finditer(text):
        outward = _NOT_ALNUM.sub("", match.group("outward")).upper()
        if outward not in districts:
            continue
        # "B10 at the moment" is the district B10 and a word, not "B1 0AT" split oddly.
        if (
            not match.group("middle")
            and match.group("gap")
            and outward + match.group("digit") in districts
            and _NOT_ALNUM.sub("", text[match.end("gap") : match.end()]) in _SHORT_WORDS
        ):
            continue
        yield match.span()


# ---------------------------------------------------------------------------- the detector


def find(text: str) -> list[tuple[int, int]]:
    """The spans of ``text`` (original positions, merged, in order) that are contact details."""
    normalised = normalise(text)
    folded = normalised.text
    spans = [
        *_phone_spans(folded),
        *_link_spans(folded),
        *_postcode_spans(folded),
    ]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(normalised.span(s, e) for s, e in spans if e > s):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged
