"""What an uploaded file really is, and the clean copy we keep of it.

The type comes from the content alone, never from the name or the client's Content-Type: the
magic bytes pick the one decoder Pillow may use (``Image.open(formats=[...])``), Pillow parses
the header, ``verify()`` checks the structure and ``load()`` decodes the pixels. Anything that is
not a JPEG, PNG, WebP or PDF, or that fails any of those steps, is refused.

Images are re-encoded from their pixels: the EXIF orientation is applied first (so the photo
stays upright), then nothing but the pixels is written back — no EXIF (GPS, camera, owner), no
XMP, no comments, no PNG text chunks, no ICC profile (colours are converted to sRGB first). An
animated image keeps its first frame. Pixel counts are capped before any decoding, below
Pillow's own decompression-bomb threshold, so a small file that would inflate to gigabytes is
refused from its header.

PDFs are checked, not rendered: a ``%PDF-`` header and a ``%%EOF`` trailer. They are served as
downloads only (see endpoints), so a hostile PDF never runs in our origin.

Everything here is synchronous and CPU-bound; the service runs it in a worker thread.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageCms, ImageOps

from tradematch.core.errors import ValidationFailed
from tradematch.uploads.models import IMAGE_TYPES, PDF_TYPE

THUMBNAIL_PX = 320
JPEG_QUALITY = 85
THUMBNAIL_QUALITY = 80
PDF_TRAILER_WINDOW = 1024

# Pillow warns about possible decompression bombs above this many pixels and refuses twice as
# many; our own cap must stay below it so that the warning can never be the only guard.
PILLOW_BOMB_PIXELS = 89_478_485


class InvalidUpload(
    ValidationFailed, code="INVALID_UPLOAD", message="The file is not an image or PDF we accept"
): ...


@dataclass(frozen=True)
class Blob:
    content: bytes
    content_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Processed:
    """The file as we keep it: the clean content, its thumbnail (images only) and its facts."""

    file: Blob
    extension: str
    width: int | None
    height: int | None
    thumbnail: Blob | None


def sniff(data: bytes) -> str | None:
    """The format the magic bytes announce: a Pillow format name, ``"PDF"`` or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data.startswith(b"%PDF-"):
        return "PDF"
    return None


def process(data: bytes, *, max_pixels: int) -> Processed:
    """Identify ``data`` by its content and return the copy to keep (422 ``INVALID_UPLOAD``)."""
    kind = sniff(data)
    if kind is None:
        raise InvalidUpload("The file is not a JPEG, PNG, WebP or PDF")
    if kind == "PDF":
        return _checked_pdf(data)
    return _reencoded_image(data, kind, max_pixels)


def _checked_pdf(data: bytes) -> Processed:
    if b"%%EOF" not in data[-PDF_TRAILER_WINDOW:]:
        raise InvalidUpload("The PDF is incomplete (no %%EOF trailer)")
    return Processed(
        file=Blob(data, PDF_TYPE[0]), extension=PDF_TYPE[1], width=None, height=None, thumbnail=None
    )


def _reencoded_image(data: bytes, kind: str, max_pixels: int) -> Processed:
    try:
        with Image.open(io.BytesIO(data), formats=[kind]) as probe:
            width, height = probe.size
            if probe.format != kind or width < 1 or height < 1:
                raise InvalidUpload("The image cannot be read")
            if width * height > max_pixels:
                raise InvalidUpload(
                    f"The image has too many pixels ({width}x{height}); at most "
                    f"{max_pixels:,} are accepted",
                    max_pixels=max_pixels,
                )
            probe.verify()
        # verify() leaves the image unusable: decode from a fresh parse.
        with Image.open(io.BytesIO(data), formats=[kind]) as source:
            source.load()
            image = _pixels_only(source)
        content = _encode(image, kind, quality=JPEG_QUALITY)
        thumbnail = _thumbnail(image)
    except InvalidUpload:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidUpload("The image has too many pixels", max_pixels=max_pixels) from None
    except Exception:  # Pillow signals a broken file with many exception types
        raise InvalidUpload("The image is damaged or truncated") from None
    content_type, extension = IMAGE_TYPES[kind]
    return Processed(
        file=Blob(content, content_type),
        extension=extension,
        width=image.width,
        height=image.height,
        thumbnail=thumbnail,
    )


def _pixels_only(source: Image.Image) -> Image.Image:
    """Upright, in a plain mode, sRGB, and carrying no metadata at all."""
    icc_profile = source.info.get("icc_profile")
    has_alpha = source.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        source.mode == "P" and "transparency" in source.info
    )
    try:
        image = ImageOps.exif_transpose(source) or source
    except Exception:  # malformed EXIF is common in the wild: keep the pixels as stored
        image = source.copy()
    mode = "RGBA" if has_alpha else ("L" if image.mode in ("1", "L") else "RGB")
    if image.mode != mode:
        image = image.convert(mode)
    if icc_profile and mode in ("RGB", "RGBA"):
        image = _to_srgb(image, icc_profile)
    image.info = {}  # savers fall back to info for ICC profiles, comments and transparency
    return image


def _to_srgb(image: Image.Image, icc_profile: bytes) -> Image.Image:
    try:
        converted = ImageCms.profileToProfile(
            image,
            ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)),
            ImageCms.createProfile("sRGB"),
            outputMode=image.mode,
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # an unusable profile: keep the pixels as they are, unconverted
    return converted if converted is not None else image


def _encode(image: Image.Image, kind: str, *, quality: int) -> bytes:
    options: dict[str, Any] = {}
    if kind == "JPEG":
        options = {"quality": quality, "optimize": True}
    elif kind == "WEBP":
        options = {"quality": quality, "method": 4}
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **options)
    return buffer.getvalue()


def _thumbnail(image: Image.Image) -> Blob:
    """At most THUMBNAIL_PX on the longer side: JPEG, or PNG where there is transparency."""
    small = image.copy()
    small.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
    small.info = {}
    kind = "PNG" if small.mode == "RGBA" else "JPEG"
    return Blob(_encode(small, kind, quality=THUMBNAIL_QUALITY), IMAGE_TYPES[kind][0])
