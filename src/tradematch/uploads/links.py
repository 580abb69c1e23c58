"""Short-lived signed links to uploads, one per viewer.

A browser's ``<img src>`` cannot send the bearer token, and the dashboards keep the token out of
cookies. So every ``url`` and ``thumbnail_url`` the API hands out carries ``viewer``, ``exp`` and
``sig``: an HMAC-SHA256 over (upload id, variant, viewer, expiry) with a key derived from the
token-signing key (HKDF, so the two keys are never the same bytes). The signature only stands
in for the token: each GET still resolves the viewer and runs the same access query as a
bearer request, so a link stops working the moment the viewer loses sight of the upload.

Expiry is rounded up to a five-minute step, so the same viewer reading the same page twice gets
the same URL (and the browser's cached copy) rather than a new link every second.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

Variant = Literal["file", "thumbnail"]
UPLOADS_PATH = "/api/connection/uploads"
EXPIRY_STEP_SECONDS = 300


@dataclass(frozen=True)
class SignedLink:
    viewer: str
    exp: int
    sig: str


class UploadLinks:
    def __init__(self, token_key: str, ttl_seconds: int) -> None:
        self._key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"tradematch upload links v1"
        ).derive(token_key.encode())
        self.ttl_seconds = ttl_seconds

    def _signature(self, upload_id: str, variant: Variant, viewer: str, exp: int) -> str:
        message = f"{upload_id}\n{variant}\n{viewer}\n{exp}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(
        self, upload_id: str, variant: Variant, viewer: str, *, now: float | None = None
    ) -> SignedLink:
        moment = time.time() if now is None else now
        exp = math.ceil((moment + self.ttl_seconds) / EXPIRY_STEP_SECONDS) * EXPIRY_STEP_SECONDS
        return SignedLink(viewer, exp, self._signature(upload_id, variant, viewer, exp))

    def url(
        self, upload_id: str, variant: Variant, viewer: str, *, now: float | None = None
    ) -> str:
        link = self.sign(upload_id, variant, viewer, now=now)
        path = f"{UPLOADS_PATH}/{upload_id}" + ("/thumbnail" if variant == "thumbnail" else "")
        return f"{path}?{urlencode({'viewer': link.viewer, 'exp': link.exp, 'sig': link.sig})}"

    def verify(
        self,
        upload_id: str,
        variant: Variant,
        viewer: str,
        exp: str,
        sig: str,
        *,
        now: float | None = None,
    ) -> bool:
        """Is this a link we signed for this viewer, still in date?"""
        if not exp.isascii() or not exp.isdigit() or len(exp) > 12:
            return False
        expected = self._signature(upload_id, variant, viewer, int(exp))
        in_date = int(exp) > (time.time() if now is None else now)
        return hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace")) and in_date
