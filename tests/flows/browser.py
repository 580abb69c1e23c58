"""The dashboards in a real browser: Debian's Chromium driven by Playwright for Python, signed-in
tabs that record what they logged, fetched and received over the WebSocket, and everything a
page holds (for the leak checks)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.flows.database import ROOT, Database
from tests.flows.servers import LiveServer
from tests.flows.users import PASSWORD, Api, User

CHROMIUM = Path(os.environ.get("TRADEMATCH_CHROMIUM", "/usr/bin/chromium"))
# No sandbox (CI runs as root); no background traffic to Google's hosts (closed network).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
LIVE_TIMEOUT_MS = 2000  # what one party does shows on the other's open page within 2 s


@dataclass
class Site:
    """The running server, an API client on it (for setting the scene), and its database."""

    server: LiveServer
    db: Database
    api: Api
    admin: User

    @property
    def base_url(self) -> str:
        return self.server.base_url


@dataclass
class Tab:
    """A signed-in browser page, with what it logged and fetched."""

    page: Any
    context: Any
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)  # WebSocket messages received

    def script_errors(self) -> list[str]:
        """Errors a script raised or logged (not a 404 of an API read: that is an answer)."""
        logged = [e for e in self.console_errors if "Failed to load resource" not in e]
        return self.page_errors + logged


# The tabs the running test opened (closed after it by a fixture in tests/web/conftest.py).
OPEN_TABS: list[Tab] = []


async def open_tab(browser: Any, base_url: str, viewport: dict[str, int] = DESKTOP) -> Tab:
    context = await browser.new_context(viewport=viewport, base_url=base_url)
    page = await context.new_page()
    tab = Tab(page, context)
    OPEN_TABS.append(tab)

    def on_console(message: Any) -> None:
        if message.type == "error":
            tab.console_errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda e: tab.page_errors.append(str(e)))

    async def on_dialog(dialog: Any) -> None:
        tab.dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("response", lambda response: tab.responses.append(response))
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda frame: tab.frames.append(str(frame))),
    )
    await page.goto("/")
    return tab


async def sign_in(tab: Tab, user: User, route: str = "") -> Tab:
    page = tab.page
    await page.get_by_label("Email").fill(user.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).last.click()
    await page.get_by_role("button", name="Sign out").wait_for()
    if route:
        await page.evaluate("route => { window.location.hash = route; }", route)
    return tab


async def signed_in(
    browser: Any, site: Site, user: User, route: str = "", viewport: dict[str, int] = DESKTOP
) -> Tab:
    return await sign_in(await open_tab(browser, site.base_url, viewport), user, route)


async def everything_the_browser_holds(tab: Tab) -> str:
    """The page's text, its DOM with every attribute, every API response body and WebSocket
    message it received, and its local and session storage: all a person or a script there
    could read."""
    page = tab.page
    parts = [
        await page.locator("body").inner_text(),
        await page.evaluate("document.documentElement.outerHTML"),
        await page.evaluate("JSON.stringify({...localStorage})"),
        await page.evaluate("JSON.stringify({...sessionStorage})"),
        *tab.frames,
    ]
    for response in tab.responses:
        if "/api/" in response.url:
            try:
                parts.append(await response.text())
            except Exception:  # noqa: S112 (a body the browser did not keep, e.g. a redirect)
                continue
    return "\n".join(parts)


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
