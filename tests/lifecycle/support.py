"""Real ``tradematch`` processes on an embedded PostgreSQL of their own, and what they leave."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil

from tests.flows.servers import bound_port

JWT_SECRET = "lifecycle-signing-key-that-is-long-enough-to-be-safe"
SCRATCH = Path(__file__).resolve().parents[2] / ".tmp" / "lifecycle"


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A data directory of its own in the checkout's scratch folder. Not under pytest's
    temporary root: every pytest session on the machine (anyone's) resets that to mode 0700,
    and the embedded server, which runs as another user when we are root, loses its files."""
    SCRATCH.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=SCRATCH))
    try:
        yield path
    finally:
        kill_postmasters(path)
        shutil.rmtree(path, ignore_errors=True)


def embedded_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a process that uses the embedded server in ``data_dir``."""
    env = {
        **os.environ,
        "TRADEMATCH_DATA_DIR": str(data_dir),
        "TRADEMATCH_JWT_SECRET": JWT_SECRET,
        "TRADEMATCH_LOG_JSON": "true",
        **extra,
    }
    env.pop("TRADEMATCH_DATABASE_URL", None)
    return env


def _default_signals() -> None:
    # Whatever the test runner ignores, the command under test starts as from a shell.
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)


class Command:
    """One ``tradematch`` process, its output in a log file."""

    def __init__(self, data_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.log = data_dir / f"{args[0]}-{time.monotonic_ns()}.log"
        self._handle = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tradematch", *args],
            env=env or embedded_env(data_dir),
            stdout=self._handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_default_signals,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.output():
            if self.process.poll() is not None:
                raise AssertionError(f"{self.args} exited early:\n{self.output()}")
            assert time.monotonic() < deadline, f"{self.args}: no {text!r}:\n{self.output()}"
            time.sleep(0.1)

    def signal(self, sig: int) -> int:
        self.process.send_signal(sig)
        return self.wait()

    def wait(self, seconds: float = 60) -> int:
        try:
            code = self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.args} still running after {seconds} s:\n{self.output()[-8000:]}"
            ) from None
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._handle.close()
        return code


class Server(Command):
    """``tradematch serve`` on a port the system picks (read from its log), ready once
    ``/readyz`` answers 200."""

    def __init__(self, data_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.base_url = ""
        super().__init__(data_dir, "serve", "--port", "0", *args, env=env)

    def wait_ready(self, seconds: float = 180) -> None:
        # Several interpreters start (one per CPU, and the worker's) on a machine that may be
        # busy with other tests.
        deadline = time.monotonic() + seconds
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited early:\n{self.output()}")
            if not self.base_url and (port := bound_port(self.log)) is not None:
                self.base_url = f"http://127.0.0.1:{port}"
            try:
                if (
                    self.base_url
                    and httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200
                ):
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"serve did not become ready:\n{self.output()}"
            time.sleep(0.2)


def run(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Command:
    """Run a command to its end."""
    command = Command(data_dir, *args, env=env)
    command.wait(seconds=120)
    return command


def pgdata(data_dir: Path) -> Path:
    return (data_dir / "pgdata").resolve()


def postmasters(under: Path) -> list[psutil.Process]:
    """PostgreSQL servers whose data directory lies under ``under``."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] != "postgres" or "-D" not in cmdline:
            continue
        data = cmdline[cmdline.index("-D") + 1]
        if Path(data).resolve().is_relative_to(under.resolve()):
            found.append(process)
    return found


def handle_list(data_dir: Path) -> list[int]:
    path = pgdata(data_dir) / ".handle_pids.json"
    return list(json.loads(path.read_text())) if path.exists() else []


def kill_postmasters(under: Path) -> None:
    """Leave the machine as found, whatever a failed test left running."""
    for process in postmasters(under):
        try:
            process.kill()
            process.wait(10)
        except psutil.NoSuchProcess:
            pass
