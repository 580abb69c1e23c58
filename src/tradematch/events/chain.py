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
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(**content: Any) -> str:
    return hashlib.sha256(canonical_content(**content)).hexdigest()
