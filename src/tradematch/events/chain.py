"""The tamper-evident per-job hash chain."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, TypedDict, Unpack


class EventFields(TypedDict):
    """What an event's canonical text holds besides its place in the chain."""

    event_id: str
    type: str
    job_id: str | None
    actor_id: str | None
    actor_role: str
    payload: dict[str, Any]
    idempotency_key: str | None
    created_at: datetime


def canonical_content(
    *,
    seq: int,
    chain_index: int,
    prev_hash: str | None,
    **fields: Unpack[EventFields],
) -> bytes:
    """The canonical text of an event: its pieces joined around its chain index, previous hash
    and position, as ``tm_append_events`` joins them in the database."""
    first, *rest = canonical_pieces(**fields)
    holes = {"chain_index": chain_index, "prev_hash": prev_hash, "seq": seq}
    filled = (_dumps(holes[name]) + piece for name, piece in zip(_HOLES, rest, strict=True))
    return (first + "".join(filled)).encode()


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(**content: Any) -> str:
    return hashlib.sha256(canonical_content(**content)).hexdigest()


# The database fills in what only it knows (the chain index, the previous hash, the position):
# the canonical text is handed over in four pieces around them (``tm_append_events`` joins them
# as ``p0 || chain_index || p1 || prev_hash-or-null || p2 || seq || p3`` and hashes the UTF-8).
_HOLES = ("chain_index", "prev_hash", "seq")
_MARK = "\x00hole\x00"


def canonical_pieces(**fields: Unpack[EventFields]) -> list[str]:
    """The canonical text of an event without its chain index, previous hash and position,
    as the four pieces between them (sorted keys put them in that order)."""
    document: dict[str, Any] = {key: value for key, value in fields.items() if key != "event_id"}
    document["id"] = fields["event_id"]
    document["created_at"] = fields["created_at"].isoformat(timespec="microseconds")
    document.update(dict.fromkeys(_HOLES, _MARK))
    # The mark is a NUL character, which JSON escapes and jsonb payloads cannot hold, so its
    # quoted text occurs only where it was put.
    pieces = _dumps(document).split(json.dumps(_MARK))
    if len(pieces) != len(_HOLES) + 1:  # pragma: no cover - a NUL cannot reach a payload
        raise ValueError("an event's content holds the canonical text's placeholder")
    return pieces
