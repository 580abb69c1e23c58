"""No credential reaches the log through a URL, however its query string is written.

uvicorn logs each request's path (the access log) and each WebSocket handshake (on
``uvicorn.error``) with the query string as the client sent it. The live socket takes its token
as ``?token=``, and a query parser decodes ``tok%65n`` to ``token``: the filter therefore parses
the query string, it does not look for the text ``token=``. Upload links carry ``sig``.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from urllib.parse import quote, unquote_plus

import pytest
from fastapi import FastAPI

from tradematch.core.logging import redact_query, redact_urls

SECRET = "eyJhbGciOiJFUzI1NiJ9.c2VjcmV0LXRva2Vu.SIGNATURE-value_123"
PLUS_SECRET = "tok en secret 42"  # written with + for its blanks

# name=value forms a client could send that a parser reads as a secret parameter.
VARIANTS = {
    "plain": f"token={SECRET}",
    "percent-encoded letter": f"tok%65n={SECRET}",
    "every letter encoded": f"%74%6F%6B%65%6E={SECRET}",
    "lower-case hex": f"%74%6f%6b%65%6e={SECRET}",
    "double-encoded": f"tok%2565n={SECRET}",
    "upper case": f"TOKEN={SECRET}",
    "mixed case": f"ToKeN={SECRET}",
    "encoded mixed case": f"T%4FKEN={SECRET}",
    "plus after the name": f"token+={SECRET}",
    "encoded blank before": f"%20token={SECRET}",
    "full-width letters": f"{quote(chr(0xFF54) + chr(0xFF4F) + 'ken')}={SECRET}",  # full-width t, o
    "value percent-encoded": f"token={quote(SECRET, safe='')}",
    "every value byte encoded": "token=" + "".join(f"%{b:02X}" for b in SECRET.encode()),
    "value with plus": f"token={PLUS_SECRET.replace(' ', '+')}",
    "repeated": f"token=harmless&token={SECRET}",
    "repeated, second encoded": f"token=x&tok%65n={SECRET}&resume_from=4",
    "after another parameter": f"resume_from=12&token={SECRET}",
    "semicolon separated": f"resume_from=12;token={SECRET}",
    "semicolon, encoded name": f"a=1;%74oken={SECRET};b=2",
    "access_token": f"access_token={SECRET}",
    "upload link signature": f"viewer=usr_1&exp=99&sig={SECRET}",
    "upload link signature, encoded": f"viewer=usr_1&exp=99&s%69g={SECRET}",
}


def _leaks(text: str) -> list[str]:
    """Every form of the secret the text still shows (as written, or once decoded)."""
    found = []
    for secret in (SECRET, PLUS_SECRET):
        for shown in (text, unquote_plus(text), unquote_plus(unquote_plus(text))):
            if secret in shown or secret.replace(" ", "+") in shown:
                found.append(secret)
    return found


@pytest.mark.parametrize("query", VARIANTS.values(), ids=list(VARIANTS))
def test_the_query_parser_redacts_every_spelling(query: str) -> None:
    redacted = redact_query(query)
    assert not _leaks(redacted), redacted
    assert "[redacted]" in redacted


def test_other_parameters_are_kept_as_written() -> None:
    assert redact_query("resume_from=12&limit=5;x=%41") == "resume_from=12&limit=5;x=%41"
    assert redact_urls("GET /api/connection/jobs?tokens=3 200") == (
        "GET /api/connection/jobs?tokens=3 200"
    )
    assert redact_urls('"WebSocket /api/connection/ws?token=abc" 403') == (
        '"WebSocket /api/connection/ws?token=[redacted]" 403'
    )


@pytest.fixture
def captured(app: FastAPI) -> Iterator[io.StringIO]:
    """Everything the uvicorn loggers write, through a handler of the test's own (the app is
    created first: it puts the redacting filter on those loggers)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    loggers = [logging.getLogger(name) for name in ("uvicorn.access", "uvicorn.error")]
    saved = [(logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
    try:
        yield out
    finally:
        for logger, (level, _propagate) in zip(loggers, saved, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


@pytest.mark.parametrize("query", VARIANTS.values(), ids=list(VARIANTS))
def test_no_variant_reaches_uvicorns_log(captured: io.StringIO, query: str) -> None:
    # Exactly how uvicorn logs them: the access line and the WebSocket handshake.
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/uploads/upl_1?{query}", "1.1", 200
    )
    logging.getLogger("uvicorn.error").info(
        '%s - "WebSocket %s" [accepted]', "127.0.0.1:5000", f"/api/connection/ws?{query}"
    )
    logging.getLogger("uvicorn.error").info(f"connection from /api/connection/ws?{query}")
    text = captured.getvalue()
    assert text.count("uvicorn.") == 3, text
    assert not _leaks(text), text
