"""The live-update WebSocket (``/api/connection/ws``)."""

from fastapi import APIRouter

router = APIRouter(tags=["realtime"])
