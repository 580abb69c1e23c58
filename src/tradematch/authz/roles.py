"""The three roles, and the check a service makes before a role-specific action."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tradematch.core.errors import Forbidden

if TYPE_CHECKING:
    from tradematch.authz.actor import Actor


class Role(StrEnum):
    CUSTOMER = "customer"
    VENDOR = "vendor"
    ADMIN = "admin"


ROLES = tuple(r.value for r in Role)


def require(actor: Actor, *roles: Role) -> None:
    """403 FORBIDDEN unless the actor has one of ``roles``. Services call it first for
    role-specific actions; the endpoint's role dependency answers the same before any work."""
    if actor.role not in roles:
        raise Forbidden()
