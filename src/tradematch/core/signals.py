"""Termination requests end the ``tradematch`` command in order, never abruptly.

By default SIGTERM (what systemd, ``docker stop`` and supervisors send) and SIGHUP kill a Python
process on the spot: no ``finally`` block and no exit hook runs, so an embedded PostgreSQL the
process started would be left running. ``install`` turns SIGTERM, SIGHUP and SIGINT into a
``Terminated`` exception, raised in the main thread like Ctrl-C's ``KeyboardInterrupt``, so the
command unwinds and its clean-up runs. Commands with a graceful shutdown of their own (uvicorn
in ``serve``, the worker's loops) take the signals over while they run and hand them back.

An exception raised from a signal handler lands wherever the main thread happens to be. Inside
an event loop that can be the middle of a driver's protocol callback, or between taking a lock
and entering the ``try`` that releases it; the loop's clean-up may then wait for ever for a reply
that the interrupted callback never recorded. So the commands' coroutines run under ``run``
instead of ``asyncio.run``: there a termination signal cancels the coroutine at the ``await`` it
is in (as asyncio itself does for Ctrl-C), and ``Terminated`` is raised once the loop has closed.
Code with a graceful stop of its own registers it with ``graceful_stop`` for as long as it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Coroutine, Iterator
from types import FrameType
from typing import Any, TypeVar

TERMINATING_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

T = TypeVar("T")
_graceful: list[Callable[[], None]] = []  # innermost last


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


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, with SIGTERM, SIGHUP and SIGINT cancelling ``main`` at its current
    ``await`` (or calling the innermost ``graceful_stop`` callback) instead of raising inside the
    loop. Raises ``Terminated`` afterwards if a signal cancelled ``main``, or came before it
    started or after it ended. Signals that were ignored when it started stay ignored."""
    if threading.current_thread() is not threading.main_thread():
        return asyncio.run(main)
    previous = {sig: signal.getsignal(sig) for sig in TERMINATING_SIGNALS}
    received: list[int] = []
    running: tuple[asyncio.AbstractEventLoop, asyncio.Task[T]] | None = None  # while main runs

    def stop(signum: int, task: asyncio.Task[T]) -> None:  # in the loop, between its steps
        if _graceful:
            _graceful[-1]()
            return
        received.append(signum)
        task.cancel()  # nothing, if main has finished meanwhile; Terminated follows all the same

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        # Runs between two bytecodes of whatever the main thread is doing: only note the signal
        # or schedule its handling (call_soon_threadsafe is safe from here), never act on it.
        if running is None:
            received.append(signum)
        else:
            loop, task = running
            loop.call_soon_threadsafe(stop, signum, task)

    async def guarded() -> T:
        nonlocal running
        task = asyncio.current_task()
        assert task is not None
        running = (asyncio.get_running_loop(), task)
        try:
            if received:  # came while the loop was being set up: do not start
                main.close()
                raise asyncio.CancelledError
            return await main
        finally:
            running = None

    for sig, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(sig, on_signal)
    try:
        result = asyncio.run(guarded())
    except asyncio.CancelledError:
        if received:
            raise Terminated(received[0]) from None
        raise
    finally:
        for sig, handler in previous.items():
            if handler is not None:  # None: set outside Python, nothing to restore
                signal.signal(sig, handler)
    if received:
        raise Terminated(received[0])
    return result


@contextlib.contextmanager
def graceful_stop(callback: Callable[[], None]) -> Iterator[None]:
    """Inside ``run``: while the block runs, a termination signal calls ``callback`` (which
    stops the work in order) instead of cancelling the coroutine."""
    _graceful.append(callback)
    try:
        yield
    finally:
        _graceful.remove(callback)
