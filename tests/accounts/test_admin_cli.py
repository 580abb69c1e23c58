"""``tradematch admin create`` runs unattended: every value has a flag, nothing is asked for
without a terminal (stdin closed here), and a missing value is a clear usage error."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from tests.flows.commands import tradematch
from tests.flows.database import Database, fetch

PASSWORD = "a-long-enough-password"


async def _admin_create(
    db: Database, data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return await tradematch(
        db, data_dir, "admin", "create", *args, unset=["TRADEMATCH_ADMIN_PASSWORD"], env=env
    )


async def _admins(db: Database, email: str) -> list[tuple[str, str, str]]:
    rows = await fetch(db, "SELECT role, phone, postcode FROM users WHERE email = $1", email)
    return [(r["role"], r["phone"], r["postcode"]) for r in rows]


async def test_flags_alone_create_an_admin_without_a_terminal(
    worker_db: Database, tmp_path: Path
) -> None:
    email = f"ops-{uuid.uuid4().hex[:8]}@example.com"

    result = await _admin_create(
        worker_db, tmp_path, "--email", email, "--name", "Ops", "--password", PASSWORD
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().startswith("usr_")
    assert len(await _admins(worker_db, email)) == 1
    assert (await _admins(worker_db, email))[0][0] == "admin"


async def test_every_value_has_a_flag_and_the_password_an_environment_variable(
    worker_db: Database, tmp_path: Path
) -> None:
    email = f"ops-{uuid.uuid4().hex[:8]}@example.com"

    result = await _admin_create(
        worker_db,
        tmp_path,
        "--email",
        email,
        "--name",
        "Ops",
        "--phone",
        "07700900123",
        "--postcode",
        "LS1 4AP",
        env={"TRADEMATCH_ADMIN_PASSWORD": PASSWORD},
    )

    assert result.returncode == 0, result.stdout + result.stderr
    [(role, phone, postcode)] = await _admins(worker_db, email)
    assert role == "admin" and postcode == "LS1 4AP" and phone.endswith("7700900123")


async def test_a_missing_value_is_a_usage_error_not_a_prompt(
    worker_db: Database, tmp_path: Path
) -> None:
    email = f"ops-{uuid.uuid4().hex[:8]}@example.com"
    for args, flag in (
        (("--email", email, "--name", "Ops"), "--password"),
        (("--name", "Ops", "--password", PASSWORD), "--email"),
        (("--email", email, "--password", PASSWORD), "--name"),
    ):
        result = await _admin_create(worker_db, tmp_path, *args)
        assert result.returncode == 2, result.stdout + result.stderr
        assert flag in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert "Aborted" not in result.stderr
    assert await _admins(worker_db, email) == []
