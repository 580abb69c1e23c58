"""Prometheus metrics (exposed at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
