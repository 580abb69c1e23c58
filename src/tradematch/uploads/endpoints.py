from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response, StreamingResponse

from tradematch.api.deps import SessionDep, optional_actor, require_role
from tradematch.api.idempotency import IdempotentStream, claim_streamed
from tradematch.api.routing import TransactionalRoute
from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role
from tradematch.core.errors import NotFound, Unauthorized
from tradematch.kit.ids import UploadId, UserId
from tradematch.kit.schemas import ErrorBody
from tradematch.uploads import service
from tradematch.uploads.deps import UploadsDep
from tradematch.uploads.links import Variant
from tradematch.uploads.models import CONTENT_TYPES
from tradematch.uploads.multipart import read_single_file
from tradematch.uploads.schemas import UploadCreated

router = APIRouter(tags=["uploads"], route_class=TransactionalRoute)

UploaderDep = Annotated[Actor, Depends(require_role(Role.CUSTOMER, Role.VENDOR))]
OptionalActorDep = Annotated[Actor | None, Depends(optional_actor)]
LinkPart = Annotated[
    str | None, Query(max_length=200, description="Part of a signed link (see `url`).")
]
LinkViewer = Annotated[UserId | None, Query(description="Part of a signed link (see `url`).")]

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "JPEG, PNG, WebP or PDF (decided by the content).",
                        }
                    },
                    "required": ["file"],
                    "additionalProperties": False,
                }
            }
        },
    }
}
_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file's bytes.",
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in CONTENT_TYPES},
    },
    304: {"description": "Not modified (`If-None-Match` matched the `ETag`)."},
}
# Served files are data, never a page of ours: no scripts, no embedding by other sites.
_FILE_HEADERS = {
    "Cache-Control": "private, no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@router.post(
    "/uploads",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadCreated,
    responses={413: {"model": ErrorBody, "description": "The file is over the size limit"}},
    openapi_extra=_UPLOAD_BODY,
    dependencies=[IdempotentStream],
)
async def upload_file(
    request: Request, actor: UploaderDep, session: SessionDep, uploads: UploadsDep
) -> UploadCreated:
    """Upload a photo (JPEG, PNG, WebP) or a PDF as `multipart/form-data`, field `file`.

    The type is decided by the content, never the name. Photos are re-encoded without EXIF, GPS
    or any other metadata (the orientation applied first) and get a thumbnail. Over the size
    limit: 413 `UPLOAD_TOO_LARGE`; anything else we cannot accept: 422 `INVALID_UPLOAD`.
    The upload is yours alone until you attach it by id to a job, message or milestone."""
    received = await read_single_file(request, uploads.max_bytes)
    await claim_streamed(request, received.digest)
    return await service.receive(session, actor, uploads, received)


@dataclass(frozen=True)
class FileRead:
    """A read of an upload's file or thumbnail: by bearer token, or by a signed link."""

    upload_id: str
    request: Request
    session: AsyncSession
    uploads: service.Uploads
    actor: Actor | None
    link: tuple[str | None, str | None, str | None]  # viewer, exp, sig
    if_none_match: str | None

    async def _reader(self, variant: Variant) -> Actor:
        if self.actor is not None:
            return self.actor
        viewer, exp, sig = self.link
        if viewer is None and exp is None and sig is None:
            raise Unauthorized()
        if viewer is None or exp is None or sig is None:
            raise NotFound(service.NOT_FOUND)
        actor = await service.signed_viewer(
            self.session,
            self.uploads.links,
            self.upload_id,
            variant,
            viewer=viewer,
            exp=exp,
            sig=sig,
        )
        self.request.state.actor = actor  # denial counts name the viewer
        return actor

    async def respond(self, variant: Variant) -> Response:
        actor = await self._reader(variant)
        download = await service.download(self.session, actor, self.upload_id, variant)
        etag = f'"{download.key}"'
        headers = {
            **_FILE_HEADERS,
            "ETag": etag,
            "Content-Disposition": _disposition(download.inline, download.filename),
        }
        if etag in _etags(self.if_none_match):
            return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
        chunks = await service.open_blob(self.uploads, download)
        return StreamingResponse(chunks, media_type=download.content_type, headers=headers)


async def file_read(
    upload_id: UploadId,
    request: Request,
    session: SessionDep,
    uploads: UploadsDep,
    actor: OptionalActorDep,
    viewer: LinkViewer = None,
    exp: LinkPart = None,
    sig: LinkPart = None,
    if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> FileRead:
    # A coroutine, not the class itself: FastAPI would build a class in a worker thread.
    return FileRead(upload_id, request, session, uploads, actor, (viewer, exp, sig), if_none_match)


FileReadDep = Annotated[FileRead, Depends(file_read)]


@router.get("/uploads/{upload_id}", response_class=Response, responses=_FILE_RESPONSES)
async def get_upload(read: FileReadDep) -> Response:
    """The file: a photo inline, a PDF as a download. With the bearer token, or through the
    signed `url` an API response gave you (for `<img src>`), for as long as you may see what it
    is attached to."""
    return await read.respond("file")


@router.get("/uploads/{upload_id}/thumbnail", response_class=Response, responses=_FILE_RESPONSES)
async def get_upload_thumbnail(read: FileReadDep) -> Response:
    """A photo's thumbnail (at most 320 px a side; JPEG, or PNG with transparency). PDFs have
    none (404)."""
    return await read.respond("thumbnail")


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


def _disposition(inline: bool, filename: str) -> str:
    """RFC 6266: a plain ASCII ``filename`` for old clients, the exact name in ``filename*``."""
    fallback = (
        unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode().strip()
        or "upload"
    )
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
