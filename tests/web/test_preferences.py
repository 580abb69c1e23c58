"""The notification preferences screen of both dashboards: a switch per category of email,
showing what the API holds, saved through the API with a word of what happened (or the API's
error), kept across a reload; and a category turned off by an email's one-click unsubscribe
link shows off there and can be turned back on."""

from __future__ import annotations

import asyncio
import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import expect

from tests.flows.apps import eventually
from tests.flows.browser import Site, open_tab, signed_in
from tests.flows.users import User, marketplace
from tradematch.notifications.states import CATEGORIES

pytestmark = pytest.mark.browser


PREFERENCES = "/api/connection/notifications/preferences"


async def email_categories(site: Site, user: User) -> dict[str, bool]:
    response = await site.api.client.get(PREFERENCES, headers=user.headers)
    assert response.status_code == 200, response.text
    return dict(response.json()["email_categories"])


def switches(page: Any) -> Any:
    return page.get_by_role("group", name="Email me about")


def emails_in(outbox: Path, address: str) -> list[EmailMessage]:
    """The emails to ``address`` in the server's outbox folder (each written whole, at once)."""
    found = []
    for path in sorted(outbox.glob("*.eml")) if outbox.is_dir() else []:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        if parseaddr(str(message["To"]))[1] == address:
            found.append(message)
    return found


async def email_to(outbox: Path, address: str) -> EmailMessage:
    """The first email the server's dispatcher wrote to ``address``."""
    found: list[EmailMessage] = []

    async def written() -> bool:
        found[:] = await asyncio.to_thread(emails_in, outbox, address)
        return bool(found)

    await eventually(written, what=f"an email to {address}")
    return found[0]


async def test_a_customer_turns_one_kind_of_email_off_and_on_again(
    browser: Any, site: Site
) -> None:
    customer = await site.api.customer()
    tab = await signed_in(browser, site, customer, "#/notifications")
    page = tab.page
    group = switches(page)
    # Every category the API names, each with its explanation, all on for a new account.
    boxes = group.get_by_role("checkbox")
    await expect(boxes).to_have_count(len(CATEGORIES))
    for index in range(len(CATEGORIES)):
        await expect(boxes.nth(index)).to_be_checked()
    messages = group.get_by_role("checkbox", name="Messages", exact=True)
    await expect(messages).to_have_accessible_description("New messages from tradespeople.")

    # Off with the mouse: saved through the API, said on the screen, nothing else changed.
    await messages.click()
    await expect(page.get_by_text("Saved: emails about messages are now off.")).to_be_visible()
    await expect(messages).not_to_be_checked()
    assert await email_categories(site, customer) == {c: c != "messages" for c in CATEGORIES}

    # Still off after a reload: the screen shows what the API holds.
    await page.reload()
    await expect(group.get_by_role("checkbox")).to_have_count(len(CATEGORIES))
    await expect(messages).not_to_be_checked()
    await expect(group.get_by_role("checkbox", name="Quotes", exact=True)).to_be_checked()

    # On again with the keyboard alone.
    await messages.focus()
    await page.keyboard.press("Space")
    await expect(page.get_by_text("Saved: emails about messages are now on.")).to_be_visible()
    await expect(messages).to_be_checked()
    assert await email_categories(site, customer) == dict.fromkeys(CATEGORIES, True)
    assert tab.script_errors() == []


async def test_a_refused_save_shows_the_apis_error_and_the_setting_it_kept(
    browser: Any, site: Site
) -> None:
    customer = await site.api.customer()
    tab = await signed_in(browser, site, customer, "#/notifications")
    page = tab.page
    quotes = switches(page).get_by_role("checkbox", name="Quotes", exact=True)
    await expect(quotes).to_be_checked()
    refusal = {"error": "Preferences cannot be changed right now", "code": "UNAVAILABLE"}

    async def refuse_writes(route: Any) -> None:
        if route.request.method == "PUT":
            await route.fulfill(
                status=503, content_type="application/json", body=json.dumps(refusal)
            )
        else:
            await route.continue_()

    await page.route(f"**{PREFERENCES}", refuse_writes)
    await quotes.click()
    await expect(page.get_by_role("alert")).to_have_text(refusal["error"])
    await expect(quotes).to_be_checked()  # back to what the API holds
    await expect(page.get_by_text("Saved:")).to_have_count(0)
    assert (await email_categories(site, customer))["quotes"] is True

    # The next try reaches the API and clears the error.
    await page.unroute(f"**{PREFERENCES}")
    await quotes.click()
    await expect(page.get_by_text("Saved: emails about quotes are now off.")).to_be_visible()
    await expect(page.get_by_role("alert")).to_have_count(0)
    assert (await email_categories(site, customer))["quotes"] is False
    assert tab.script_errors() == []


async def test_a_kind_of_email_unsubscribed_by_its_link_shows_off_and_turns_back_on(
    browser: Any, site: Site
) -> None:
    market = await marketplace(site.api, vendors=1)
    [vendor] = market.vendors
    # The new lead's email, as the server's dispatcher wrote it, and its unsubscribe link.
    message = await email_to(site.server.data_dir / "outbox", vendor.email)
    link = urlsplit(str(message["List-Unsubscribe"]).strip("<>"))

    # Whoever holds the email follows the link (no sign-in) and confirms.
    reader = await open_tab(browser, site.base_url)
    await reader.page.goto(f"{link.path}?{link.query}")
    await reader.page.get_by_role("button", name="Unsubscribe").click()
    await expect(reader.page.get_by_role("heading", name="Unsubscribed")).to_be_visible()
    assert await email_categories(site, vendor) == {c: c != "leads" for c in CATEGORIES}

    # The tradesperson's screen shows leads off, everything else on.
    tab = await signed_in(browser, site, vendor, "#/notifications")
    page = tab.page
    leads = switches(page).get_by_role("checkbox", name="Leads", exact=True)
    await expect(leads).not_to_be_checked()
    await expect(leads).to_have_accessible_description(
        "New leads, and leads that expire or are no longer available."
    )
    messages = switches(page).get_by_role("checkbox", name="Messages", exact=True)
    await expect(messages).to_be_checked()

    # Ticked again, the emails are back on, and stay so after a reload.
    await leads.check()
    await expect(page.get_by_text("Saved: emails about leads are now on.")).to_be_visible()
    assert await email_categories(site, vendor) == dict.fromkeys(CATEGORIES, True)
    await page.reload()
    await expect(switches(page).get_by_role("checkbox")).to_have_count(len(CATEGORIES))
    await expect(leads).to_be_checked()
    assert tab.script_errors() == []
