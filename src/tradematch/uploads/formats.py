"""The file types we accept, by what their content is (never by name)."""

from __future__ import annotations

# Pillow format name → (content type, file extension).
IMAGE_TYPES: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
PDF_TYPE = ("application/pdf", ".pdf")
CONTENT_TYPES = (*(content_type for content_type, _ in IMAGE_TYPES.values()), PDF_TYPE[0])
