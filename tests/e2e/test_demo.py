"""`tradematch demo` drives the whole seed flow through the real HTTP API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.flows.database import Database
from tests.flows.servers import LiveServer


def test_demo_runs_the_nine_steps_against_a_running_server(
    live_server: LiveServer, fresh_db: Database, tmp_path: Path
) -> None:
    # The server's own database, so the demo's admin is created where the server can see it.
    env = {
        **os.environ,
        "TRADEMATCH_DATABASE_URL": fresh_db.url,
        "TRADEMATCH_DATA_DIR": str(tmp_path / "demo"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "tradematch", "demo", "--base-url", live_server.base_url],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for step in range(1, 10):
        assert f"\n## {step}. " in result.stdout
    assert "→ 402" not in result.stdout and "→ 5" not in result.stdout
    events = result.stdout.rsplit("Events: ", 1)[1].split(", ")
    assert events[:3] == ["JOB_CREATED", "JOB_POSTED", "LEAD_ACCEPTED"]
    assert {
        "QUOTE_ACCEPTED",
        "ESCROW_FUNDED",
        "PAYMENT_RELEASED",
        "JOB_COMPLETED",
        "JOB_CLOSED",
    } <= set(e.strip() for e in events)

    # Then the way in to the dashboards: their URL and accounts that really sign in.
    guide = result.stdout.rsplit("== Look around the dashboards ==", 1)[1]
    assert f"Open {live_server.base_url}/ in a browser" in guide
    password = re.search(r"password for every account: (\S+)\)", guide)
    assert password is not None
    roles = {}
    for who, email in re.findall(r"^  (.+?)  +(\S+@example\.com)$", guide, flags=re.M):
        login = httpx.post(
            f"{live_server.base_url}/api/auth/login",
            json={"email": email, "password": password.group(1)},
        )
        assert login.status_code == 200, (who, login.text)
        me = httpx.get(
            f"{live_server.base_url}/api/auth/me",
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        )
        roles[who.strip()] = me.json()["role"]
    assert sorted(roles.values()) == ["admin", "customer", "vendor", "vendor"], roles
