"""Operational endpoints: liveness, readiness, metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tradematch.migrations import current_revision, head_revision

router = APIRouter(tags=["ops"])
READY_TIMEOUT_SECONDS = 3.0


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database reachable and migrations at head")
async def readyz(request: Request) -> JSONResponse:
    engine = request.app.state.engine
    try:
        # Bounded: a database that does not answer is as unavailable as one that refuses.
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            current = await current_revision(engine)  # a round trip: the database answers
    except Exception as exc:  # readiness reports, it does not raise
        return JSONResponse(
            {"status": "unavailable", "reason": type(exc).__name__}, status_code=503
        )
    head = head_revision()
    if current != head:
        return JSONResponse(
            {"status": "unavailable", "reason": "migrations", "current": current, "head": head},
            status_code=503,
        )
    return JSONResponse({"status": "ready", "revision": current})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
