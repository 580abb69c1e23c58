"""One error shape everywhere: ``{"error": "<human text>", "code": "<MACHINE_CODE>", ...}``."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An error the API answers with ``status_code`` and the body below. A subclass names what
    differs in its class line: ``class NotFound(AppError, status=404, code=..., message=...)``."""

    status_code = 400
    code = "BAD_REQUEST"
    message = "Bad request"

    def __init_subclass__(
        cls, *, status: int | None = None, code: str | None = None, message: str | None = None
    ) -> None:
        super().__init_subclass__()
        cls.status_code = status or cls.status_code
        cls.code = code or cls.code
        cls.message = message or cls.message

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.message
        self.details = details
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, **self.details}

    def headers(self) -> dict[str, str] | None:
        return None


class Unauthorized(AppError, status=401, code="UNAUTHORIZED", message="Authentication required"):
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(AppError, status=403, code="FORBIDDEN", message="Your role may not do this"): ...


class MessagingDisabled(
    AppError,
    status=403,
    code="MESSAGING_DISABLED",
    message="Messaging is not enabled for this conversation",
): ...


class NotFound(AppError, status=404, code="NOT_FOUND", message="Not found"): ...


class Conflict(AppError, status=409, code="CONFLICT", message="Conflict"): ...


class InvalidStateTransition(Conflict, code="INVALID_STATE_TRANSITION"):
    def __init__(self, entity: str, state: str, action: str) -> None:
        super().__init__(
            f"Cannot {action.replace('_', ' ')} a {entity} that is {state.replace('_', ' ')}",
            entity=entity,
            current_state=state,
            action=action,
        )


class NoLongerAvailable(
    Conflict, code="NO_LONGER_AVAILABLE", message="This job is no longer available"
):
    """A vendor who is out of a job (its lead declined, expired or closed: the job was cancelled,
    expired or awarded to another vendor) tries to act on it. Contract §6: it is told only this,
    the same status and body whatever the reason, with no state."""

    def __init__(self) -> None:
        super().__init__()


class PaymentRequired(
    AppError, status=402, code="PAYMENT_REQUIRED", message="Payment required"
): ...


class ValidationFailed(
    AppError, status=422, code="VALIDATION_ERROR", message="Invalid request"
): ...


class RateLimited(
    AppError, status=429, code="RATE_LIMITED", message="Too many attempts; try again later"
):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after=retry_after)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
