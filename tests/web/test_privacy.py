"""A tradesperson who has not accepted a lead sees no customer contact anywhere the browser
holds it: page text, DOM attributes, API responses, WebSocket messages, local and session
storage — including contact details the customer typed into the job's text."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import expect

from tests.flows.browser import LIVE_TIMEOUT_MS, Site, everything_the_browser_holds, signed_in
from tests.flows.files import GPS_IFD, jpeg_with_gps
from tests.flows.users import new_area, postcode_in

pytestmark = pytest.mark.browser


DESCRIPTION = (
    "Tap drips all night. Ring me on 07700 900 321 or text +44 7700 900321, "
    "email leaky.tap.owner@example.org, or call round to LS6 4QR (flat 2)."
)


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


async def test_a_vendor_before_accepting_sees_no_customer_contact(browser: Any, site: Site) -> None:
    area = new_area()
    customer = await site.api.customer(
        postcode=postcode_in(area, "9ZZ"), name="Wilhelmina Drippington", phone="07700 900777"
    )
    vendor = await site.api.vendor(postcode=postcode_in(area, "2CC"), radius=5)
    tab = await signed_in(browser, site, vendor)  # open before the job exists: it arrives live
    photo = await site.api.client.post(
        "/api/connection/uploads",
        files={
            "file": (
                "kitchen tap, ring 07700900321.jpg",
                jpeg_with_gps(artist="Wilhelmina"),
                "image/jpeg",
            )
        },
        headers=customer.headers,
    )
    assert photo.status_code == 201, photo.text
    job = await site.api.create_job(
        customer,
        title="Tap drips; call 07700900321",
        description=DESCRIPTION,
        photo_upload_ids=[photo.json()["upload_id"]],
    )
    await site.api.publish(customer, job["job_id"])

    page = tab.page
    lead = page.get_by_role("link", name=re.compile("Tap drips"))
    await expect(lead).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    await lead.click()
    await expect(page.get_by_role("button", name="Accept lead")).to_be_visible()
    await expect(page.get_by_text("Tap drips all night")).to_be_visible()
    image = page.get_by_role("img", name="Job photo 1")
    await expect(image).to_be_visible()
    await image.evaluate("img => img.decode()")  # loaded and decoded: a real picture
    await page.get_by_role("link", name="Notifications").click()
    await expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    await page.go_back()
    await expect(page.get_by_role("button", name="Accept lead")).to_be_visible()

    held = await everything_the_browser_holds(tab)
    assert area in held  # the outcode is shown: the check below reads the right text
    for secret in [
        "Wilhelmina",
        "Drippington",
        customer.email,
        "leaky.tap.owner",
        "example.org",
        "4QR",
        "9ZZ",
    ]:
        assert secret.lower() not in held.lower(), secret
    # The photo as the browser received it: re-encoded, no EXIF, no GPS, no comment or XMP.
    pictures = [
        await response.body()
        for response in tab.responses
        if "/uploads/" in response.url
        and response.ok
        and response.headers.get("content-type", "").startswith("image/")
    ]
    assert pictures
    for body in pictures:
        with Image.open(io.BytesIO(body)) as received:
            exif = received.getexif()
            assert len(exif) == 0 and not exif.get_ifd(GPS_IFD), dict(exif)
            assert "xmp" not in received.info and "comment" not in received.info
        assert b"Wilhelmina" not in body and b"example.com" not in body
    held_digits = digits(held)
    for number in ["7700900777", "7700900321"]:
        assert number not in held_digits, number

    # Accepting unlocks the contact details: the same page now shows them.
    await page.get_by_role("button", name="Accept lead").click()
    await expect(page.get_by_text("Wilhelmina Drippington").first).to_be_visible()
    await expect(page.get_by_text("07700900777")).to_be_visible()
    assert tab.script_errors() == []
