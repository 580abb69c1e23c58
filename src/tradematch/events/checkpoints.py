"""Signed checkpoints of the event log's chain heads, kept outside the database.

The hash chains prove that no event was changed or removed *inside* a chain; a database
superuser can still delete a chain's last events, or rewrite an event and recompute every hash
after it, and the chains would verify. A checkpoint anchors them: every period the scheduler
writes a file with the head (chain index, sequence number, hash) of every chain that gained
events since the previous checkpoint, the log's highest sequence number and its number of events
up to it, signed with HMAC-SHA256 under a key that never enters the database
(``TRADEMATCH_CHECKPOINT_SECRET``, or generated once in the data dir). ``verify`` then holds the
log to every checkpoint: a recorded head that is gone (truncation) or whose hash differs (a
rewrite), and a log with fewer or more events up to a recorded sequence number, are reported; so
is a checkpoint whose signature does not match (forged, edited or unsigned).

Files are named ``checkpoint-<max seq, 20 digits>-<UTC time>.json`` and never overwritten (each
is linked into place), so the directory only grows and sorts oldest first; copy it off the
machine (docs/operations.md). What is and is not detected: docs/security.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.events import repository

VERSION = 1
PREFIX = "checkpoint-"


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(document: dict[str, Any], key: bytes) -> str:
    return hmac.new(key, _canonical(document), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    max_seq: int
    events: int
    heads: list[tuple[str | None, int, int, str]]  # job id (None: job-less), index, seq, hash


@dataclass(frozen=True)
class Written:
    path: Path | None  # None: nothing new since the last checkpoint
    max_seq: int
    chains: int


def checkpoint_files(directory: Path) -> list[Path]:
    """Every checkpoint file, oldest first."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob(f"{PREFIX}*.json") if p.is_file())


def read(path: Path, key: bytes) -> Checkpoint:
    """A checkpoint whose signature matches; ``ValueError`` saying why otherwise."""
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"unreadable ({exc.__class__.__name__})") from None
    if not isinstance(document, dict):
        raise ValueError("not a checkpoint")
    signature = document.pop("signature", None)
    if not isinstance(signature, str):
        raise ValueError("unsigned")
    if not hmac.compare_digest(signature, sign(document, key)):
        raise ValueError("signature does not match (forged, altered or signed with another key)")
    try:
        heads = [
            (None if job is None else str(job), int(index), int(seq), str(digest))
            for job, index, seq, digest in document["heads"]
        ]
        return Checkpoint(path, int(document["max_seq"]), int(document["events"]), heads)
    except (KeyError, TypeError, ValueError):
        raise ValueError("signed, but not in the checkpoint format") from None


def _latest_seq(directory: Path, key: bytes) -> int:
    """Where the last good checkpoint ended (0: none, so the next one records every chain)."""
    for path in reversed(checkpoint_files(directory)):
        try:
            return read(path, key).max_seq
        except ValueError:
            continue
    return 0


async def write_checkpoint(session: AsyncSession, directory: Path, key: bytes) -> Written:
    """Record the head of every chain that moved since the last checkpoint in ``directory``."""
    after = await asyncio.to_thread(_latest_seq, directory, key)
    upto, _ = await repository.log_extent(session)
    if upto <= after:
        return Written(None, upto, 0)
    heads = await repository.heads_moved(session, after=after, upto=upto)
    now = datetime.now(UTC)
    document: dict[str, Any] = {
        "version": VERSION,
        "created_at": now.isoformat(timespec="microseconds"),
        "after_seq": after,
        "max_seq": upto,
        "events": await repository.count_upto(session, upto),
        "heads": [[h.job_id, h.chain_index, h.seq, h.hash] for h in heads],
    }
    document["signature"] = sign(document, key)
    name = f"{PREFIX}{upto:020d}-{now.strftime('%Y%m%dT%H%M%S%fZ')}.json"
    path = await asyncio.to_thread(_store, directory, name, document)
    return Written(path, upto, len(heads) if path is not None else 0)


def _store(directory: Path, name: str, document: dict[str, Any]) -> Path | None:
    """Write ``document`` as ``name``, never replacing a file (the directory only grows)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    tmp = directory / f".{name}.{secrets.token_hex(4)}.tmp"
    tmp.write_text(json.dumps(document, indent=1) + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        return None
    finally:
        tmp.unlink()
    return path


@dataclass(frozen=True)
class Finding:
    checkpoint: str  # the file's name
    job_id: str | None
    kind: str  # FORGED, TRUNCATED, REWRITTEN, INSERTED
    detail: str


@dataclass(frozen=True)
class CheckpointReport:
    checkpoints: int
    findings: list[Finding]


async def verify_checkpoints(
    session: AsyncSession, directory: Path, key: bytes
) -> CheckpointReport:
    """Hold the log to every checkpoint in ``directory``."""
    findings: list[Finding] = []
    files = await asyncio.to_thread(checkpoint_files, directory)
    for path in files:
        try:
            checkpoint = await asyncio.to_thread(read, path, key)
        except ValueError as exc:
            findings.append(Finding(path.name, None, "FORGED", f"checkpoint {exc}"))
            continue
        now = await repository.at_positions(
            session, [(job, index) for job, index, _seq, _hash in checkpoint.heads]
        )
        for (job, index, seq, digest), (found_seq, found_hash, last) in zip(
            checkpoint.heads, now, strict=True
        ):
            if found_hash is None:
                have = f"only {last}" if last else "none"
                findings.append(
                    Finding(
                        path.name,
                        job,
                        "TRUNCATED",
                        f"the checkpoint recorded {index} events (last seq {seq}); the log has "
                        f"{have}",
                    )
                )
            elif found_hash != digest or found_seq != seq:
                findings.append(
                    Finding(
                        path.name,
                        job,
                        "REWRITTEN",
                        f"event {index} of the chain (seq {seq}) is not the one the checkpoint "
                        "recorded: its hash differs",
                    )
                )
        events = await repository.count_upto(session, checkpoint.max_seq)
        if events != checkpoint.events:
            kind = "TRUNCATED" if events < checkpoint.events else "INSERTED"
            findings.append(
                Finding(
                    path.name,
                    None,
                    kind,
                    f"the checkpoint recorded {checkpoint.events} events up to seq "
                    f"{checkpoint.max_seq}; the log has {events}",
                )
            )
    return CheckpointReport(len(files), findings)
