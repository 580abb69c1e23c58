"""Where upload bytes live: a small content-addressed blob store.

A blob's key is the SHA-256 of its bytes (hex), so the same bytes are stored once however often
they are uploaded, a key can never name other content, and ``put`` of a key that exists is a
no-op. Which rows use a blob, and who may read it, is the database's business; the store only
keeps bytes.

``LocalDiskStorage`` keeps them under ``<data dir>/uploads/ab/cd/abcd…``. An S3-compatible
store fits the same protocol: ``put`` is a PutObject of the key (with ``If-None-Match: *`` where
the service supports it), ``open`` a streamed GetObject, ``delete`` a DeleteObject, ``exists`` a
HeadObject; the bucket would be private, every read still going through our access check.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import anyio

CHUNK_BYTES = 64 * 1024
_KEY = re.compile(r"^[0-9a-f]{64}$")


class BlobMissing(Exception):
    """The key names no stored blob."""


class BlobStore(Protocol):
    async def put(self, key: str, content: bytes) -> None:
        """Store ``content`` under ``key`` (its SHA-256); durable when this returns."""

    def open(self, key: str) -> AsyncIterator[bytes]:
        """The blob's bytes in chunks; raises ``BlobMissing`` before the first chunk."""

    async def delete(self, key: str) -> None:
        """Remove the blob; nothing happens if there is none."""

    async def exists(self, key: str) -> bool: ...


class LocalDiskStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError("a blob key is a lowercase hex SHA-256")
        return self.root / key[:2] / key[2:4] / key

    async def put(self, key: str, content: bytes) -> None:
        await anyio.to_thread.run_sync(self._put, self.path(key), content)

    @staticmethod
    def _put(path: Path, content: bytes) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
        try:
            with partial.open("xb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, path)  # atomic: readers see the whole blob or none
        finally:
            partial.unlink(missing_ok=True)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        path = self.path(key)
        try:
            handle = await anyio.open_file(path, "rb")
        except FileNotFoundError:
            raise BlobMissing(key) from None
        async with handle:
            while chunk := await handle.read(CHUNK_BYTES):
                yield chunk

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(self._delete, self.path(key))

    @staticmethod
    def _delete(path: Path) -> None:
        path.unlink(missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await anyio.Path(self.path(key)).exists()
