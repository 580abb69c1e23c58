"""Files for the upload tests (photos as a phone makes them, with GPS and an owner in their
EXIF; PNG, WebP, PDF), made with Pillow, the calls that send them, and reading an image back."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image, ImageDraw

from tests.flows.deals import API
from tests.flows.users import Api, User

# EXIF tags: GPS IFD pointer, and in it latitude/longitude; camera owner and artist in IFD0.
GPS_IFD = 0x8825
ARTIST = 0x013B
ORIENTATION = 0x0112
GPS_LATITUDE_REF, GPS_LATITUDE, GPS_LONGITUDE_REF, GPS_LONGITUDE = 1, 2, 3, 4


def picture(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> Image.Image:
    """A small picture whose top-left quarter is red and the rest blue: orientation shows."""
    image = Image.new(mode, size, "blue")
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 2 - 1, size[1] // 2 - 1), fill="red")
    return image


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def jpeg_with_gps(
    *,
    artist: str = "Jane Customer 07700 900123",
    orientation: int = 1,
    size: tuple[int, int] = (64, 48),
) -> bytes:
    """A JPEG as a phone makes it: GPS position, artist, orientation, XMP and a comment."""
    exif = Image.Exif()
    exif[ARTIST] = artist
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update(
        {
            GPS_LATITUDE_REF: "N",
            GPS_LATITUDE: (51.0, 30.0, 12.5),
            GPS_LONGITUDE_REF: "W",
            GPS_LONGITUDE: (0.0, 7.0, 39.2),
        }
    )
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        b'22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
        b"<dc:creator>Jane Customer</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    return encode(picture(size), "JPEG", exif=exif.tobytes(), xmp=xmp, comment=b"jane@example.com")


def png() -> bytes:
    return encode(picture(), "PNG")


def webp() -> bytes:
    return encode(picture(), "WEBP")


def pdf() -> bytes:
    """A minimal well-formed one-page PDF."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


async def send_file(
    api: Api,
    user: User | None,
    content: bytes,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
    *,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await api.client.post(
        f"{API}/uploads",
        files={"file": (filename, content, content_type)},
        headers={**(user.headers if user else {}), **(headers or {})},
    )


async def send_raw_filename(
    api: Api, user: User, filename: bytes, content: bytes
) -> httpx.Response:
    """A multipart body built by hand, so the file name's bytes reach the server unchanged."""
    boundary = b"raw-boundary-7f3a"
    body = (
        b"--"
        + boundary
        + b'\r\nContent-Disposition: form-data; name="file"; filename="'
        + filename
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + content
        + b"\r\n--"
        + boundary
        + b"--\r\n"
    )
    return await api.client.post(
        f"{API}/uploads",
        content=body,
        headers={
            **user.headers,
            "Content-Type": f"multipart/form-data; boundary={boundary.decode()}",
        },
    )


async def uploaded(
    api: Api, user: User, content: bytes | None = None, filename: str = "photo.jpg"
) -> dict[str, Any]:
    """Upload a file that must be accepted (a phone's photo unless ``content`` is given)."""
    return await api.upload(user, jpeg_with_gps() if content is None else content, filename)


def read_image(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image
