"""Passwords (argon2id) and access tokens (JWT, HS256)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tradematch.core.errors import Unauthorized

# Verified against when the email is unknown, so both paths cost the same (no user enumeration).
# Any password's hash serves, as long as it has the hasher's parameters (they set the cost of a
# verification); hashing one at import would cost every process a sixth of a second to start.
STAND_IN_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$dujx7PnyL1Qt7twKwZbxnQ"
    "$OzIVNeC1l7eXI6TRMtbwnG8NDOKQRDRc/4UGiXQo/g8"
)


def use_hasher(hasher: PasswordHasher) -> None:
    """Hash and verify passwords with ``hasher`` from now on, the unknown-email stand-in made
    with the same parameters (``STAND_IN_HASH`` when they are the ones it was made with)."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = STAND_IN_HASH
    if hasher.check_needs_rehash(_DUMMY_HASH):  # other parameters than the stand-in's
        _DUMMY_HASH = hasher.hash("not-a-real-password")


_hasher: PasswordHasher
_DUMMY_HASH: str
use_hasher(PasswordHasher())  # argon2id with the library's current recommended parameters

# Verified access tokens remembered per process (read_token): about 1 MB at most.
VERIFIED_TOKENS = 4096


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    role: str


def issue_token(key: str, user_id: str, role: str, ttl_seconds: int) -> str:
    now = int(time.time())
    return jwt.encode(
        {"sub": user_id, "role": role, "iat": now, "exp": now + ttl_seconds}, key, algorithm="HS256"
    )


def read_token(key: str, token: str) -> TokenClaims:
    """The claims of a token signed with ``key`` that has not expired; 401 otherwise.

    Every request of a dashboard carries the same token, so a verified one is remembered
    (``_verified``): the same string under the same key verifies the same way every time, and
    only its expiry is checked again at each use. A token that fails is never remembered. The
    account behind it is still looked up on every request (a disabled account, a changed role).
    """
    try:
        claims, expires = _verified(key, token)
    except jwt.PyJWTError:
        raise Unauthorized("Invalid or expired token") from None
    if expires <= time.time():  # as PyJWT decides it, with no leeway
        raise Unauthorized("Invalid or expired token")
    return claims


@lru_cache(maxsize=VERIFIED_TOKENS)
def _verified(key: str, token: str) -> tuple[TokenClaims, int]:
    """The claims of a validly signed token and its expiry (raises ``PyJWTError`` otherwise)."""
    claims = jwt.decode(token, key, algorithms=["HS256"], options={"require": ["sub", "exp"]})
    sub, role = claims.get("sub"), claims.get("role")
    if not isinstance(sub, str) or not isinstance(role, str):
        raise jwt.InvalidTokenError("sub and role must be strings")
    return TokenClaims(user_id=sub, role=role), int(claims["exp"])
