"""Uploads: receive a file, keep a clean copy, attach it to a job, message or milestone, and
serve it to whoever may see what it is attached to."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from functools import partial

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tradematch.accounts import service as accounts
from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role, require
from tradematch.authz.scopes import uploads_readable_by
from tradematch.core.errors import NotFound, ValidationFailed
from tradematch.events.unit_of_work import on_rollback
from tradematch.kit.ids import new_id
from tradematch.kit.text import redact_file_name
from tradematch.uploads import images, repository
from tradematch.uploads.images import Blob, Processed
from tradematch.uploads.links import UploadLinks, Variant
from tradematch.uploads.models import Upload
from tradematch.uploads.multipart import ReceivedFile
from tradematch.uploads.repository import Parent
from tradematch.uploads.schemas import UploadCreated, UploadView
from tradematch.uploads.storage import BlobMissing, BlobStore

log = logging.getLogger(__name__)

NOT_FOUND = "Upload not found"
MAX_FILENAME_STEM = 100
_UNSAFE_IN_NAMES = re.compile(r'[\\/:*?"<>|]+')


class UploadsNotAttachable(
    ValidationFailed,
    code="UPLOAD_NOT_ATTACHABLE",
    message="Each upload id must name a file you uploaded that is not attached to anything yet",
): ...


@dataclass
class Uploads:
    """What the uploads service needs from its process: the blob store, the link signer, the
    limits, a session factory for cleaning up after a failed request, and a cap on concurrent
    image decoding (each can take a few hundred MB for a large photo)."""

    store: BlobStore
    links: UploadLinks
    sessionmaker: async_sessionmaker[AsyncSession]
    max_bytes: int
    max_pixels: int
    decoding: anyio.CapacityLimiter


# ------------------------------------------------------------------------------- receiving


def clean_filename(raw: str | None, extension: str) -> str:
    """The client's file name made harmless: no path, no control or reserved characters, at
    most 100 characters before the extension, and the extension of what the file really is."""
    name = unicodedata.normalize("NFKC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    stem = _UNSAFE_IN_NAMES.sub("_", stem)
    stem = " ".join(stem.split()).strip(" ._")[:MAX_FILENAME_STEM].strip(" ._")
    return (stem or "upload") + extension


async def receive(
    session: AsyncSession, actor: Actor, uploads: Uploads, received: ReceivedFile
) -> UploadCreated:
    """Keep a clean copy of the file for its uploader (422 for anything we do not accept).
    Customers and vendors upload (admins attach nothing)."""
    require(actor, Role.CUSTOMER, Role.VENDOR)
    async with uploads.decoding:
        processed: Processed = await anyio.to_thread.run_sync(
            partial(images.process, received.content, max_pixels=uploads.max_pixels)
        )
    for blob in (processed.file, processed.thumbnail):
        if blob is not None:
            await _store(session, uploads, blob)
    upload = await repository.add(
        session,
        Upload(
            id=new_id("upl"),
            uploader_id=actor.user_id,
            content_type=processed.file.content_type,
            size_bytes=len(processed.file.content),
            sha256=processed.file.sha256,
            width=processed.width,
            height=processed.height,
            filename=clean_filename(received.filename, processed.extension),
            thumbnail_sha256=processed.thumbnail.sha256 if processed.thumbnail else None,
            thumbnail_content_type=(
                processed.thumbnail.content_type if processed.thumbnail else None
            ),
        ),
    )
    shown = view(upload, uploads.links, actor)
    return UploadCreated(
        **shown.model_dump(),
        size=upload.size_bytes,
        sha256=upload.sha256,
        created_at=upload.created_at,
    )


async def _store(session: AsyncSession, uploads: Uploads, blob: Blob) -> None:
    """Put the blob in the store, unless it is there already; if this transaction then rolls
    back, remove it again unless a committed upload uses it.

    The blob's advisory lock is held until COMMIT, and the cleanup takes it too, so a cleanup
    never removes a blob that a concurrent upload of the same bytes has just found and is about
    to commit a row for."""
    await repository.lock_blob(session, blob.sha256)
    if await uploads.store.exists(blob.sha256):
        return
    on_rollback(session, partial(_discard_if_unused, uploads, blob.sha256))
    await uploads.store.put(blob.sha256, blob.content)


async def _discard_if_unused(uploads: Uploads, key: str) -> None:
    # Reads only: the blob's lock is released when the session ends (and rolls back).
    async with uploads.sessionmaker() as session:
        await repository.lock_blob(session, key)
        if not await repository.blob_in_use(session, key):
            await uploads.store.delete(key)


# -------------------------------------------------------------------------------- attaching


async def attach(
    session: AsyncSession,
    actor: Actor,
    upload_ids: Sequence[str],
    *,
    parent: Parent,
    parent_id: str,
    images_only: bool,
) -> None:
    """Attach the actor's own unattached uploads to the parent, in this order, inside the
    parent's transaction. One that is someone else's, already attached, not an image where
    photos are wanted, or does not exist: 422, without saying which (nothing is attached)."""
    if not upload_ids:
        return
    attached = await repository.attach(
        session,
        upload_ids,
        uploader_id=actor.user_id,
        parent=parent,
        parent_id=parent_id,
        images_only=images_only,
    )
    if attached != len(upload_ids):
        raise UploadsNotAttachable()


async def attach_job_photos(
    session: AsyncSession, actor: Actor, job_id: str, upload_ids: Sequence[str], *, replace: bool
) -> None:
    """A draft job's photos; ``replace`` frees the current ones first (they become the
    customer's unattached uploads again: nobody else has seen a draft). Only the actor's own
    uploads are touched; the caller has locked the job in the actor's scope."""
    if replace:
        await repository.detach_from_job(session, job_id, uploader_id=actor.user_id)
    await attach(session, actor, upload_ids, parent="job", parent_id=job_id, images_only=True)


# ---------------------------------------------------------------------------------- viewing


def shown_filename(upload: Upload, viewer: Actor) -> str:
    """The free-text policy for file names (docs/security.md): as written to the uploader and
    admins; anyone else sees contact details in the name redacted, the extension kept (a job's
    photos reach vendors before the customer's contact is unlocked)."""
    if viewer.is_admin or viewer.user_id == upload.uploader_id:
        return upload.filename
    return redact_file_name(upload.filename) or upload.filename


def view(upload: Upload, links: UploadLinks, viewer: Actor) -> UploadView:
    return UploadView(
        upload_id=upload.id,
        content_type=upload.content_type,
        width=upload.width,
        height=upload.height,
        filename=shown_filename(upload, viewer),
        url=links.url(upload.id, "file", viewer.user_id),
        thumbnail_url=(
            links.url(upload.id, "thumbnail", viewer.user_id)
            if upload.thumbnail_sha256 is not None
            else None
        ),
    )


async def views_of(
    session: AsyncSession,
    actor: Actor,
    links: UploadLinks,
    parent: Parent,
    parent_ids: Sequence[str],
) -> dict[str, list[UploadView]]:
    """The uploads of each parent, as ``actor`` sees them. The caller has read the parents
    through their own scope; the uploads are read through the upload scope as well, which
    shows an attached upload exactly where its parent is visible."""
    found: dict[str, list[UploadView]] = {parent_id: [] for parent_id in parent_ids}
    attached = await repository.attached_to(session, uploads_readable_by(actor), parent, parent_ids)
    for upload in attached:
        parent_id = {"job": upload.job_id, "message": upload.message_id}.get(
            parent, upload.milestone_id
        )
        assert parent_id is not None
        found[parent_id].append(view(upload, links, actor))
    return found


# --------------------------------------------------------------------------------- serving


@dataclass(frozen=True)
class Download:
    upload_id: str
    key: str
    content_type: str
    filename: str
    inline: bool


async def signed_viewer(
    session: AsyncSession,
    links: UploadLinks,
    upload_id: str,
    variant: Variant,
    *,
    viewer: str,
    exp: str,
    sig: str,
) -> Actor:
    """The viewer a signed link was made for, if it is genuine, in date and the account still
    active (404 otherwise, like an upload that does not exist)."""
    if not links.verify(upload_id, variant, viewer, exp, sig):
        raise NotFound(NOT_FOUND)
    actor = await accounts.actor_for(session, viewer)
    if actor is None:
        raise NotFound(NOT_FOUND)
    return actor


async def download(
    session: AsyncSession, actor: Actor, upload_id: str, variant: Variant
) -> Download:
    """What to send for the file (or its thumbnail), if the actor may read the upload now."""
    upload = await repository.get(session, uploads_readable_by(actor), upload_id)
    if upload is None:
        raise NotFound(NOT_FOUND)
    if variant == "thumbnail":
        if upload.thumbnail_sha256 is None or upload.thumbnail_content_type is None:
            raise NotFound("This upload has no thumbnail")
        key, content_type = upload.thumbnail_sha256, upload.thumbnail_content_type
    else:
        key, content_type = upload.sha256, upload.content_type
    return Download(
        upload_id=upload.id,
        key=key,
        content_type=content_type,
        filename=shown_filename(upload, actor),
        inline=content_type.startswith("image/"),
    )


async def open_blob(uploads: Uploads, download: Download) -> AsyncIterator[bytes]:
    """The bytes, in chunks; 404 (and an error in the log) if the store lost them."""
    chunks = uploads.store.open(download.key)
    try:
        first = await anext(chunks)
    except (BlobMissing, StopAsyncIteration):
        log.error("upload %s: blob %s is missing from the store", download.upload_id, download.key)
        raise NotFound(NOT_FOUND) from None
    return _prepend(first, chunks)


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk
