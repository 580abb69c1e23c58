"""The VAPID key that signs web pushes: configured, or generated once and kept in the data dir."""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from tradematch.core.config import Settings
from tradematch.core.data_dir import persisted_secret

KEY_FILE = "vapid_private_key"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def vapid_key(settings: Settings) -> Vapid02:
    if settings.vapid_private_key is not None:
        return _load(settings.vapid_private_key.get_secret_value())
    return _load(_persisted_key(settings.data_dir))


def public_key(settings: Settings) -> str:
    """The key browsers subscribe with (``applicationServerKey``): base64url, uncompressed."""
    point = vapid_key(settings).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


@lru_cache(maxsize=8)
def _load(private_key: str) -> Vapid02:
    return Vapid02.from_string(private_key)


def _generate_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def _persisted_key(data_dir: Path) -> str:
    return persisted_secret(data_dir, KEY_FILE, _generate_key)
