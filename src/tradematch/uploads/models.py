from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from tradematch.core.orm import Base, CreatedAt, check_in

# The file types we accept, by what their content is (never by name): Pillow format name →
# (content type, file extension); the table's CHECK allows exactly these.
IMAGE_TYPES: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
PDF_TYPE = ("application/pdf", ".pdf")
CONTENT_TYPES = (*(content_type for content_type, _ in IMAGE_TYPES.values()), PDF_TYPE[0])

ATTACHED = "num_nonnulls(job_id, message_id, milestone_id)"


class Upload(CreatedAt, Base):
    """An uploaded file: its clean bytes are the blob ``sha256`` in the blob store.

    Unattached it belongs to its uploader alone; attached (to exactly one job, message or
    milestone, once) it is readable by whoever may read that object (authz.scopes).
    """

    __tablename__ = "uploads"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    uploader_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None]
    height: Mapped[int | None]
    filename: Mapped[str] = mapped_column(String(255))
    thumbnail_sha256: Mapped[str | None] = mapped_column(String(64))
    thumbnail_content_type: Mapped[str | None] = mapped_column(String(32))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"))
    message_id: Mapped[str | None] = mapped_column(ForeignKey("messages.id"))
    milestone_id: Mapped[str | None] = mapped_column(ForeignKey("milestones.id"))
    position: Mapped[int | None] = mapped_column(SmallInteger)
    attached_at: Mapped[datetime | None]
    __table_args__ = (
        CheckConstraint(check_in("content_type", CONTENT_TYPES), name="content_type"),
        CheckConstraint("size_bytes > 0", name="size"),
        CheckConstraint(f"{ATTACHED} <= 1", name="one_parent"),
        CheckConstraint(
            f"({ATTACHED} = 1) = (attached_at IS NOT NULL AND position IS NOT NULL)",
            name="attachment",
        ),
        CheckConstraint(
            "(content_type = 'application/pdf') = (width IS NULL)"
            " AND (width IS NULL) = (height IS NULL)"
            " AND (width IS NULL) = (thumbnail_sha256 IS NULL)"
            " AND (thumbnail_sha256 IS NULL) = (thumbnail_content_type IS NULL)",
            name="image_facts",
        ),
        Index("ix_uploads_uploader_id_created_at", "uploader_id", "created_at"),
        Index("ix_uploads_sha256", "sha256"),
        Index("ix_uploads_thumbnail_sha256", "thumbnail_sha256"),
        Index("ix_uploads_job_id", "job_id", postgresql_where=text("job_id IS NOT NULL")),
        Index(
            "ix_uploads_message_id", "message_id", postgresql_where=text("message_id IS NOT NULL")
        ),
        Index(
            "ix_uploads_milestone_id",
            "milestone_id",
            postgresql_where=text("milestone_id IS NOT NULL"),
        ),
    )
