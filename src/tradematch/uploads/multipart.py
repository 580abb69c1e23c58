"""Reading one file from a multipart/form-data request without ever holding an oversized body.

The body is counted while it streams in and the request is cut off (413) as soon as it passes
the limit; a declared Content-Length over the limit is refused before reading anything. Within
the limit, Starlette's streaming multipart parser (python-multipart underneath) spools the file
to a temporary file past 1 MB, so even an accepted upload is not duplicated in memory while
parsing.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from tradematch.core.errors import AppError, ValidationFailed

FIELD = "file"
# Room for the multipart framing around the file: boundaries, part headers, a long file name.
FRAMING_BYTES = 16 * 1024


class UploadTooLarge(
    AppError, status=413, code="UPLOAD_TOO_LARGE", message="The file is too large"
): ...


@dataclass(frozen=True)
class ReceivedFile:
    filename: str | None
    content: bytes

    @property
    def digest(self) -> bytes:
        """What identifies the request for idempotency: the file and its name, not the framing."""
        name = (self.filename or "").encode("utf-8", "replace")
        return hashlib.sha256(name + b"\0" + self.content).hexdigest().encode()


def _too_large(max_bytes: int) -> UploadTooLarge:
    return UploadTooLarge(f"The file is larger than {max_bytes:,} bytes", max_bytes=max_bytes)


async def read_single_file(request: Request, max_bytes: int) -> ReceivedFile:
    """The one file sent in the ``file`` field (422 for anything else, 413 past ``max_bytes``)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise ValidationFailed("Send the file as multipart/form-data in the field `file`")
    body_limit = max_bytes + FRAMING_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > body_limit:
        raise _too_large(max_bytes)

    async def limited() -> AsyncGenerator[bytes, None]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > body_limit:
                raise _too_large(max_bytes)
            yield chunk

    parser = MultiPartParser(
        request.headers, limited(), max_files=1, max_fields=0, max_part_size=FRAMING_BYTES
    )
    try:
        form = await parser.parse()
    except MultiPartException:
        raise ValidationFailed(
            "Send exactly one file, in the multipart/form-data field `file`"
        ) from None
    try:
        items = form.multi_items()
        if len(items) != 1 or items[0][0] != FIELD or not isinstance(items[0][1], UploadFile):
            raise ValidationFailed("Send exactly one file, in the multipart/form-data field `file`")
        upload = items[0][1]
        if upload.size is not None and upload.size > max_bytes:
            raise _too_large(max_bytes)
        content = await upload.read(max_bytes + 1)
        if len(content) > max_bytes:
            raise _too_large(max_bytes)
        if not content:
            raise ValidationFailed("The file is empty")
        return ReceivedFile(filename=upload.filename, content=content)
    finally:
        await form.close()
