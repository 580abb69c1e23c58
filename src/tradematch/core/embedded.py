"""The embedded PostgreSQL's lifecycle: started (or joined) on demand, stopped when the last
process using it exits, whichever way it exits.

``pgserver`` starts the server and keeps the pids of the processes using it in
``<pgdata>/.handle_pids.json``; its own exit hook stops the server when the last of them exits.
That leaves two holes: a process that dies from a signal runs no exit hook (SIGKILL always,
SIGTERM unless handled), and its pid stays in the list for ever, so every survivor believes
someone else still uses the server and none of them stops it. So we keep the list ourselves:

- ``acquire`` settles the list first (drops pids of processes that no longer exist; if nobody
  is left and a postmaster still runs, that postmaster is an orphan of a killed process and is
  stopped), then lets pgserver start or join the server and register this process;
- ``release_all`` (from the CLI on every exit path, and at interpreter exit) removes this
  process and settles again: the last one out stops the server.

Every step happens under pgserver's inter-process lock, the same one its start-up takes, so a
process that is starting the server is never mistaken for an orphan's absent owner. The list
holds pids only: the embedded server is for processes on one machine (one pid namespace).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import signal
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)

HANDLE_LIST = ".handle_pids.json"  # pgserver's list of the processes using a server
STOP_TIMEOUT_SECONDS = 30.0  # a fast shutdown ends every session; it takes well under a second
_DEFERRED_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}

# pgserver's lock is an fcntl lock, which excludes other processes but not other threads of
# this one: this lock covers those.
_threads = threading.Lock()
_held: dict[Path, str | None] = {}  # pgdata -> URI (None while starting)
_hook_installed = False


def pgdata_of(data_dir: Path) -> Path:
    return (data_dir / "pgdata").resolve()


def acquire(data_dir: Path) -> str:
    """Start or join the embedded server of ``data_dir``; return its libpq URI."""
    pgdata = pgdata_of(data_dir)
    with _threads:
        uri = _held.get(pgdata)
        if uri is not None:
            return uri
        _install_exit_hook()
        _held[pgdata] = None  # released at exit even if the start below is interrupted
        pgserver = _pgserver()
        pgdata.mkdir(parents=True, exist_ok=True)
        with _interprocess_lock():
            _settle(pgdata)
        # Starts the server unless it runs, and registers this process, under the same lock.
        server = pgserver.PostgresServer(pgdata, cleanup_mode=None)
        atexit.unregister(server._cleanup)  # stopping is ours (release_all), not its hook's
        uri = str(server.get_uri())
        _held[pgdata] = uri
        log.info("embedded PostgreSQL ready in %s (pid %s)", pgdata, server.get_pid())
        return uri


def release_all() -> None:
    """Stop using every embedded server this process acquired; stop those nobody else uses."""
    with _threads:
        for pgdata in list(_held):
            with _signals_deferred(), _interprocess_lock():
                _settle(pgdata, leaving=os.getpid())
            del _held[pgdata]


def reclaim(data_dir: Path) -> None:
    """Stop the embedded server of ``data_dir`` if no live process uses it (after a child
    process that used it was killed, say)."""
    pgdata = pgdata_of(data_dir)
    if not pgdata.is_dir():
        return
    with _threads, _signals_deferred(), _interprocess_lock():
        _settle(pgdata)


def _settle(pgdata: Path, *, leaving: int | None = None) -> None:
    """Under the lock: drop ``leaving`` and every dead process from the list; if nobody is left,
    stop the postmaster (the caller was the last user, or its users were all killed)."""
    listed = _read_owners(pgdata)
    owners = [pid for pid in listed or () if pid != leaving and _alive(pid)]
    stale = sorted(set(listed or ()) - set(owners) - {leaving})
    if stale:
        log.warning("embedded PostgreSQL: forgetting users that no longer run: %s", stale)
    if listed is None:
        (pgdata / HANDLE_LIST).unlink(missing_ok=True)  # pgserver reads a missing list as empty
    elif owners != listed:
        (pgdata / HANDLE_LIST).write_text(json.dumps(owners))
    if owners:
        return
    postmaster = _postmaster(pgdata)
    if postmaster is None:
        return
    if leaving is None:
        log.warning(
            "embedded PostgreSQL (pid %s) outlived every process that used it: stopping it",
            postmaster.pid,
        )
    _stop(postmaster)
    log.info("embedded PostgreSQL in %s stopped", pgdata)


def _read_owners(pgdata: Path) -> list[int] | None:
    """The listed pids; None if the file is missing or unreadable (torn by a process killed
    while writing it)."""
    path = pgdata / HANDLE_LIST
    try:
        values = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        log.warning("embedded PostgreSQL: unreadable %s, starting it afresh", path)
        return None
    if not isinstance(values, list):
        return None
    return [v for v in values if isinstance(v, int)]


def _alive(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # exists, owned by someone else
        return True


def _postmaster(pgdata: Path) -> psutil.Process | None:
    """The running postmaster of ``pgdata``, from its lock file; None if none runs. A lock file
    naming a pid that is not a PostgreSQL server (gone, or reused by another program) is stale
    and removed, since PostgreSQL refuses to start while its pid belongs to a live process."""
    lock_file = pgdata / "postmaster.pid"
    try:
        pid = int(lock_file.read_text().split("\n", 1)[0])
        process = psutil.Process(pid)
        if process.name() in ("postgres", "postmaster") and _alive(pid):
            return process
    except FileNotFoundError:
        return None
    except psutil.AccessDenied:  # cannot tell: assume it is the server, as PostgreSQL would
        return psutil.Process(pid)
    except (ValueError, IndexError, psutil.NoSuchProcess):
        pass
    log.warning("embedded PostgreSQL: removing stale %s", lock_file)
    lock_file.unlink(missing_ok=True)
    return None


def _stop(postmaster: psutil.Process) -> None:
    """Fast shutdown (SIGINT: sessions are ended, the data is checkpointed), as ``pg_ctl stop
    -m fast`` does; immediate shutdown, then SIGKILL, if it does not finish in time."""
    for sig, patience in (
        (signal.SIGINT, STOP_TIMEOUT_SECONDS),
        (signal.SIGQUIT, 5.0),
        (signal.SIGKILL, 5.0),
    ):
        try:
            postmaster.send_signal(sig)
            postmaster.wait(patience)
            return
        except psutil.NoSuchProcess:
            return
        except psutil.TimeoutExpired:
            log.warning("embedded PostgreSQL (pid %s) did not stop in time", postmaster.pid)


@contextlib.contextmanager
def _interprocess_lock() -> Iterator[None]:
    lock = _pgserver().PostgresServer._lock
    with lock:
        yield


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold back SIGINT/SIGTERM/SIGHUP while the server is being stopped, so a second Ctrl-C
    cannot leave it half-stopped; they are delivered afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _install_exit_hook() -> None:
    global _hook_installed
    if not _hook_installed:
        atexit.register(release_all)
        _hook_installed = True


def _pgserver() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp is used then.
        warnings.simplefilter("ignore")
        import pgserver  # imported lazily: only the embedded default needs it
    pg_log = logging.getLogger("pgserver")
    if pg_log.level == logging.NOTSET:  # it logs every command line it runs at INFO
        pg_log.setLevel(logging.WARNING)
    return pgserver
