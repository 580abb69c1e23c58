"""``tradematch demo``: the seed's nine-step customer → vendor → customer flow, driven through
the real HTTP API, printing each request and response."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tradematch.core import embedded
from tradematch.core.signals import Terminated

PASSWORD = "demo-password-123"  # noqa: S105 (throw-away demo accounts)
Echo = Callable[[str], None]


class Demo:
    def __init__(self, base_url: str, echo: Echo) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.echo = echo
        self.tag = uuid.uuid4().hex[:6]

    def call(
        self,
        title: str,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        expect: int | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.http.request(method, path, json=body, headers=headers)
        self.echo(f"\n## {title}\n{method} {path}")
        if body is not None:
            self.echo(json.dumps(body, indent=2))
        self.echo(f"→ {response.status_code}\n{json.dumps(response.json(), indent=2)}")
        wanted = expect if expect is not None else (200, 201)
        if response.status_code not in (wanted if isinstance(wanted, tuple) else (wanted,)):
            raise RuntimeError(f"{title}: unexpected {response.status_code}")
        return response.json()

    def register(self, role: str, name: str, postcode: str, **extra: Any) -> dict[str, Any]:
        body = {
            "email": f"{name.lower().replace(' ', '.')}-{self.tag}@example.com",
            "password": PASSWORD,
            "name": name,
            "phone": "07700 900" + str(len(name) * 37 % 1000).zfill(3),
            "postcode": postcode,
            "role": role,
            **extra,
        }
        response = self.http.post("/api/auth/register", json=body)
        response.raise_for_status()
        return dict(response.json())

    def run(self) -> list[tuple[str, str]]:
        """The nine steps; then a new job left live, so the dashboards have something open.
        Returns the accounts a person can sign in with, as (who, email)."""
        customer = self.register("customer", "Cathy Customer", "SW1A 1AA")
        plumbers = [
            self.register(
                "vendor",
                f"Pat Plumber {i}",
                f"SW1A {i}AA",
                business_name=f"Pat's Plumbing {i}",
                trades=["Plumbing"],
                service_radius_miles=10,
            )
            for i in range(1, 4)
        ]
        ct = customer["access_token"]
        self.echo(f"Registered customer {customer['user_id']} and {len(plumbers)} plumbers nearby.")

        job = self.call(
            "1. Customer creates job",
            "POST",
            "/api/connection/jobs",
            ct,
            {
                "title": "Fix leaking kitchen tap",
                "trade_category": "Plumbing",
                "budget_min": 50,
                "budget_max": 150,
                "timeframe": "urgent",
            },
        )
        job_id = job["job_id"]
        self.call(
            "2. Customer publishes job", "PATCH", f"/api/connection/jobs/{job_id}/publish", ct, {}
        )

        vendor = plumbers[0]
        vt = vendor["access_token"]
        leads = self.call("Vendor's leads (masked)", "GET", "/api/connection/leads", vt)
        lead_id = next(item["lead_id"] for item in leads["items"] if item["job_id"] == job_id)
        accepted = self.call(
            "3. Vendor accepts lead",
            "POST",
            f"/api/connection/leads/{lead_id}/accept",
            vt,
            {"idempotency_key": str(uuid.uuid4())},
        )
        conversation_id = accepted["conversation_id"]

        quote = self.call(
            "4. Vendor sends quote",
            "POST",
            "/api/connection/quotes",
            vt,
            {
                "job_id": job_id,
                "amount": 120,
                "description": "New washer installed, tested",
                "estimated_duration": "2 hours",
            },
        )
        self.call(
            "5. Customer messages vendor",
            "POST",
            f"/api/connection/conversations/{conversation_id}/messages",
            ct,
            {"body": "Can you confirm the exact timing?"},
        )
        self.call(
            "6. Customer accepts quote",
            "PATCH",
            f"/api/connection/quotes/{quote['quote_id']}/accept",
            ct,
            {},
        )
        self.call(
            "Customer tops up the sandbox wallet",
            "POST",
            "/api/connection/wallet/top-up",
            ct,
            {"amount": 200},
        )
        self.call(
            "Customer funds escrow", "POST", f"/api/connection/jobs/{job_id}/escrow/fund", ct, {}
        )
        milestones = self.call("Milestones", "GET", f"/api/connection/jobs/{job_id}/milestones", vt)
        milestone_id = milestones["items"][0]["milestone_id"]
        self.call(
            "7. Vendor submits milestone",
            "POST",
            f"/api/connection/milestones/{milestone_id}/submit",
            vt,
            {
                "completion_evidence": {
                    "photos": ["https://example.com/tap-1.jpg", "https://example.com/tap-2.jpg"],
                    "description": "Tap installed and tested. Works perfectly.",
                }
            },
        )
        self.call(
            "8. Customer approves milestone",
            "PATCH",
            f"/api/connection/milestones/{milestone_id}/approve",
            ct,
            {},
        )
        self.call("Escrow after release", "GET", f"/api/connection/jobs/{job_id}/escrow", vt)
        review = self.call(
            "9. Customer leaves review",
            "POST",
            "/api/connection/reviews",
            ct,
            {
                "job_id": job_id,
                "rating": 5,
                "feedback": "Great work, quick and professional!",
                "recommend_yes_no": True,
            },
        )
        self.call(
            "Vendor responds",
            "PATCH",
            f"/api/connection/reviews/{review['review_id']}/respond",
            vt,
            {"response": "Thank you, Cathy!"},
        )
        events = self.call(
            "The job's history (customer's view)", "GET", f"/api/connection/events/{job_id}", ct
        )
        self.echo("\nEvents: " + ", ".join(item["type"] for item in events["items"]))
        second = self.call(
            "A second job, left open for the dashboards",
            "POST",
            "/api/connection/jobs",
            ct,
            {
                "title": "Bleed the radiators and check the boiler pressure",
                "trade_category": "Plumbing",
                "budget_min": 60,
                "budget_max": 120,
                "timeframe": "within_a_week",
                "description": "Upstairs radiators are cold at the top.",
            },
        )
        self.call(
            "Customer publishes it",
            "PATCH",
            f"/api/connection/jobs/{second['job_id']}/publish",
            ct,
            {},
        )
        return [
            ("customer (Cathy)", customer["email"]),
            ("tradesperson who did the tap job", vendor["email"]),
            ("tradesperson with a new lead", plumbers[1]["email"]),
        ]


def create_demo_admin(env: dict[str, str], tag: str) -> str | None:
    """An administrator for the look-around, made the only way admins are: the CLI, against
    the server's own database (``env``). None if that database is not reachable from here."""
    email = f"admin-{tag}@example.com"
    result = subprocess.run(  # noqa: S603 (our own interpreter and module)
        [
            sys.executable,
            "-m",
            "tradematch",
            "admin",
            "create",
            "--email",
            email,
            "--name",
            "Demo Admin",
            "--phone",
            "07700900000",
            "--postcode",
            "SW1A 1AA",
        ],
        env={**env, "TRADEMATCH_ADMIN_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return email if result.returncode == 0 else None


def print_guide(
    echo: Echo, base_url: str, accounts: list[tuple[str, str]], admin: str | None
) -> None:
    echo("\n== Look around the dashboards ==")
    echo(f"Open {base_url}/ in a browser and sign in (password for every account: {PASSWORD}):")
    rows = [*accounts, ("admin", admin)] if admin else accounts
    width = max(len(who) for who, _ in rows)
    for who, email in rows:
        echo(f"  {who.ljust(width)}  {email}")
    if not admin:
        echo(
            "  (no admin: create one with `tradematch admin create` against the server's database)"
        )
    echo(f"API docs: {base_url}/docs")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def embedded_server() -> Iterator[tuple[str, dict[str, str]]]:
    """A throw-away ``tradematch serve`` on an embedded database of its own."""
    with tempfile.TemporaryDirectory(prefix="tradematch-demo-") as data_dir:
        port = _free_port()
        env = {**os.environ, "TRADEMATCH_DATA_DIR": data_dir, "TRADEMATCH_LOG_LEVEL": "WARNING"}
        env.pop("TRADEMATCH_DATABASE_URL", None)
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "tradematch", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    raise RuntimeError("the demo server exited during start-up")
                try:
                    if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the demo server did not become ready")
                time.sleep(0.3)
            yield base_url, env
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            # A server that had to be killed leaves its PostgreSQL behind: stop it before its
            # data directory is deleted.
            embedded.reclaim(Path(data_dir))


def run_demo(base_url: str | None, echo: Echo, *, stay: bool = False) -> None:
    """Run the flow and print how to sign in to the dashboards. On a server of its own
    (no ``base_url``), ``stay`` keeps that server running until interrupted."""
    if base_url:
        demo = Demo(base_url, echo)
        accounts = demo.run()
        print_guide(echo, base_url, accounts, create_demo_admin(dict(os.environ), demo.tag))
        return
    with embedded_server() as (url, env):
        echo(f"Started a demo server on an embedded database at {url}")
        demo = Demo(url, echo)
        accounts = demo.run()
        print_guide(echo, url, accounts, create_demo_admin(env, demo.tag))
        if stay:
            echo("\nThe demo server keeps running; press Ctrl-C to stop it.")
            try:
                while True:
                    time.sleep(3600)
            except (KeyboardInterrupt, Terminated):  # Ctrl-C, SIGTERM, SIGHUP: a clean stop
                echo("Stopping the demo server.")
