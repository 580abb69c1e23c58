"""Contact details in free text: the auditors' examples (issue 8, point 1), the judgement calls
of docs/security.md, and the ordinary trades text that must survive untouched."""

from __future__ import annotations

import re
import time

import pytest

from tests.security.contact_examples import AUDITOR_EXAMPLES
from tradematch.kit.contact_details import normalise
from tradematch.kit.text import (
    REDACTED,
    contains_contact_details,
    redact_contact_details,
    redact_file_name,
)


@pytest.mark.parametrize("example", AUDITOR_EXAMPLES.values(), ids=AUDITOR_EXAMPLES.keys())
def test_auditor_example_is_redacted_whole(example: str) -> None:
    text = f"Kitchen tap leaking, call {example} after 5"
    assert redact_contact_details(text) == f"Kitchen tap leaking, call {REDACTED} after 5"
    assert contains_contact_details(example)


# The judgement calls: all redacted (docs/security.md, "Contact details in free text").
DISGUISED = {
    # phone numbers
    "uk mobile": "07700 900123",
    "landline": "0121 496 0000",
    "london": "020 7946 0000",
    "plus 44 with (0)": "+44 (0)20 7946 0000",
    "0044": "0044 7700 900123",
    "international": "+33 1 23 45 67 89",
    "no trunk zero": "7700 900 123",
    "44 without plus": "447700900123",
    "junk digit in front": "9 07700 900123",
    "junk digit glued": "907700900123",
    "commas": "07700, 900, 123",
    "colons": "07700:900:123",
    "brackets": "(07700) [900] {123}",
    "newlines": "07700\n900\n123",
    "bullets": "07700\u2022900\u2022123",
    "minus signs": "07700\u2212900\u2212123",
    "ideographic space": "07700\u3000900123",
    "soft hyphens": "077\u00ad009\u00ad00123",
    "word joiner and bom": "0770\u20600900\ufeff123",
    "full-width digits": "\uff10\uff17\uff17\uff10\uff10 \uff19\uff10\uff10\uff11\uff12\uff13",
    "arabic-indic digits": "\u0660\u0667\u0667\u0660\u0660\u0669\u0660\u0660\u0661\u0662\u0663",
    "circled digits": "\u24ea\u2466\u2466\u24ea\u24ea \u2468\u24ea\u24ea\u2460\u2461\u2462",
    "spelled out": "zero seven seven zero zero nine zero zero one two three",
    "spelled with double": "oh double seven double oh nine double oh one two three",
    "mixed words and digits": "07700 nine zero zero one two three",
    "letter O and l": "O77OO 9OO l23",
    "letter I": "O77OO 9OO I23",
    # email addresses
    "plain email": "john.smith@example.co.uk",
    "spaced at": "john @ example.com",
    "spaced dot": "john@example . com",
    "(at) (dot)": "john (at) example (dot) com",
    "[at] [dot]": "john[at]example[dot]com",
    "<at>": "john<at>example.com",
    "word at and dot": "john at example dot com",
    "spelled dot in local part": "john dot smith at gmail dot com",
    "underscored": "john_at_example_dot_co_dot_uk",
    "provider without tld": "john at gmail",
    "@ without tld": "john@bobsplumbing",
    "small form at": "john\ufe6bexample.com",
    "upper case": "JOHN@EXAMPLE.COM",
    "cyrillic letters": "j\u043ehn@ex\u0430mple.c\u043em",
    # postcodes
    "postcode": "SW1A 1AA",
    "postcode lower case": "sw1a 1aa",
    "postcode no space": "M11AE",
    "postcode dotted": "E.C.1.A 1.B.B",
    "postcode full-width": "\uff33\uff37\uff11\uff21 \uff11\uff21\uff21",
    # links and handles
    "url": "https://bobsplumbing.co.uk/contact",
    "www": "www.bobsplumbing.co.uk",
    "bare domain": "bobsplumbing.co.uk",
    "bare domain spelled dot": "bobsplumbing dot com",
    "whatsapp link": "wa.me/447700900123",
    "telegram link": "t.me/bobplumbs",
    "handle": "@bob_plumbs",
    "labelled handle": "insta: bob.plumbing",
    "labelled snapchat": "Snapchat = bobby_fixes",
}


@pytest.mark.parametrize("disguised", DISGUISED.values(), ids=DISGUISED.keys())
def test_disguised_contact_details_are_redacted(disguised: str) -> None:
    redacted = redact_contact_details(f"Hi there, {disguised} thanks")
    assert redacted is not None and REDACTED in redacted
    assert redacted.startswith("Hi there, ")
    assert redacted.endswith(" thanks")
    assert not contains_contact_details(redacted)
    assert not re.search(r"\d", normalise(redacted).text), redacted


# Ordinary trades text: none of it is a contact detail.
ORDINARY = {
    "prices": "Budget £120, or 120.50 with parts; £1,250.00 + VAT; 1,500 - 2,000",
    "measurements": "Room is 2.5m x 3m, 15mm pipe, 22mm elbow, 1200 x 600 x 50 slab",
    "dates": "Any day from 12/03/2026 or 2026-03-14, not 3.4.2026",
    "date and time": "Start 03/04/2026 10:30 please",
    "times": "Available 08:00-12:00, 13:00-17:00; Mon-Fri 9am-5pm; 9.30am - 5.30pm",
    "quantities": "3 bed house, 2 bathrooms, 10 x 2.4m lengths, 4 sockets",
    "short lists": "sizes 10, 12, 15, 22, 28mm",
    "model numbers": "Worcester Greenstar 30i, GC 47-311-92, Vaillant ecoTEC 832, part 87161066910",
    "outcode alone": "We are in SW1A, near M1 and EC1A",
    "at in prose": "Leak at the back of the house, meet at 10.30",
    "missing space after a sentence": "Need a new boiler.Email me when free.I am home",
    "brands": "Snap-on tools, B&Q, wifi signal: weak",
    "sentence then word": "All done. Com back later",
    "times with am": "Come at 10am or 2 pm",
    "oil": "Fix 2 oil tanks and the loo",
    "phone-shaped but short": "Flat 7, 12 Acacia Avenue, 3rd floor",
}


@pytest.mark.parametrize("text", ORDINARY.values(), ids=ORDINARY.keys())
def test_ordinary_trades_text_is_left_alone(text: str) -> None:
    assert redact_contact_details(text) == text
    assert not contains_contact_details(text)


def test_redaction_replaces_exactly_the_original_span() -> None:
    # Invisible and compatibility characters inside the number belong to it; nothing around does.
    text = "Tel:\u200b\uff10\uff17\uff17\uff10\uff10\u00a0900\u200d123.\u00a0Ask for Sam"
    assert redact_contact_details(text) == f"Tel:\u200b{REDACTED}.\u00a0Ask for Sam"


def test_words_next_to_a_number_stay() -> None:
    text = "Mobile +44 7700 900123. I am in B10 at the moment, O2 signal is poor"
    assert (
        redact_contact_details(text)
        == f"Mobile {REDACTED}. I am in B10 at the moment, O2 signal is poor"
    )


def test_none_and_empty_pass_through() -> None:
    assert redact_contact_details(None) is None
    assert redact_contact_details("") == ""
    assert not contains_contact_details(None)


def test_file_names_keep_their_extension() -> None:
    assert redact_file_name("call 07700 900123.jpg") == f"call {REDACTED}.jpg"
    assert redact_file_name("bob@example.com.pdf") == f"{REDACTED}.pdf"
    assert redact_file_name("kitchen tap.jpeg") == "kitchen tap.jpeg"
    assert redact_file_name("07700900123") == REDACTED
    assert redact_file_name(None) is None


@pytest.mark.tracebacks  # provoked on purpose
def test_detection_failure_withholds_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    from tradematch.kit import contact_details

    def broken(text: str) -> list[tuple[int, int]]:
        raise RuntimeError("boom")

    monkeypatch.setattr(contact_details, "find", broken)
    assert redact_contact_details("anything at all") == REDACTED
    assert contains_contact_details("anything at all")


ADVERSARIAL = [
    "a" * 20_000,
    "1 " * 10_000,
    "a." * 10_000,
    "a dot " * 3_400,
    "a (dot) " * 2_500,
    "a_at_" * 4_000,
    "x@y." * 5_000,
    "S W 1 " * 3_400,
    "0." * 10_000,
    "o " * 10_000,
    "(" + " " * 20_000,
    "\u200b7" * 10_000,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_worst_case_inputs_stay_linear(text: str) -> None:
    # 20,000 characters, four times the longest text the API accepts. A quadratic pattern takes
    # seconds here; the detector takes tens of milliseconds. CPU time of this process, so a
    # busy machine does not count against it.
    started = time.process_time()
    redact_contact_details(text)
    assert time.process_time() - started < 1.0
