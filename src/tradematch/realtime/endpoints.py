"""The live-update WebSocket (``/api/connection/ws``). Protocol: ``realtime/protocol.py``."""

from fastapi import APIRouter, WebSocket

from tradematch.realtime import sockets

router = APIRouter(tags=["realtime"])


@router.websocket("/ws", name="live_updates")
async def live_updates(websocket: WebSocket) -> None:
    """Every new event the user may see, masked for them, with its sequence number.

    Authenticate with ``Authorization: Bearer <token>`` or ``?token=<token>``. Send
    ``{"resume_from": SEQ}`` (or connect with ``?resume_from=SEQ``) to receive first what was
    missed after ``SEQ``."""
    await sockets.serve(websocket)
