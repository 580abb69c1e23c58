"""The uploads runtime of an application: built on first use from its settings and kept on
``app.state`` (tests may put their own there, e.g. a failing store)."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import Depends, Request
from starlette.datastructures import State

from tradematch.core.config import Settings
from tradematch.uploads.links import UploadLinks
from tradematch.uploads.service import Uploads
from tradematch.uploads.storage import LocalDiskStorage

CONCURRENT_DECODES = 2


# The dependencies are coroutines: FastAPI runs a plain function in a worker thread, a thread
# hop on every request that declares it (tests/architecture/test_dependencies.py).
async def uploads_runtime(request: Request) -> Uploads:
    return runtime_of(request.app.state)


def runtime_of(state: State) -> Uploads:
    """The application's uploads runtime (made on first use)."""
    runtime: Uploads | None = getattr(state, "uploads", None)
    if runtime is None:
        settings: Settings = state.settings
        runtime = Uploads(
            store=LocalDiskStorage(settings.data_dir / "uploads"),
            links=UploadLinks(state.signing_key, settings.upload_url_ttl_seconds),
            sessionmaker=state.sessionmaker,
            max_bytes=settings.upload_max_bytes,
            max_pixels=settings.upload_max_pixels,
            decoding=anyio.CapacityLimiter(CONCURRENT_DECODES),
        )
        state.uploads = runtime
    return runtime


async def upload_links(request: Request) -> UploadLinks:
    return runtime_of(request.app.state).links


UploadsDep = Annotated[Uploads, Depends(uploads_runtime)]
UploadLinksDep = Annotated[UploadLinks, Depends(upload_links)]
