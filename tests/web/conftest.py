"""Browser tests of the dashboards: Playwright for Python driving Debian's Chromium against a
real ``tradematch serve`` process on a database of the module's own (the helpers are in
``tests/flows/browser.py``).

They carry the ``browser`` marker: CI runs them once, on one database (the whole suite on the
machine's PostgreSQL; the embedded run is ``pytest -m "not browser"``). Without a Chromium they
are skipped, except in CI (``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.flows.browser import CHROMIUM, CHROMIUM_ARGS, OPEN_TABS, Site, artifact
from tests.flows.database import Database
from tests.flows.servers import start_server, stop_server
from tests.flows.users import Api, create_admin


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


@pytest_asyncio.fixture(scope="module")
async def site(
    module_db: Database, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    server = start_server(module_db, tmp_path_factory.mktemp("web"))
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            api = Api(client)
            yield Site(server, module_db, api, await create_admin(api, module_db.async_url))
    finally:
        stop_server(server)


FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


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
