"""Base classes for API schemas (kept apart from table models)."""

from __future__ import annotations

from collections.abc import Iterable
from copy import deepcopy
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
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
        # PostgreSQL cannot store NUL in text; refuse it here as bad input (422), not a 500.
        if _contains_nul(data):
            raise ValueError("text must not contain NUL characters")
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


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_contains_nul(v) for v in value)
    return False


class ErrorBody(BaseModel):
    """Every error: a human message and a machine code, plus details where useful."""

    model_config = ConfigDict(extra="allow")

    error: str
    code: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (401, "Missing or invalid token"),
        (403, "Your role may never do this, or messaging is locked"),
        (404, "Not found, or not yours"),
        (409, "Illegal state transition or conflicting request"),
        (422, "Invalid input; nothing was changed"),
        (429, "Rate limited"),
        (
            503,
            "DATABASE_UNAVAILABLE: the database is away for a moment (restart, failover). "
            "Retry after `Retry-After` seconds with the same Idempotency-Key; "
            '`"outcome": "unknown"` means the connection failed while saving',
        ),
    )
}
