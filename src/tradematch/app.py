"""The FastAPI application: routers, error handlers, middleware, and the database lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from tradematch import __version__, web
from tradematch.api import idempotency
from tradematch.api.routing import TransactionalRoute
from tradematch.core import http_errors
from tradematch.core.config import Settings, get_settings
from tradematch.core.database import create_engine, resolve_database_url
from tradematch.core.logging import install_redaction
from tradematch.core.middleware import (
    BodySizeLimitMiddleware,
    RequestContextMiddleware,
)
from tradematch.kit.schemas import ERROR_RESPONSES
from tradematch.sessions import create_sessionmaker
from tradematch.uploads.multipart import FRAMING_BYTES as UPLOAD_FRAMING_BYTES

# Above the upload limit and its framing, so an upload route answers UPLOAD_TOO_LARGE itself.
MULTIPART_SLACK = 64 * 1024


def api_routers() -> list[tuple[str, APIRouter]]:
    from tradematch.accounts.endpoints import router as accounts
    from tradematch.admin.endpoints import router as admin
    from tradematch.disputes.endpoints import router as disputes
    from tradematch.escrow.endpoints import router as escrow
    from tradematch.events.endpoints import router as events
    from tradematch.jobs.endpoints import router as jobs
    from tradematch.leads.endpoints import router as leads
    from tradematch.messaging.endpoints import router as messaging
    from tradematch.milestones.endpoints import router as milestones
    from tradematch.notifications.endpoints import router as notifications
    from tradematch.ops.endpoints import router as ops
    from tradematch.quotes.endpoints import router as quotes
    from tradematch.realtime.endpoints import router as realtime
    from tradematch.reviews.endpoints import router as reviews
    from tradematch.uploads.endpoints import router as uploads
    from tradematch.vendors.endpoints import router as vendors

    # A request is matched against the routers in this order, route by route, at a few
    # microseconds a route: the busiest come first (a message sent is matched about ten times
    # faster first than ninth). No request is served by routes of two routers
    # (tests/architecture/test_routes.py), so the order decides nothing else; the API
    # documentation keeps its own order (API_TAGS).
    return [
        ("/api/connection", messaging),
        ("/api/connection", leads),
        ("/api/connection", jobs),
        ("/api/connection", quotes),
        ("/api/connection", notifications),
        ("/api/connection", events),
        ("/api/connection", milestones),
        ("/api/connection", escrow),
        ("/api/connection", uploads),
        ("/api/connection", reviews),
        ("/api/connection", disputes),
        ("/api/connection", vendors),
        ("/api/connection", realtime),
        ("/api/auth", accounts),
        ("/api/admin", admin),
        ("", ops),
    ]


# The sections of the API documentation, in reading order (the seed flow, then the rest).
API_TAGS = [
    {"name": name}
    for name in (
        "accounts",
        "jobs",
        "leads",
        "quotes",
        "escrow",
        "milestones",
        "disputes",
        "reviews",
        "messaging",
        "vendors",
        "events",
        "notifications",
        "uploads",
        "admin",
        "ops",
    )
]


def operation_id(route: APIRoute) -> str:
    return route.name


def create_app(
    settings: Settings | None = None,
    database_url: str | None = None,
    *,
    run_worker: bool = False,
) -> FastAPI:
    """The application. ``run_worker`` also runs the dispatcher and scheduler in this process
    (``tradematch serve`` does unless ``--no-worker``); the live-update hub always runs."""
    settings = settings or get_settings()
    install_redaction()  # URLs reach uvicorn's log with their query strings (tokens, signatures)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from tradematch.denials import service as denials
        from tradematch.realtime.hub import running_hub
        from tradematch.worker.runner import running_worker

        url = database_url or await resolve_database_url(settings)
        engine = create_engine(url, pool_size=settings.db_pool_size, max_overflow=0)
        app.state.database_url = url
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        # Reading requests: each statement on its own (no BEGIN/COMMIT round trips).
        app.state.read_sessionmaker = create_sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        try:
            async with AsyncExitStack() as background:
                app.state.denials = await background.enter_async_context(
                    denials.recording(app.state.sessionmaker, settings.denial_flush_seconds)
                )
                await background.enter_async_context(running_hub(app))
                if run_worker:
                    await background.enter_async_context(running_worker(app))
                yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="TradeMatch Connection Layer",
        version=__version__,
        description=(
            "The API between the customer's and the vendor's dashboards: jobs, leads, quotes, "
            "messaging, escrow, reviews and the event log. Amounts are pounds, exact to the penny."
        ),
        lifespan=lifespan,
        # operationId = the endpoint's function name (unique across the app): generated clients
        # get ``publish_job`` rather than ``publish_job_api_connection_jobs_job_id_publish_patch``.
        generate_unique_id_function=operation_id,
        openapi_tags=API_TAGS,
        docs_url=None,  # served by the web package from vendored assets (works offline)
        redoc_url=None,
        # No 307 to the path with or without a trailing slash: no route or page has one, and the
        # redirect would turn a hostile id ending in an encoded slash (``..%2F``) into a
        # redirect to its dot segment rather than a 404 (docs/security.md).
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.signing_key = settings.signing_key()
    app.router.route_class = TransactionalRoute
    routers = api_routers()
    for prefix, router in routers:
        if router.route_class is TransactionalRoute:
            app.include_router(router, prefix=prefix, responses=ERROR_RESPONSES)
        else:
            app.include_router(router, prefix=prefix)
    web.mount(app)
    http_errors.install(app)
    idempotency.install(app, routers)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        # The upload routes cut their bodies off at their own, tighter limit first.
        multipart_max_bytes=settings.upload_max_bytes + UPLOAD_FRAMING_BYTES + MULTIPART_SLACK,
    )
    app.add_middleware(RequestContextMiddleware)
    return app
