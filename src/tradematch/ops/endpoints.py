"""Operational endpoints: liveness, readiness, metrics."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from tradematch.migrations import current_revision, head_revision

router = APIRouter(tags=["ops"])
READY_TIMEOUT_SECONDS = 3.0


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    revision: str = Field(description="The database's migration revision (the code's head).")


class NotReady(BaseModel):
    status: Literal["unavailable"]
    reason: str = Field(
        description='"migrations" when the database is not at the code\'s head revision; '
        "otherwise the kind of failure reaching the database."
    )
    current: str | None = Field(default=None, description="With reason migrations.")
    head: str | None = Field(default=None, description="With reason migrations.")


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> Liveness:
    return Liveness(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: database reachable and migrations at head",
    response_model=Readiness,
    responses={503: {"model": NotReady, "description": "Not ready: take out of rotation"}},
)
async def readyz(request: Request) -> Response:
    engine = request.app.state.engine
    # Read once per process, in a thread: the first read loads Alembic and its scripts.
    head = await asyncio.to_thread(head_revision)
    try:
        # Bounded: a database that does not answer is as unavailable as one that refuses.
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            current = await current_revision(engine)  # a round trip: the database answers
    except Exception as exc:  # readiness reports, it does not raise
        return JSONResponse(
            {"status": "unavailable", "reason": type(exc).__name__}, status_code=503
        )
    if current != head:
        return JSONResponse(
            {"status": "unavailable", "reason": "migrations", "current": current, "head": head},
            status_code=503,
        )
    return JSONResponse(Readiness(status="ready", revision=str(current)).model_dump())


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
