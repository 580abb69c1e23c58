"""Passwords (argon2id) and access tokens (JWT, HS256)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tradematch.core.errors import Unauthorized

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the email is unknown, so both paths cost the same (no user enumeration).
_DUMMY_HASH = _hasher.hash("not-a-real-password")


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
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"], options={"require": ["sub", "exp"]})
    except jwt.PyJWTError:
        raise Unauthorized("Invalid or expired token") from None
    sub, role = claims.get("sub"), claims.get("role")
    if not isinstance(sub, str) or not isinstance(role, str):
        raise Unauthorized("Invalid or expired token")
    return TokenClaims(user_id=sub, role=role)
