"""The tamper-evident per-job hash chain."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any


def canonical_content(
    *,
    seq: int,
    event_id: str,
    type: str,
    job_id: str | None,
    actor_id: str | None,
    actor_role: str,
    payload: dict[str, Any],
    idempotency_key: str | None,
    created_at: datetime,
    chain_index: int,
    prev_hash: str | None,
) -> bytes:
    document = {
        "seq": seq,
        "id": event_id,
        "type": type,
        "job_id": job_id,
        "actor_id": actor_id,
        "actor_role": actor_role,
        "payload": payload,
        "idempotency_key": idempotency_key,
        "created_at": created_at.isoformat(timespec="microseconds"),
        "chain_index": chain_index,
        "prev_hash": prev_hash,
    }
    return _dumps(document).encode()


def _dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(**content: Any) -> str:
    return hashlib.sha256(canonical_content(**content)).hexdigest()


# The database fills in what only it knows (the chain index, the previous hash, the position):
# the canonical text is handed over in four pieces around them (``tm_append_events`` joins them
# as ``p0 || chain_index || p1 || prev_hash-or-null || p2 || seq || p3`` and hashes the UTF-8).
_HOLES = ("chain_index", "prev_hash", "seq")
_MARK = "\x00hole\x00"


def canonical_pieces(
    *,
    event_id: str,
    type: str,
    job_id: str | None,
    actor_id: str | None,
    actor_role: str,
    payload: dict[str, Any],
    idempotency_key: str | None,
    created_at: datetime,
) -> list[str]:
    """The canonical text of an event without its chain index, previous hash and position,
    as the four pieces between them (sorted keys put them in that order)."""
    document = {
        "seq": _MARK,
        "id": event_id,
        "type": type,
        "job_id": job_id,
        "actor_id": actor_id,
        "actor_role": actor_role,
        "payload": payload,
        "idempotency_key": idempotency_key,
        "created_at": created_at.isoformat(timespec="microseconds"),
        "chain_index": _MARK,
        "prev_hash": _MARK,
    }
    # The mark is a NUL character, which JSON escapes and jsonb payloads cannot hold, so its
    # quoted text occurs only where it was put.
    pieces = _dumps(document).split(json.dumps(_MARK))
    if len(pieces) != len(_HOLES) + 1:  # pragma: no cover - a NUL cannot reach a payload
        raise ValueError("an event's content holds the canonical text's placeholder")
    return pieces
