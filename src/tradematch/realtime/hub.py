"""The per-process hub that learns of committed events and fans them out to sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def running_hub(app: FastAPI) -> AsyncIterator[None]:
    yield
