"""A fixed CPU budget per process, with the kernel's CFS bandwidth control (Linux cgroups).

On a machine with fewer cores than the deployment it stands for, capping every API process at
the same fraction of a CPU turns "each process has a core of its own" into something that can
be measured: N capped processes can use N budgets only if nothing serialises them, and the
budgets leave the rest of the machine to PostgreSQL and the benchmark's client. Each process
gets a cgroup of its own (``tradematch-bench-<pid>``) with ``quota = cpus * period``; a short
period (10 ms) keeps the throttling fine-grained, so requests see small pauses rather than one
long stall per 100 ms.

Needs root and a writable cpu controller: cgroup v1 (``/sys/fs/cgroup/cpu``) or cgroup v2 with
``cpu`` in the root's ``cgroup.subtree_control``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

V1 = Path("/sys/fs/cgroup/cpu")
V2 = Path("/sys/fs/cgroup")
PERIOD_US = 10_000


@dataclass(frozen=True)
class Group:
    path: Path
    pid: int

    def throttled(self) -> tuple[int, int]:
        """(periods, periods in which the process used up its quota) so far."""
        stat = dict(
            line.split() for line in (self.path / "cpu.stat").read_text().splitlines() if line
        )
        return int(stat.get("nr_periods", 0)), int(stat.get("nr_throttled", 0))


def _hierarchy() -> tuple[Path, bool]:
    """The cpu controller's root and whether it is cgroup v2."""
    if (V1 / "cpu.cfs_quota_us").exists() or (V1 / "cgroup.procs").exists():
        return V1, False
    controllers = V2 / "cgroup.subtree_control"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return V2, True
    raise SystemExit(
        "--cpus-per-process needs a writable cgroup cpu controller "
        f"({V1} or cpu in {controllers}) and root"
    )


@contextlib.contextmanager
def capped(pids: list[int], cpus: float, period_us: int = PERIOD_US) -> Iterator[list[Group]]:
    """Put each of ``pids`` in a cgroup of its own limited to ``cpus`` CPUs; undone on exit."""
    if not 0.01 <= cpus <= 64:
        raise SystemExit("--cpus-per-process must be between 0.01 and 64")
    root, v2 = _hierarchy()
    quota = int(cpus * period_us)
    groups: list[Group] = []
    try:
        for pid in pids:
            path = root / f"tradematch-bench-{pid}"
            path.mkdir(exist_ok=True)
            if v2:
                (path / "cpu.max").write_text(f"{quota} {period_us}")
            else:
                (path / "cpu.cfs_period_us").write_text(str(period_us))
                (path / "cpu.cfs_quota_us").write_text(str(quota))
            groups.append(Group(path, pid))
            (path / "cgroup.procs").write_text(str(pid))  # every thread of the process
        yield groups
    finally:
        for group in groups:
            with contextlib.suppress(OSError):  # the process may have gone already
                for member in (group.path / "cgroup.procs").read_text().split():
                    (root / "cgroup.procs").write_text(member)
            with contextlib.suppress(OSError):
                group.path.rmdir()
