"""Prometheus metrics (exposed at /metrics)."""

from __future__ import annotations

import bisect
import gc
import itertools
import time
from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

DATABASE_UNAVAILABLE = Counter(
    "tradematch_database_unavailable_total",
    "Requests answered 503 DATABASE_UNAVAILABLE because the database was away.",
)
REQUEST_LATENCY = Histogram(
    "tradematch_http_request_duration_seconds",
    "HTTP request latency by route template, method and status class.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
RBAC_DENIALS = Counter(
    "tradematch_rbac_denials_total",
    "Requests refused for authorization: 401, 403 (role), 404 (not found or not yours).",
    ["status", "role"],
)
IDEMPOTENT_REPLAYS = Counter(
    "tradematch_idempotent_replays_total", "Responses replayed for a repeated idempotency key."
)

# The scheduler (worker/scheduler.py). Counted after the item's transaction committed.
SCHEDULER_TRANSITIONS = Counter(
    "tradematch_scheduler_transitions_total",
    "Timed transitions made by the scheduler, by kind (lead_expired, lead_offered, lead_closed, "
    "job_expired, job_closed, milestone_auto_approved).",
    ["kind"],
)
SCHEDULER_PURGED_ROWS = Counter(
    "tradematch_scheduler_purged_rows_total",
    "Rows removed by scheduler housekeeping, by table.",
    ["table"],
)
SCHEDULER_ERRORS = Counter(
    "tradematch_scheduler_errors_total",
    "Scheduler items or runs that failed (logged; retried on the task's next run).",
    ["task"],
)
SCHEDULER_RUN_SECONDS = Histogram(
    "tradematch_scheduler_run_duration_seconds",
    "Duration of one run of a scheduler task.",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
SCHEDULER_LAST_RUN = Gauge(
    "tradematch_scheduler_last_run_timestamp_seconds",
    "When a scheduler task last finished a run without error (Unix time): alert if stale.",
    ["task"],
)
for _kind in (
    "lead_expired",
    "lead_offered",
    "lead_closed",
    "job_expired",
    "job_closed",
    "milestone_auto_approved",
):
    SCHEDULER_TRANSITIONS.labels(_kind)

# Notifications (worker/dispatcher.py).
NOTIFICATION_OUTCOMES = Counter(
    "tradematch_notifications_total",
    "Notification delivery attempts by channel and outcome: sent, retry (failed, will retry), "
    "dead (failed for the last time), expired (no live push subscription or email address).",
    ["channel", "outcome"],
)
NOTIFICATIONS_DEAD = Gauge(
    "tradematch_notifications_dead",
    "Notifications parked as dead, by channel (refreshed by the dispatcher).",
    ["channel"],
)
NOTIFICATION_DELIVERY_SECONDS = Histogram(
    "tradematch_notification_delivery_seconds",
    "From queueing (the event's commit) to successful delivery, by channel.",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0),
)
for _channel in ("in_app", "email", "push"):
    NOTIFICATIONS_DEAD.labels(_channel)
    for _outcome in ("sent", "retry", "dead", "expired"):
        NOTIFICATION_OUTCOMES.labels(_channel, _outcome)

# Live updates (realtime/). Each API process exports its own sockets.
EVENT_SOCKET_LAG = Histogram(
    "tradematch_event_socket_lag_seconds",
    "From an event's creation (in the request, before its commit) to its delivery on a live "
    "socket. Live deliveries only; replays after resume_from are not counted.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
LIVE_SOCKETS = Gauge("tradematch_live_sockets", "Live-update sockets connected to this process.")
LIVE_SOCKETS_BEHIND = Counter(
    "tradematch_live_sockets_behind_total",
    "Sockets disconnected because their client fell too far behind (close code 4000).",
)

# The garbage collector (installed by serving.settle_heap in every API process): each pass stops
# the process, so a long one delays every request and socket it holds. The passes are recorded
# by a callback the collector calls, and a callback must take no lock: the collector can run in
# the middle of anything, a metric's own update included (holding that metric's lock), which is
# why prometheus_client gave up timing the collector itself (client_python #363, #371). So the
# callback adds to plain counters, and a scrape turns them into the histogram.
GC_PAUSE_BOUNDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5)


class GcPauses(Collector):
    """``tradematch_gc_pause_seconds``: the collector's passes by generation (0 young, 2 full)
    and how long each stopped the process."""

    def __init__(self) -> None:
        self.started = 0.0
        self.sums = [0.0, 0.0, 0.0]
        # Per generation: passes no longer than each bound, then the longer ones.
        self.counts = [[0] * (len(GC_PAUSE_BOUNDS) + 1) for _ in range(3)]

    def observe(self, phase: str, info: dict[str, int]) -> None:
        # Passes do not nest and hold the interpreter lock: one start time serves every thread.
        if phase == "start":
            self.started = time.perf_counter()
            return
        paused = time.perf_counter() - self.started
        generation = info["generation"]
        self.sums[generation] += paused
        self.counts[generation][bisect.bisect_left(GC_PAUSE_BOUNDS, paused)] += 1

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "tradematch_gc_pause_seconds",
            "Passes of Python's garbage collector by generation (0 young, 2 full) and how long "
            "each stopped the process.",
            labels=["generation"],
        )
        for generation, counts in enumerate(self.counts):
            cumulative = list(itertools.accumulate(counts))
            buckets = [
                *(
                    (str(bound), count)
                    for bound, count in zip(GC_PAUSE_BOUNDS, cumulative[:-1], strict=True)
                ),
                ("+Inf", cumulative[-1]),
            ]
            family.add_metric([str(generation)], buckets, self.sums[generation])
        yield family


_GC_PAUSES: list[GcPauses] = []


def time_gc_passes() -> None:
    """Record every pass of the collector from now on, for /metrics (once per process)."""
    if _GC_PAUSES:
        return
    pauses = GcPauses()
    REGISTRY.register(pauses)
    gc.callbacks.append(pauses.observe)
    _GC_PAUSES.append(pauses)
