"""Browser tests of the dashboards: Playwright for Python driving Debian's Chromium against a
real ``tradematch serve`` process on a database of the module's own.

They carry the ``browser`` marker: CI runs them once, in a step of their own, on one database
(``pytest -m browser``); the other steps run ``pytest -m "not browser"``. Without a Chromium
they are skipped, except in CI (``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.conftest import (
    ROOT,
    Database,
    LiveServer,
    clone_database,
    drop_database,
    start_server,
    stop_server,
)
from tests.helpers import PASSWORD, Api, User, create_admin

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


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (once per session, before any I/O)
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.async_api import async_playwright

    playwright = await async_playwright().start()
    chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    await chromium.close()
    await playwright.stop()


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


@pytest_asyncio.fixture(scope="module")
async def site(
    server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    name = f"tm_web_{uuid.uuid4().hex[:16]}"
    await clone_database(server_url, template_db, name)
    db = Database(server_url, name)
    server = start_server(db, tmp_path_factory.mktemp("web"))
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            api = Api(client)
            yield Site(server, db, api, await create_admin(api, db.async_url))
    finally:
        stop_server(server)
        await drop_database(server_url, name)


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


OPEN_TABS: list[Tab] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest_asyncio.fixture(autouse=True)
async def _tabs_of_the_test(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Close the test's pages afterwards; when it failed, keep a screenshot of each first."""
    yield
    for index, tab in enumerate(OPEN_TABS):
        try:
            if request.node.stash.get(FAILED, False):
                path = artifact(f"failed-{request.node.name}-{index}.png")
                await tab.page.screenshot(path=str(path), full_page=True)
            await tab.context.close()
        except Exception:  # noqa: S112 (a page that is already gone has nothing to keep)
            continue
    OPEN_TABS.clear()


async def open_tab(browser: Any, base_url: str, viewport: dict[str, int] = DESKTOP) -> Tab:
    context = await browser.new_context(viewport=viewport, base_url=base_url)
    page = await context.new_page()
    tab = Tab(page, context)
    OPEN_TABS.append(tab)
    page.on("console", lambda m: m.type == "error" and tab.console_errors.append(m.text))
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
