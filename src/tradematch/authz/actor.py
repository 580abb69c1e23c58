"""The acting user, as every service method receives it."""

from __future__ import annotations

from dataclasses import dataclass

from tradematch.authz.roles import Role


@dataclass(frozen=True)
class Actor:
    user_id: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_customer(self) -> bool:
        return self.role is Role.CUSTOMER

    @property
    def is_vendor(self) -> bool:
        return self.role is Role.VENDOR


SYSTEM = Actor(user_id="system", role=Role.ADMIN)
"""The platform itself: the scheduler, the commands, and the cascades a user's action sets off on
rows that user may not see (recorded as actor ``system`` in the event log)."""
