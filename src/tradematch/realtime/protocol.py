"""What travels on the live-update socket (``/api/connection/ws``).

Server to client, one JSON object per text frame:

* ``{"type": "ready", "user_id", "role", "heartbeat_seconds"}`` once, when the socket is
  subscribed: every event committed from then on is pushed.
* ``{"type": "event", "seq": 42, "event": {...}}``: an event as this user may see it (the same
  view as ``GET /api/connection/events``), ``seq`` its global sequence number.
* ``{"type": "resumed", "resume_from": 40}`` after the events missed since ``resume_from``
  have been replayed from the log; what follows is live.
* ``{"type": "heartbeat"}`` after ``TRADEMATCH_WS_HEARTBEAT_SECONDS`` without other messages.
* ``{"type": "pong"}`` in answer to ``{"type": "ping"}``.
* ``{"type": "error", "error", "code"}`` for a client message the server cannot use.

Client to server: ``{"resume_from": SEQ}`` (the last ``seq`` it saw), ``{"type": "ping"}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tradematch.authz.actor import Actor
from tradematch.events.schemas import EventBase

# Close codes. 1008 (policy violation): missing, invalid or expired token, or an account that
# was disabled or changed role; reconnect with a valid token. 4000: the client fell too far
# behind; reconnect and send ``resume_from``. 1012/1013: server restarting / not ready; retry.
CLOSE_POLICY_VIOLATION = 1008
CLOSE_SERVICE_RESTART = 1012
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_RESUME = 4000
CLOSE_TOO_MANY_SOCKETS = 4001  # the user opened more sockets than allowed: this, the oldest, goes

HEARTBEAT = '{"type":"heartbeat"}'
PONG = '{"type":"pong"}'


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """An event for one connection, already masked and serialised for that user."""

    seq: int
    text: str
    created_at: float  # Unix time of the event, for the lag histogram


@dataclass(frozen=True, slots=True)
class Resume:
    """Replay what the client missed after ``after``, then continue live."""

    after: int


@dataclass(frozen=True, slots=True)
class Control:
    """Any other message (ready, heartbeat, pong, error): sent as is."""

    text: str


Outgoing = LiveEvent | Resume | Control


def event_message(view: EventBase) -> str:
    return f'{{"type":"event","seq":{view.seq},"event":{view.model_dump_json()}}}'


def ready_message(actor: Actor, heartbeat_seconds: float) -> str:
    return json.dumps(
        {
            "type": "ready",
            "user_id": actor.user_id,
            "role": actor.role.value,
            "heartbeat_seconds": heartbeat_seconds,
        }
    )


def resumed_message(resume_from: int) -> str:
    return json.dumps({"type": "resumed", "resume_from": resume_from})


def error_message(code: str, error: str) -> str:
    return json.dumps({"type": "error", "error": error, "code": code})


class BadMessage(ValueError):
    pass


MAX_SEQ = 2**63 - 1


def parse_sequence(value: Any) -> int:
    """A ``resume_from`` value: an integer sequence number, 0 for "from the beginning"."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
        raise BadMessage("resume_from must be a sequence number (an integer >= 0)")
    return value


def parse_client_message(raw: str) -> Resume | Control:
    """A client's message: a resume request, or a ping (answered with a pong)."""
    try:
        message = json.loads(raw)
    except ValueError:
        raise BadMessage("Messages must be JSON objects") from None
    if not isinstance(message, dict):
        raise BadMessage("Messages must be JSON objects")
    if "resume_from" in message:
        return Resume(parse_sequence(message["resume_from"]))
    if message.get("type") == "ping":
        return Control(PONG)
    raise BadMessage('Expected {"resume_from": SEQ} or {"type": "ping"}')
