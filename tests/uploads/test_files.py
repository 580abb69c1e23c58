"""What POST /uploads accepts and what it keeps: type by content, size limits, metadata
stripped, broken files and decompression bombs refused, and nothing stored on any failure."""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from PIL import Image

from tests.flows.apps import app_for
from tests.flows.database import Database
from tests.flows.deals import API
from tests.flows.files import (
    encode,
    jpeg_with_gps,
    pdf,
    picture,
    png,
    read_image,
    send_file,
    send_raw_filename,
    uploaded,
    webp,
)
from tests.flows.users import Api, User, new_area, postcode_in
from tradematch.core.config import Settings

SMALL_LIMIT = 50_000


async def get_bytes(api: Api, user: User, url: str) -> httpx.Response:
    response = await api.client.get(url, headers=user.headers)
    assert response.status_code == 200, response.text
    return response


def stored_files(settings: Settings) -> set[Path]:
    root = settings.data_dir / "uploads"
    return {path for path in root.rglob("*") if path.is_file()} if root.exists() else set()


async def upload_rows(db: Database) -> int:
    conn = await db.connect()
    try:
        return int(await conn.fetchval("SELECT count(*) FROM uploads"))
    finally:
        await conn.close()


def assert_invalid(response: httpx.Response, fragment: str = "") -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "INVALID_UPLOAD", body
    assert fragment.lower() in body["error"].lower(), body


# ---------------------------------------------------------------------------- type by content


async def test_a_png_named_jpg_is_a_png(api: Api) -> None:
    customer = await api.customer()
    response = await send_file(api, customer, png(), "kitchen.jpg", "image/jpeg")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["content_type"] == "image/png"
    assert body["filename"] == "kitchen.png"
    assert (body["width"], body["height"]) == (64, 48)
    assert body["upload_id"].startswith("upl_")
    served = await get_bytes(api, customer, body["url"])
    assert served.headers["content-type"] == "image/png"
    assert read_image(served.content).format == "PNG"
    assert hashlib.sha256(served.content).hexdigest() == body["sha256"]
    assert len(served.content) == body["size"]


@pytest.mark.parametrize(
    ("name", "content", "declared"),
    [
        ("notes.png", b"Call me on 07700 900123 about the tap\n" * 20, "image/png"),
        (
            "page.jpg",
            b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>",
            "image/jpeg",
        ),
        (
            "logo.png",
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>',
            "image/svg+xml",
        ),
        ("photo.gif", encode(picture(), "GIF"), "image/gif"),
        ("photo.bmp", encode(picture(), "BMP"), "image/png"),
        ("photo.tiff", encode(picture(), "TIFF"), "image/jpeg"),
    ],
    ids=["text", "html", "svg", "gif", "bmp", "tiff"],
)
async def test_other_types_are_refused_whatever_their_name(
    api: Api, name: str, content: bytes, declared: str
) -> None:
    customer = await api.customer()
    assert_invalid(await send_file(api, customer, content, name, declared), "not a JPEG")


async def test_jpeg_png_and_webp_are_kept_in_their_own_format(api: Api) -> None:
    customer = await api.customer()
    for content, content_type, extension in (
        (jpeg_with_gps(), "image/jpeg", ".jpg"),
        (png(), "image/png", ".png"),
        (webp(), "image/webp", ".webp"),
    ):
        body = await uploaded(api, customer, content, "photo.bin")
        assert body["content_type"] == content_type
        assert body["filename"] == "photo" + extension
        served = await get_bytes(api, customer, body["url"])
        assert served.headers["content-type"] == content_type
        assert served.headers["x-content-type-options"] == "nosniff"
        assert served.headers["content-disposition"].startswith("inline;")
        assert served.headers["cache-control"].startswith("private")
        thumb = await get_bytes(api, customer, body["thumbnail_url"])
        assert read_image(thumb.content).size == (64, 48)


async def test_magic_bytes_alone_are_not_enough(api: Api) -> None:
    customer = await api.customer()
    assert_invalid(await send_file(api, customer, b"\xff\xd8\xff\xe0" + b"\x00" * 400), "damaged")
    assert_invalid(await send_file(api, customer, b"\x89PNG\r\n\x1a\n" + b"junk" * 50), "damaged")
    assert_invalid(await send_file(api, customer, b"RIFF\x10\x00\x00\x00WEBPjunkjunk"), "damaged")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
async def test_truncated_images_are_refused(api: Api, fmt: str) -> None:
    customer = await api.customer()
    noisy = Image.effect_noise((256, 256), 64).convert("RGB")  # compresses badly: long data
    whole = encode(noisy, fmt)
    assert_invalid(await send_file(api, customer, whole[: len(whole) // 2]), "damaged")


async def test_an_empty_file_is_refused(api: Api) -> None:
    customer = await api.customer()
    response = await send_file(api, customer, b"")
    assert response.status_code == 422, response.text


async def test_the_form_must_hold_one_file_named_file(api: Api) -> None:
    customer = await api.customer()
    url = f"{API}/uploads"
    cases: list[dict[str, Any]] = [
        {"files": {"photo": ("a.png", png(), "image/png")}},
        {"files": [("file", ("a.png", png(), "image/png")), ("file", ("b.png", png(), "i/p"))]},
        {"files": {"file": ("a.png", png(), "image/png")}, "data": {"caption": "hello"}},
        {"data": {"file": "not a file"}},
        {"json": {"file": "aGVsbG8="}},
        {"content": png(), "headers": {"Content-Type": "image/png"}},
        {"content": b"--x\r\n", "headers": {"Content-Type": "multipart/form-data"}},
    ]
    for case in cases:
        headers = {**customer.headers, **case.pop("headers", {})}
        response = await api.client.post(url, headers=headers, **case)
        assert response.status_code == 422, (case, response.text)
        assert response.json()["code"] == "VALIDATION_ERROR"


async def test_file_names_are_sanitised(api: Api) -> None:
    customer = await api.customer()
    cases = {
        "../../etc/passwd.png": "passwd.png",
        "C:\\Users\\jane\\Desktop\\tap.jpeg": "tap.png",
        "bad<name>|with:reserved*chars?.png": "bad_name_with_reserved_chars.png",
        "tab\tand\x7fcontrol\u200b.png": "tabandcontrol.png",
        ".hidden": "hidden.png",
        "...": "upload.png",
        "x" * 300 + ".png": "x" * 100 + ".png",
        "\uff26\uff55\uff4c\uff4c.png": "Full.png",  # full-width letters, NFKC-normalised
        "caf\u00e9 photo.PNG": "caf\u00e9 photo.png",
    }
    for raw, expected in cases.items():
        response = await send_raw_filename(api, customer, raw.encode(), png())
        assert response.status_code == 201, (raw, response.text)
        assert response.json()["filename"] == expected, raw
    body = await uploaded(api, customer, png(), "caf\u00e9 photo.png")
    served = await get_bytes(api, customer, body["url"])
    assert served.headers["content-disposition"] == (
        "inline; filename=\"cafe photo.png\"; filename*=UTF-8''caf%C3%A9%20photo.png"
    )


# ----------------------------------------------------------------------- metadata stripping


async def test_exif_gps_xmp_and_comments_never_leave_the_uploader(api: Api) -> None:
    customer = await api.customer()
    original = jpeg_with_gps()
    before = read_image(original)
    assert before.getexif().get_ifd(0x8825), "the test file must carry GPS data"
    assert "xmp" in before.info and "comment" in before.info
    body = await uploaded(api, customer, original)
    for url in (body["url"], body["thumbnail_url"]):
        content = (await get_bytes(api, customer, url)).content
        image = read_image(content)
        assert image.format == "JPEG"
        assert not image.getexif(), dict(image.getexif())
        assert not {"exif", "xmp", "comment", "icc_profile"} & image.info.keys(), image.info
        for trace in (b"Exif", b"Jane", b"jane@example.com", b"07700", b"xmpmeta"):
            assert trace not in content, trace


async def test_orientation_is_applied_before_stripping(api: Api) -> None:
    customer = await api.customer()
    # Stored 64x48 with the red quarter top-left; orientation 6 means "rotate 90° clockwise
    # to display", so upright it is 48x64 with the red quarter top-right.
    body = await uploaded(api, customer, jpeg_with_gps(orientation=6))
    assert (body["width"], body["height"]) == (48, 64)
    image = read_image((await get_bytes(api, customer, body["url"])).content).convert("RGB")
    assert image.size == (48, 64)
    red_at = image.getpixel((40, 8))
    blue_at = image.getpixel((8, 8))
    assert isinstance(red_at, tuple) and isinstance(blue_at, tuple)
    assert red_at[0] > 200 and red_at[2] < 60, red_at
    assert blue_at[2] > 200 and blue_at[0] < 60, blue_at


async def test_png_text_chunks_and_icc_profiles_are_dropped(api: Api) -> None:
    from PIL import ImageCms, PngImagePlugin

    customer = await api.customer()
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Customer, 07700 900123")
    info.add_itxt("Description", "12 Acacia Avenue, SW1A 1AA")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = encode(picture(), "PNG", pnginfo=info, icc_profile=icc)
    assert "Author" in read_image(original).info
    body = await uploaded(api, customer, original, "tap.png")
    content = (await get_bytes(api, customer, body["url"])).content
    image = read_image(content)
    assert not {"Author", "Description", "icc_profile", "exif"} & image.info.keys(), image.info
    assert b"Acacia" not in content and b"Jane" not in content


async def test_transparency_survives_and_thumbnails_are_small(api: Api) -> None:
    customer = await api.customer()
    clear = Image.new("RGBA", (1000, 800), (0, 0, 0, 0))
    body = await uploaded(api, customer, encode(clear, "PNG"), "logo.png")
    thumb = read_image((await get_bytes(api, customer, body["thumbnail_url"])).content)
    assert thumb.format == "PNG" and thumb.size == (320, 256)
    assert thumb.mode == "RGBA" and thumb.getpixel((10, 10)) == (0, 0, 0, 0)
    big = await uploaded(api, customer, encode(picture((1000, 800)), "JPEG"))
    thumb = read_image((await get_bytes(api, customer, big["thumbnail_url"])).content)
    assert thumb.format == "JPEG" and thumb.size == (320, 256)


# ------------------------------------------------------------------------------------- PDFs


async def test_a_pdf_is_accepted_and_served_as_a_download(api: Api) -> None:
    vendor = await api.vendor(postcode=postcode_in(new_area()), radius=1)
    document = pdf()
    body = await uploaded(api, vendor, document, "quote breakdown.txt")
    assert body["content_type"] == "application/pdf"
    assert body["filename"] == "quote breakdown.pdf"
    assert body["width"] is None and body["height"] is None and body["thumbnail_url"] is None
    served = await get_bytes(api, vendor, body["url"])
    assert served.content == document  # checked, never rewritten
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["x-content-type-options"] == "nosniff"
    thumbnail = await api.client.get(
        f"{API}/uploads/{body['upload_id']}/thumbnail", headers=vendor.headers
    )
    assert thumbnail.status_code == 404


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.7\n<html><script>alert(1)</script></html>\n",
        pdf()[:-40],
        b"%PDF",
        b"<html>%PDF-1.4 ... %%EOF</html>",
    ],
    ids=["no-trailer", "truncated", "header-only", "not-at-start"],
)
async def test_garbage_pdfs_are_refused(api: Api, content: bytes) -> None:
    customer = await api.customer()
    assert_invalid(await send_file(api, customer, content, "quote.pdf", "application/pdf"))


# ---------------------------------------------------------------------- decompression bombs


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


async def test_decompression_bombs_are_refused(api: Api, settings: Settings) -> None:
    customer = await api.customer()
    # 8,000 x 8,000 real pixels: a few KB on the wire, 64 million pixels decoded. Above our
    # cap (40 M) but below Pillow's own warning threshold: our cap alone refuses it.
    bomb = encode(Image.new("1", (8000, 8000)), "PNG")
    assert len(bomb) < 100_000
    assert settings.upload_max_pixels < 8000 * 8000 < 89_478_485
    assert_invalid(await send_file(api, customer, bomb, "tap.png"), "too many pixels")
    # A header claiming 10 billion pixels (Pillow itself would raise its bomb error).
    assert_invalid(await send_file(api, customer, png_claiming(100_000, 100_000)), "pixels")
    # A lying header with a plausible size is a broken image.
    assert_invalid(await send_file(api, customer, png_claiming(4000, 3000)), "damaged")


# ------------------------------------------------------------------------------ size limits


async def test_the_default_limit_is_ten_megabytes(api: Api) -> None:
    customer = await api.customer()
    limit = 10 * 1024 * 1024
    response = await send_file(api, customer, b"\xff\xd8\xff" + b"\x00" * (limit - 2))
    assert response.status_code == 413, response.text[:300]
    body = response.json()
    assert body["code"] == "UPLOAD_TOO_LARGE" and body["max_bytes"] == limit
    # Exactly at the limit the size is fine (this one fails only as an image).
    assert_invalid(await send_file(api, customer, b"\xff\xd8\xff" + b"\x00" * (limit - 3)))


@pytest_asyncio.fixture(scope="module")
async def small_limit_api(settings: Settings, worker_db: Database) -> AsyncIterator[Api]:
    limited = settings.model_copy(update={"upload_max_bytes": SMALL_LIMIT})
    async with app_for(worker_db, limited) as (_, api):
        yield api


async def test_the_limit_is_configurable(small_limit_api: Api) -> None:
    api = small_limit_api
    customer = await api.customer()
    fits = encode(picture((100, 100)), "PNG")
    assert len(fits) < SMALL_LIMIT
    assert (await send_file(api, customer, fits, "small.png")).status_code == 201
    noisy = encode(Image.effect_noise((300, 300), 80).convert("RGB"), "PNG")
    assert len(noisy) > SMALL_LIMIT
    response = await send_file(api, customer, noisy, "big.png")
    assert response.status_code == 413, response.text
    assert response.json()["max_bytes"] == SMALL_LIMIT


async def test_an_oversized_stream_is_cut_off_not_read_whole(small_limit_api: Api) -> None:
    """The body arrives in chunks with no Content-Length; the server stops reading soon after
    the limit instead of taking in all of it."""
    api = small_limit_api
    customer = await api.customer()
    boundary = "tradematch-test-boundary"
    chunk = b"\x00" * 16_384
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="huge.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode() + b"\xff\xd8\xff"
        for _ in range(640):  # 10 MB if read to the end
            pulled += 1
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await api.client.post(
        f"{API}/uploads",
        content=body(),
        headers={**customer.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413, response.text
    assert pulled <= (SMALL_LIMIT * 2) // len(chunk) + 2, pulled


async def test_a_declared_oversized_body_is_refused_before_reading(small_limit_api: Api) -> None:
    api = small_limit_api
    customer = await api.customer()
    response = await api.client.post(
        f"{API}/uploads",
        content=b"x" * (SMALL_LIMIT + 20_000),
        headers={**customer.headers, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 413, response.text


# -------------------------------------------------------------- nothing stored on failure


async def test_refused_files_store_nothing(
    api: Api, settings: Settings, worker_db: Database
) -> None:
    customer = await api.customer()
    rows, files = await upload_rows(worker_db), stored_files(settings)
    for content in (b"plain text", png_claiming(100_000, 100_000), pdf()[:-40], png()[:60]):
        assert (await send_file(api, customer, content)).status_code == 422
    assert (
        await send_file(api, customer, b"\xff\xd8\xff" + b"\x00" * (11 << 20))
    ).status_code == 413
    assert await upload_rows(worker_db) == rows
    assert stored_files(settings) == files


@pytest.mark.tracebacks  # provoked on purpose
async def test_a_failure_after_the_file_was_written_removes_it(
    api: Api, settings: Settings, worker_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tradematch.uploads import repository

    customer = await api.customer()
    kept = await uploaded(api, customer, encode(picture((70, 70)), "PNG"), "kept.png")
    rows, files = await upload_rows(worker_db), stored_files(settings)
    original_add = repository.add

    async def add_then_fail(*args: Any, **kwargs: Any) -> Any:
        await original_add(*args, **kwargs)
        raise ConnectionResetError("the database went away")

    monkeypatch.setattr(repository, "add", add_then_fail)
    fresh = encode(picture((71, 71)), "PNG")
    assert (await send_file(api, customer, fresh, "fresh.png")).status_code == 500
    # The same bytes as an upload that committed earlier: its file must stay.
    same = encode(picture((70, 70)), "PNG")
    assert (await send_file(api, customer, same, "again.png")).status_code == 500
    monkeypatch.undo()
    assert await upload_rows(worker_db) == rows
    assert stored_files(settings) == files
    served = await get_bytes(api, customer, kept["url"])
    assert hashlib.sha256(served.content).hexdigest() == kept["sha256"]


# ------------------------------------------------------------------------------ idempotency


async def test_uploads_take_an_idempotency_key(api: Api, worker_db: Database) -> None:
    customer = await api.customer()
    key = {"Idempotency-Key": "upload-tap-photo-1"}
    content = encode(picture((90, 60)), "JPEG")
    first = await send_file(api, customer, content, "tap.jpg", headers=key)
    assert first.status_code == 201, first.text
    rows = await upload_rows(worker_db)
    again = await send_file(api, customer, content, "tap.jpg", headers=key)
    assert again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert await upload_rows(worker_db) == rows
    other = await send_file(api, customer, png(), "tap.jpg", headers=key)
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    renamed = await send_file(api, customer, content, "other-name.jpg", headers=key)
    assert renamed.status_code == 422 and renamed.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    # A refused file stores no key: the same key may be used again for a good file.
    retry = {"Idempotency-Key": "upload-tap-photo-2"}
    assert (await send_file(api, customer, b"oops", headers=retry)).status_code == 422
    assert (await send_file(api, customer, content, headers=retry)).status_code == 201


async def test_admins_do_not_upload(api: Api, worker_db: Database) -> None:
    from tests.flows.users import create_admin

    admin = await create_admin(api, worker_db.async_url)
    response = await send_file(api, admin, png())
    assert response.status_code == 403
    assert (await send_file(api, None, png())).status_code == 401
