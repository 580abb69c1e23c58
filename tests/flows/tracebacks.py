"""No traceback in the server's log: a check over the whole test run.

Every ERROR (or worse) record that carries an exception, from the application's or uvicorn's
loggers, is collected while the tests run — in process (the ``app`` fixtures) and from the log
files of the server processes the tests start (``tests/flows/servers.py`` hands each one in when
it stops). A test during which one arrived fails at teardown, naming it; one that arrived
outside any test (a module's server stopping) fails the run at the end. A test that provokes
one on purpose (the database going away under the app) says so: ``@pytest.mark.tracebacks``
(a server the module shares is stopped after its last test: a marked test anywhere in the
module lets that server's log through as well).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

WATCHED = ("tradematch", "uvicorn", "fastapi", "starlette", "asyncio")
MARKER = "tracebacks"


@dataclass(frozen=True)
class Traceback:
    where: str  # the test, or "outside any test"
    logger: str
    message: str
    exception: str

    def __str__(self) -> str:
        return f"{self.where}: [{self.logger}] {self.message} — {self.exception}"


class TracebackRecorder(logging.Handler):
    """Collects the records with an exception; ``current`` says which test is running and
    whether it expects them."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.found: list[Traceback] = []
        self.current = "outside any test"
        self.expected = False
        self.module = ""  # the test file running, or whose last test just ran
        self.allowed_modules: set[str] = set()
        self._seen: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info is None or record.exc_info[0] is None:
            return
        if not record.name.startswith(WATCHED) or id(record) in self._seen:
            return
        self._seen.add(id(record))
        if self.expected:
            return
        exception = record.exc_info[1]
        self.add(record.name, record.getMessage(), f"{type(exception).__name__}: {exception}")

    def add(self, logger: str, message: str, exception: str) -> None:
        self.found.append(Traceback(self.current, logger, message[:300], exception[:500]))

    def server_log(self, log: Path) -> None:
        """A server process's log (JSON lines): every line with an exception in it."""
        if self.expected or self.module in self.allowed_modules or not log.exists():
            return
        for line in log.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                if line.startswith("Traceback"):
                    self.add("server process", line, "(plain-text traceback)")
                continue
            if isinstance(entry, dict) and entry.get("exception"):
                last = str(entry["exception"]).strip().splitlines()[-1:]
                self.add(
                    str(entry.get("logger", "server process")),
                    str(entry.get("event", "")),
                    f"{log.name}: {last[0] if last else ''}",
                )

    def install(self) -> None:
        # The root logger sees what propagates; uvicorn's own loggers may not propagate.
        for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
            logger = logging.getLogger(name)
            if self not in logger.handlers:
                logger.addHandler(self)


RECORDER = TracebackRecorder()
