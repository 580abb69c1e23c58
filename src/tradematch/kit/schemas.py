"""Base classes for API schemas (kept apart from table models)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from copy import deepcopy
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    StringConstraints,
    model_validator,
)
from pydantic_core import CoreSchema

IDEMPOTENCY_KEY = "idempotency_key"
_IDEMPOTENCY_KEY_SCHEMA: dict[str, Any] = {
    "anyOf": [{"maxLength": 255, "minLength": 1, "type": "string"}, {"type": "null"}],
    "description": "Alternative to the Idempotency-Key header, as the seed shows.",
    "title": "Idempotency Key",
}


def _document_idempotency_key(schema: dict[str, Any]) -> None:
    schema.setdefault("properties", {})[IDEMPOTENCY_KEY] = deepcopy(_IDEMPOTENCY_KEY_SCHEMA)


class RequestModel(BaseModel):
    """Request bodies: unknown fields are rejected.

    ``idempotency_key`` may ride in the body, as the seed shows: the edge reads it from the raw
    body (``api/idempotency.py``), and here it is checked (1-255 characters) and dropped, so no
    service ever sees it. The API documents it on every request body all the same."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra=_document_idempotency_key
    )

    @model_validator(mode="before")
    @classmethod
    def _at_the_edge(cls, data: Any) -> Any:
        # PostgreSQL cannot store NUL in text, nor UTF-8 encode a lone surrogate (JSON allows
        # "\ud800"); refuse both here as bad input (422), never a 500.
        if _unstorable(data):
            raise ValueError("text must not contain NUL characters or unpaired surrogates")
        if isinstance(data, dict) and IDEMPOTENCY_KEY in data:
            data = dict(data)
            key = data.pop(IDEMPOTENCY_KEY)
            if key is not None and not (isinstance(key, str) and 0 < len(key.strip()) <= 255):
                raise ValueError("idempotency_key must be 1-255 characters")
        return data


class NamedEnum:
    """Marks a ``str`` field as one of ``values``, published as an enum schema of its own (one
    ``components.schemas`` entry named ``name``, shared by every model that uses it, so a
    generated client has one type for it). The values come from the code's own tables (a state
    machine's states), never copied by hand: ``Annotated[str, NamedEnum("JobStatus",
    JOB.states)]``. Python code keeps seeing a ``str`` (a ``StrEnum`` member is one)."""

    def __init__(self, name: str, values: Iterable[str]) -> None:
        self.enum = StrEnum(name, {value.upper(): value for value in values})  # type: ignore[misc]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return handler.generate_schema(self.enum)


class EmptyRequest(RequestModel):
    """A body for actions that take no input (``{}`` or only an ``idempotency_key``)."""


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Timestamp = datetime


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_text(text: str) -> bool:
    """NUL or a lone surrogate: text PostgreSQL cannot store."""
    return _UNSTORABLE.search(text) is not None


def _unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return unstorable_text(value)
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_unstorable(v) for v in value)
    return False


class ErrorBody(BaseModel):
    """Every error: a human message and a machine code, plus details where useful."""

    model_config = ConfigDict(extra="allow")

    error: str
    code: str


class ValidationIssue(BaseModel):
    loc: list[str] = Field(description='Where: ["body", "budget_min"], ["query", "limit"], ...')
    msg: str
    type: str


class ValidationErrorBody(ErrorBody):
    """422 ``VALIDATION_ERROR``: what was wrong with the input; nothing was changed."""

    details: list[ValidationIssue] | None = Field(
        default=None, description="Each invalid field (when the request did not parse)."
    )
    unknown: list[str] | None = Field(default=None, description="Unknown query parameters.")


class StateConflictError(ErrorBody):
    """409: ``INVALID_STATE_TRANSITION`` names the entity, its state and the refused action;
    other conflicts (``CONFLICT``, ``ALREADY_REVIEWED``, ...) carry only the message."""

    entity: str | None = Field(default=None, description="job, lead, quote, escrow, ...")
    current_state: str | None = None
    action: str | None = Field(default=None, description="publish, accept, fund, ...")


class InsufficientFundsError(ErrorBody):
    """402 ``ESCROW_INSUFFICIENT_BALANCE``: nothing changed."""

    required: float = Field(description="Pounds the action needs.")
    available: float = Field(description="Pounds in the wallet.")


class RetryLaterError(ErrorBody):
    """429 ``RATE_LIMITED`` or 503 ``DATABASE_UNAVAILABLE``: try again after ``retry_after``
    seconds (also the ``Retry-After`` header)."""

    retry_after: int = Field(description="Seconds; the same as the Retry-After header.")
    outcome: Literal["unknown"] | None = Field(
        default=None,
        description='503 only: "unknown" when the connection failed while saving (retry with '
        "the same Idempotency-Key: replayed if it was saved, done once if not).",
    )


def header(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """An OpenAPI response header."""
    return {"description": description, "schema": schema or {"type": "string"}}


RETRY_AFTER = {"Retry-After": header("Seconds to wait before retrying.", {"type": "integer"})}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorBody,
        "description": "Missing or invalid token",
        "headers": {"WWW-Authenticate": header('Always "Bearer".')},
    },
    403: {"model": ErrorBody, "description": "Your role may never do this, or messaging is locked"},
    404: {"model": ErrorBody, "description": "Not found, or not yours"},
    409: {
        "model": StateConflictError,
        "description": "Illegal state transition or conflicting request",
    },
    422: {"model": ValidationErrorBody, "description": "Invalid input; nothing was changed"},
    503: {
        "model": RetryLaterError,
        "description": "DATABASE_UNAVAILABLE: the database is away for a moment (restart, "
        "failover). Retry after `Retry-After` seconds with the same Idempotency-Key; "
        '`"outcome": "unknown"` means the connection failed while saving',
        "headers": RETRY_AFTER,
    },
}

RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"model": RetryLaterError, "description": "Rate limited", "headers": RETRY_AFTER}
}
PAYMENT_REQUIRED: dict[int | str, dict[str, Any]] = {
    402: {"model": InsufficientFundsError, "description": "Insufficient funds; nothing changed"}
}
