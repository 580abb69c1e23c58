"""The dispatcher and scheduler loops (``tradematch worker``, and inside ``serve``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def running_worker(app: FastAPI) -> AsyncIterator[None]:
    yield
