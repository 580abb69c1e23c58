"""Every SQL statement on uploads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import ARRAY, String, and_, cast, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.scopes import UploadScope
from tradematch.kit.repository import transaction_lock
from tradematch.uploads.models import Upload

Parent = Literal["job", "message", "milestone"]
IMAGE_TYPES_PREFIX = "image/"

_PARENT_COLUMNS = {
    "job": Upload.job_id,
    "message": Upload.message_id,
    "milestone": Upload.milestone_id,
}
_UNATTACHED = and_(
    Upload.job_id.is_(None), Upload.message_id.is_(None), Upload.milestone_id.is_(None)
)


async def add(session: AsyncSession, upload: Upload) -> Upload:
    session.add(upload)
    await session.flush()
    await session.refresh(upload, ["created_at"])  # set by the database
    return upload


async def get(session: AsyncSession, scope: UploadScope, upload_id: str) -> Upload | None:
    result = await session.execute(select(Upload).where(Upload.id == upload_id, scope))
    return result.scalar_one_or_none()


async def attach(
    session: AsyncSession,
    upload_ids: Sequence[str],
    *,
    uploader_id: str,
    parent: Parent,
    parent_id: str,
    images_only: bool,
) -> int:
    """Attach the uploader's own unattached uploads, in the order given; how many were.

    The row conditions are re-checked under the row lock, so of two requests attaching the same
    upload at once only one succeeds (the other finds it attached and counts one short)."""
    ids = cast(list(upload_ids), ARRAY(String))
    conditions = [Upload.id == func.any(ids), Upload.uploader_id == uploader_id, _UNATTACHED]
    if images_only:
        conditions.append(Upload.content_type.startswith(IMAGE_TYPES_PREFIX))
    result = await session.execute(
        update(Upload)
        .where(*conditions)
        .values(
            {
                _PARENT_COLUMNS[parent]: parent_id,
                Upload.position: func.array_position(ids, Upload.id),
                Upload.attached_at: func.now(),
            }
        )
        .returning(Upload.id)
        .execution_options(synchronize_session=False)
    )
    return len(result.all())


async def detach_from_job(session: AsyncSession, job_id: str, *, uploader_id: str) -> None:
    """Free a draft job's photos that ``uploader_id`` uploaded (it is being given a new set)."""
    await session.execute(
        update(Upload)
        .where(Upload.job_id == job_id, Upload.uploader_id == uploader_id)
        .values(job_id=None, position=None, attached_at=None)
        .execution_options(synchronize_session=False)
    )


async def attached_to(
    session: AsyncSession, scope: UploadScope, parent: Parent, parent_ids: Sequence[str]
) -> list[Upload]:
    """The uploads in scope of these objects, in order."""
    if not parent_ids:
        return []
    column = _PARENT_COLUMNS[parent]
    result = await session.execute(
        select(Upload).where(column.in_(list(parent_ids)), scope).order_by(column, Upload.position)
    )
    return list(result.scalars())


async def lock_blob(session: AsyncSession, key: str) -> None:
    """Serialise, until COMMIT, everyone storing or discarding the blob ``key``."""
    await transaction_lock(session, f"upload-blob\n{key}")


async def blob_in_use(session: AsyncSession, key: str) -> bool:
    statement = select(exists().where(or_(Upload.sha256 == key, Upload.thumbnail_sha256 == key)))
    return bool((await session.execute(statement)).scalar_one())
