"""A stop signal reaches the commands' coroutines at an ``await``, never inside the event loop's
machinery (``signals.run``), in this process: each test sends the signal to itself."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator

import pytest

from tradematch.core import signals
from tradematch.core.signals import Terminated


@pytest.fixture(autouse=True)
def command_signals() -> Iterator[None]:
    """The handlers the ``tradematch`` command runs with, restored afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in signals.TERMINATING_SIGNALS}
    for sig in signals.TERMINATING_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    signals.install()
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def test_a_signal_during_a_callback_lets_the_callback_finish() -> None:
    """A driver's callback that is interrupted half-way would never record the reply its caller
    waits for; the caller's clean-up would then wait for ever (here: five seconds)."""
    cleaned_up: list[str] = []

    async def command() -> None:
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[str] = loop.create_future()

        def data_received() -> None:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives while the callback still runs
            reply.set_result("reply")

        loop.call_soon(data_received)
        try:
            await asyncio.sleep(30)
        finally:
            cleaned_up.append(await asyncio.wait_for(reply, 5))

    with pytest.raises(Terminated) as stopped:
        signals.run(command())
    assert stopped.value.code == 128 + signal.SIGTERM
    assert cleaned_up == ["reply"]
    assert signal.getsignal(signal.SIGTERM) is signals._terminate  # the command's handler again


def test_a_graceful_stop_takes_the_signal_instead() -> None:
    async def command() -> str:
        stop = asyncio.Event()
        with signals.graceful_stop(stop.set):
            asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signal.SIGHUP)
            await asyncio.wait_for(stop.wait(), 5)
        return "stopped in order"

    assert signals.run(command()) == "stopped in order"  # no Terminated: it stopped by itself


def test_a_signal_while_the_loop_closes_still_stops_the_command() -> None:
    """After the command returned, the loop waits for its worker threads; a signal meanwhile
    is not lost (nor does it take the default action, which would kill the process)."""

    async def command() -> str:
        def late() -> None:
            time.sleep(0.3)  # the command has returned by now
            os.kill(os.getpid(), signal.SIGTERM)

        asyncio.get_running_loop().run_in_executor(None, late)
        return "done"

    with pytest.raises(Terminated) as stopped:
        signals.run(command())
    assert stopped.value.code == 128 + signal.SIGTERM


def test_an_ignored_signal_stays_ignored() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup

    async def command() -> str:
        os.kill(os.getpid(), signal.SIGHUP)
        await asyncio.sleep(0.2)
        return "ran on"

    assert signals.run(command()) == "ran on"
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
