"""The dashboards and docs pages as served: browser protections on every response, nothing
from another origin, no inline script, handler or style attribute, user text never handed to
an HTML parser, the vendored libraries with their licences, and the files in the package."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from tests.flows.database import ROOT
from tradematch.web import SCRIPTS, STATIC

STRICT = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
PAGES = ["/", "/docs", "/redoc", "/docs/oauth2-redirect"]


def csp(response: httpx.Response) -> dict[str, str]:
    directives = [d.strip() for d in response.headers["content-security-policy"].split(";")]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else "" for d in directives if d}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/js/main.js", 200),
        ("GET", "/static/app.css", 200),
        ("GET", "/sw.js", 200),
        ("GET", "/docs", 200),
        ("GET", "/openapi.json", 200),
        ("GET", "/api/connection/trades", 200),
        ("GET", "/api/connection/jobs", 401),
        ("GET", "/static/nothing-here.js", 404),
        ("POST", "/api/auth/login", 422),
        ("GET", "/healthz", 200),
    ],
)
async def test_every_response_carries_the_browser_protections(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == status
    policy = csp(response)
    for directive in STRICT.split("; "):
        name, value = directive.split(" ", 1)
        assert policy[name] == value, (path, policy)
    assert "unsafe-inline" not in policy["script-src"] and "unsafe-eval" not in policy["script-src"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    if path not in ("/docs", "/redoc"):
        assert "style-src" not in policy  # default-src 'self': no inline style anywhere else


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in values:
            if name.startswith("on") or name == "style":
                self.problems.append(f"<{tag} {name}=…>")
        if tag == "script" and "src" not in values and values.get("type") != "importmap":
            self.problems.append("inline <script>")
        for name in ("src", "href"):
            if values.get(name):
                self.urls.append(str(values[name]))


@pytest.mark.parametrize("path", PAGES)
async def test_pages_load_only_this_origins_files_and_run_no_inline_script(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = _Page()
    page.feed(response.text)
    assert page.problems == []
    assert page.urls, "the page names its assets"
    for url in page.urls:
        if url.startswith("#"):
            continue
        assert url.startswith("/"), url  # same origin: no CDN, no web fonts from elsewhere
        asset = await client.get(url)
        assert asset.status_code == 200, url


async def test_the_service_worker_covers_the_dashboards(client: httpx.AsyncClient) -> None:
    response = await client.get("/sw.js")
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["service-worker-allowed"] == "/"
    assert "showNotification" in response.text


def test_the_dashboards_never_parse_strings_as_html() -> None:
    forbidden = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|dangerouslySetInnerHTML|document\.write|"
        r"\beval\(|new Function|setAttribute\(\s*['\"]on"
    )
    offenders = [
        f"{path.relative_to(SCRIPTS)}:{number}"
        for path in SCRIPTS.rglob("*.js")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if forbidden.search(line)
    ]
    assert len(list(SCRIPTS.rglob("*.js"))) > 20
    assert offenders == []


def test_every_vendored_library_has_its_licence() -> None:
    folders = [p for p in (STATIC / "vendor").iterdir() if p.is_dir()]
    assert {p.name for p in folders} >= {"preact", "htm", "swagger-ui", "redoc"}
    for folder in folders:
        licence = folder / "LICENSE"
        assert licence.is_file() and len(licence.read_text()) > 200, folder


def test_the_package_ships_the_dashboards(tmp_path: Path) -> None:
    """``pip install .`` (not editable) must carry the static files: build the wheel and look."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("tradematch-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"tradematch/web/{path.relative_to(STATIC.parent).as_posix()}"
        for folder in (STATIC, SCRIPTS)
        for path in folder.rglob("*")
        if path.is_file()
    }
    assert len(expected) > 30
    assert expected - names == set()


STATIC_IMPORT = re.compile(
    r"""^(?:import\s*(?:[\w*{}\s,]+?\s*from\s*)?|export\s*[\w*{}\s,]+?\s*from\s*)["']([^"']+)["']""",
    re.M,
)


def served_file(url_path: str) -> Path:
    folder, _, rest = url_path.lstrip("/").partition("/")
    return {"js": SCRIPTS, "static": STATIC}[folder] / rest


def static_graph(entry: str) -> set[str]:
    """The URL paths of every module ``entry`` loads before it runs (``import()`` excluded)."""
    seen: set[str] = set()
    pending = [entry]
    while pending:
        current = pending.pop()
        for target in STATIC_IMPORT.findall(served_file(current).read_text()):
            resolved = urljoin(current, target)
            if resolved not in seen:
                seen.add(resolved)
                pending.append(resolved)
    return seen


def test_the_sign_in_screen_loads_its_modules_in_one_round_and_no_dashboard() -> None:
    """index.html preloads exactly the entry's static graph, so a cold visit fetches it at once;
    the three role dashboards come later by ``import()``, once a session names one."""
    page = (STATIC / "index.html").read_text()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="([^"]+)">', page))
    graph = static_graph("/js/main.js")
    assert "/static/vendor/preact/preact.module.js" in graph and "/js/ui/auth.js" in graph
    assert preloaded == graph
    assert not any(path.endswith("/app.js") for path in graph), graph
    main = served_file("/js/main.js").read_text()
    for role in ("customer", "vendor", "admin"):
        assert f'import("./{role}/app.js")' in main
