"""`tradematch demo` drives the whole seed flow through the real HTTP API."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.flows.servers import LiveServer


def test_demo_runs_the_nine_steps_against_a_running_server(live_server: LiveServer) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tradematch", "demo", "--base-url", live_server.base_url],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ),
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
