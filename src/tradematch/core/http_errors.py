"""Exception handlers: every error leaves in the one shape ``{"error", "code", ...}``."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tradematch.core.errors import AppError
from tradematch.core.metrics import DATABASE_UNAVAILABLE, RBAC_DENIALS
from tradematch.core.outage import (
    DRIVER_ERRORS,
    DatabaseUnavailable,
    describe,
    is_database_unavailable,
)

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def _count_denial(request: Request, status: int) -> None:
    if status in (401, 403, 404):
        actor = getattr(request.state, "actor", None)
        role = actor.role.value if actor else "anonymous"
        RBAC_DENIALS.labels(status=str(status), role=role).inc()
        # Per actor for admins (denials/service.py); in memory here, written in batches.
        recorder = getattr(request.app.state, "denials", None)
        if recorder is not None:
            recorder.record(actor.user_id if actor else None, role, status)


def error_response(
    request: Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    _count_denial(request, status)
    return JSONResponse(body, status_code=status, headers=headers)


def _jsonable_errors(errors: Any) -> list[dict[str, Any]]:
    out = []
    for error in errors:
        out.append(
            {
                "loc": [str(part) for part in error.get("loc", ())],
                "msg": str(error.get("msg", "")),
                "type": str(error.get("type", "")),
            }
        )
    return out


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method any route serves at ``path`` (a 405's Allow header names them all)."""
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(app.state, "allow_table", None)
    if table is None:
        table = [
            (
                re.compile("^" + re.sub(r"\\{[^/]+\\}", "[^/]+", re.escape(template)) + "$"),
                {m.upper() for m in ops},
            )
            for template, ops in app.openapi()["paths"].items()
        ]
        app.state.allow_table = table
    paths = app.openapi()["paths"]
    if path in paths:  # a literal template (/vendors/me) wins over a parameterised one
        return sorted(m.upper() for m in paths[path])
    methods: set[str] = set()
    for pattern, ops in table:
        if pattern.match(path):
            methods |= ops
    return sorted(methods)


def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After, and one log line: an outage is not a bug, so no traceback."""
    DATABASE_UNAVAILABLE.inc()
    error = exc if isinstance(exc, DatabaseUnavailable) else DatabaseUnavailable()
    cause = exc.__cause__ if isinstance(exc, DatabaseUnavailable) and exc.__cause__ else exc
    log.warning(
        "database unavailable: %s %s answered 503 (%s)",
        request.method,
        request.url.path,
        describe(cause),
    )
    return error_response(request, 503, error.body(), error.headers())


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> JSONResponse:
        return error_response(request, exc.status_code, exc.body(), exc.headers())

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(
            request,
            422,
            {
                "error": "Invalid request",
                "code": "VALIDATION_ERROR",
                "details": _jsonable_errors(exc.errors()),
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ").capitalize()
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 400:  # a body that is not JSON at all is bad input like any other
            return error_response(
                request, 422, {"error": "Malformed request body", "code": "VALIDATION_ERROR"}
            )
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
        return error_response(request, exc.status_code, {"error": message, "code": code}, headers)

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        # Services check their rules first; this is the database refusing a race they lost.
        log.info("integrity error turned into 409", exc_info=exc)
        return error_response(
            request, 409, {"error": "Conflicting change; retry", "code": "CONFLICT"}
        )

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if is_database_unavailable(exc):
            return database_unavailable(request, exc)
        sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
        if sqlstate in ("40001", "40P01", "55P03"):  # serialization failure, deadlock, lock timeout
            return error_response(
                request, 409, {"error": "Concurrent change; retry", "code": "CONFLICT"}
            )
        log.exception("database error", exc_info=exc)
        return error_response(
            request, 500, {"error": "Internal server error", "code": "INTERNAL_ERROR"}
        )

    # A database that is away surfaces as the driver's own errors too (a missing socket file is
    # a FileNotFoundError from inside asyncpg). Handled here rather than by the catch-all below,
    # which Starlette runs outside the middleware: its response has no X-Request-ID, and the
    # server logs the exception a second time.
    async def connection_failure(request: Request, exc: Exception) -> JSONResponse:
        if is_database_unavailable(exc):
            return database_unavailable(request, exc)
        log.exception("unhandled error", exc_info=exc)
        return error_response(
            request, 500, {"error": "Internal server error", "code": "INTERNAL_ERROR"}
        )

    for failure in (DatabaseUnavailable, SQLAlchemyTimeoutError, OSError, *DRIVER_ERRORS):
        app.add_exception_handler(failure, connection_failure)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(
            request, 500, {"error": "Internal server error", "code": "INTERNAL_ERROR"}
        )
