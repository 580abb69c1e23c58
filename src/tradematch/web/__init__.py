"""The customer, vendor and admin dashboards, and the API docs pages, served from the package.

Everything is a static file: the dashboards are ES modules the browser loads as written (no
build step), clients of the public API and the live WebSocket only. The Swagger UI and ReDoc
assets are vendored too, so ``/docs`` and ``/redoc`` work on a machine without internet.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
SCRIPTS = HERE / "js"
# The dashboards' pages change with each release: revalidate rather than cache blindly.
NO_CACHE = {"Cache-Control": "no-cache"}
# The service worker's scope is the folder it is served from: the root covers every dashboard.
WORKER_HEADERS = {**NO_CACHE, "Service-Worker-Allowed": "/"}


def mount(app: FastAPI) -> None:
    """Serve the dashboards at ``/`` and the API docs at ``/docs`` and ``/redoc``."""

    def page(name: str, headers: dict[str, str]) -> FileResponse:
        return FileResponse(STATIC / name, media_type="text/html", headers=headers)

    @app.get("/", include_in_schema=False)
    async def dashboards() -> FileResponse:
        return page("index.html", NO_CACHE)

    @app.get("/sw.js", include_in_schema=False)
    async def service_worker() -> FileResponse:
        return FileResponse(SCRIPTS / "sw.js", media_type="text/javascript", headers=WORKER_HEADERS)

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> FileResponse:
        return page("docs.html", NO_CACHE)

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> FileResponse:
        return page("vendor/swagger-ui/oauth2-redirect.html", NO_CACHE)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> FileResponse:
        return page("redoc.html", NO_CACHE)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/js", StaticFiles(directory=SCRIPTS), name="js")
