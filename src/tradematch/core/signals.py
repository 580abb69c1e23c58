"""Termination requests end the ``tradematch`` command in order, never abruptly.

By default SIGTERM (what systemd, ``docker stop`` and supervisors send) and SIGHUP kill a Python
process on the spot: no ``finally`` block and no exit hook runs, so an embedded PostgreSQL the
process started would be left running. ``install`` turns SIGTERM, SIGHUP and SIGINT into a
``Terminated`` exception, raised in the main thread like Ctrl-C's ``KeyboardInterrupt``, so the
command unwinds and its clean-up runs. Commands with a graceful shutdown of their own (uvicorn
in ``serve``, the worker's loops) take the signals over while they run and hand them back.
"""

from __future__ import annotations

import signal
from types import FrameType

TERMINATING_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class Terminated(SystemExit):
    """The process was asked to stop. Exits with 128 + the signal's number, as a shell reports
    a process killed by that signal, unless a command that shut down gracefully returns 0."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


def install() -> None:
    """Raise ``Terminated`` on SIGTERM, SIGHUP and SIGINT. A signal the parent chose to ignore
    (``nohup`` ignores SIGHUP) stays ignored."""
    for sig in TERMINATING_SIGNALS:
        if signal.getsignal(sig) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(sig, _terminate)


def hang_up_as_terminate() -> None:
    """Deliver SIGHUP as SIGTERM, for code that stops gracefully on SIGTERM but knows nothing of
    SIGHUP (uvicorn). Left alone if SIGHUP is ignored."""
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signal.signal(signal.SIGHUP, _raise_sigterm)


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise Terminated(signum)


def _raise_sigterm(_signum: int, _frame: FrameType | None) -> None:
    signal.raise_signal(signal.SIGTERM)
