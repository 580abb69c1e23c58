"""The three roles, and the check a service makes before a role-specific action."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    VENDOR = "vendor"
    ADMIN = "admin"


ROLES = tuple(r.value for r in Role)
