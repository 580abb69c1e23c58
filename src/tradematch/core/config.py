"""Configuration from the environment (prefix ``TRADEMATCH_``), validated at start."""

from __future__ import annotations

import secrets
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tradematch.core.data_dir import persisted_secret

_UNSAFE_SECRETS = {"changeme", "changethis", "secret", "dev", "test"}


def _period(seconds: float, what: str) -> Any:
    """A scheduler task's period (at least 50 ms), described as doing ``what``."""
    return Field(seconds, ge=0.05, description=f"Scheduler period: {what}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEMATCH_", extra="ignore")

    environment: Literal["development", "production"] = Field(
        "development", description="`production` refuses unsafe defaults."
    )
    database_url: str | None = Field(
        None,
        description="PostgreSQL URL (postgresql://user:pass@host:port/db). "
        "Unset: an embedded PostgreSQL is started in the data directory.",
    )
    direct_database_url: str | None = Field(
        None,
        description="PostgreSQL URL for each API process's LISTEN connection (live updates), "
        "when TRADEMATCH_DATABASE_URL goes through a transaction-mode pool such as PgBouncer, "
        "where LISTEN does not work. Unset: TRADEMATCH_DATABASE_URL.",
    )
    data_dir: Path = Field(
        default_factory=lambda: platformdirs.user_data_path("tradematch"),
        description="Where the embedded database, generated keys and the email outbox live.",
    )
    jwt_secret: SecretStr | None = Field(
        None,
        description="HMAC key for access tokens. Unset: generated once and kept in the data dir.",
    )
    checkpoint_secret: SecretStr | None = Field(
        None,
        description="HMAC-SHA256 key that signs the event log's checkpoints. Keep it outside the "
        "database. Unset: generated once and kept in the data dir.",
    )
    checkpoint_dir: Path | None = Field(
        None,
        description="Where the signed checkpoints of the event log's chain heads are written "
        "(copy them off the machine). Unset: `checkpoints` in the data dir.",
    )
    jwt_ttl_seconds: int = Field(1800, ge=60, le=86400, description="Access token lifetime.")
    login_max_attempts: int = Field(
        10,
        ge=1,
        description="Failed logins allowed per email from one client address in a window; "
        "the owner signing in from elsewhere is not affected.",
    )
    login_max_attempts_per_email: int = Field(
        100,
        ge=1,
        description="Failed logins allowed per email from all clients together in a window "
        "(the ceiling against an attack spread over many addresses).",
    )
    login_max_attempts_per_client: int = Field(
        100, ge=1, description="Failed logins allowed per client address in a window (any email)."
    )
    login_window_seconds: int = Field(300, ge=1, description="Login rate-limit window.")
    register_max_per_client: int = Field(
        20, ge=1, description="Registration attempts allowed per client address in a window."
    )
    register_window_seconds: int = Field(3600, ge=1, description="Registration rate-limit window.")
    forwarded_allow_ips: str | None = Field(
        None,
        description="Comma-separated addresses (or CIDR networks, or *) of the reverse proxies "
        "whose X-Forwarded-For / X-Forwarded-Proto headers are believed. Unset: none is; the "
        "client is the peer address of the connection.",
    )
    max_open_leads: int = Field(5, ge=1, le=50, description="Open leads kept per live job.")
    lead_ttl_hours: int = Field(72, ge=1, description="An offered lead expires after this.")
    job_ttl_hours: int = Field(72, ge=1, description="A live job with no accepted lead expires.")
    lead_base_price_pence: dict[str, int] = Field(
        default_factory=dict,
        description='Lead price overrides per trade in pence, JSON: {"Plumbing": 1500}.',
    )
    lead_urgency_percent: dict[str, int] = Field(
        default_factory=dict,
        description='Lead price multipliers per timeframe in percent, JSON: {"urgent": 150}.',
    )
    payment_provider: Literal["sandbox"] = Field(
        "sandbox", description="Payment provider; `sandbox` is a wallet inside the ledger."
    )
    sandbox_wallet_cap_pence: int = Field(
        100_000_000,
        ge=1,
        description="A sandbox top-up may not take a wallet above this many pence (£1,000,000).",
    )
    milestone_auto_approve_days: int = Field(
        14, ge=1, description="A submitted milestone left unanswered this long is approved."
    )
    idempotency_ttl_hours: int = Field(24, ge=1, description="How long idempotency keys are kept.")
    job_auto_close_days: int = Field(
        14, ge=1, description="A completed job closes by itself this many days after completion."
    )
    scheduler_batch_size: int = Field(
        100, ge=1, le=10_000, description="Due items a scheduler sweep reads at a time."
    )
    scheduler_job_expiry_seconds: float = _period(60, "expire live jobs nobody engaged with.")
    scheduler_lead_expiry_seconds: float = _period(
        30, "expire unanswered leads (and offer others)."
    )
    scheduler_lead_top_up_seconds: float = _period(300, "top live jobs up to the open-lead target.")
    scheduler_milestone_approval_seconds: float = _period(
        300, "approve milestones left unanswered."
    )
    scheduler_auto_close_seconds: float = _period(300, "close jobs completed long enough ago.")
    scheduler_checkpoint_seconds: float = _period(
        300, "write a signed checkpoint of every event chain head that moved since the last one."
    )
    scheduler_housekeeping_seconds: float = _period(
        3600, "purge expired idempotency keys, old login attempts and old denial counts."
    )
    clock_offset_seconds: float = Field(
        0,
        description="Development and tests only: shift this process's service clock (the "
        "scheduler's `now` and every timestamp it writes). Refused in production.",
    )
    denial_flush_seconds: float = Field(
        5, ge=0.05, description="How often each process writes its 401/403/404 counts per actor."
    )
    denial_retention_days: int = Field(
        30, ge=1, description="How long per-actor denial counts are kept."
    )
    # Live updates: the WebSocket hub of each API process (realtime/hub.py).
    ws_heartbeat_seconds: float = Field(
        15,
        ge=0.05,
        le=300,
        description='Live-update socket: a {"type": "heartbeat"} message is sent after this '
        "long without other messages (also the pace of token-expiry and account checks).",
    )
    ws_poll_seconds: float = Field(
        1,
        ge=0.05,
        le=60,
        description="Live updates: besides waking on LISTEN/NOTIFY, the hub reads new events "
        "this often (a NOTIFY can be dropped) and retries a lost listener connection.",
    )
    ws_queue_size: int = Field(
        1000,
        ge=8,
        le=100_000,
        description="Live updates: messages queued per socket. A client further behind is "
        "disconnected with close code 4000 and should reconnect with resume_from.",
    )
    max_body_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="Largest request body accepted (JSON and any other non-upload body), in "
        "bytes; a larger one is refused with 413 BODY_TOO_LARGE before it is parsed.",
    )
    ws_max_sockets_per_user: int = Field(
        10,
        ge=1,
        le=1000,
        description="Live-update sockets one user may hold open on one process; opening "
        "another closes that user's oldest with close code 4001.",
    )
    # The HTTP server (uvicorn) of `tradematch serve`.
    http_header_timeout_seconds: float = Field(
        10,
        gt=0,
        le=300,
        description="A connection whose request line and headers are not complete this long "
        "after it opened (or after its previous response) is closed.",
    )
    http_max_header_bytes: int = Field(
        64 * 1024,
        ge=4096,
        le=1024 * 1024,
        description="Largest request line and headers, in bytes; larger: 431 and the "
        "connection closed.",
    )
    http_body_timeout_seconds: float = Field(
        30,
        gt=0,
        le=600,
        description="A request body that stops arriving for this long (its head complete) is "
        "answered 408 and its connection closed.",
    )
    http_keep_alive_seconds: int = Field(
        5, ge=1, le=300, description="An idle keep-alive connection is closed after this long."
    )
    http_max_connections: int = Field(
        2000,
        ge=1,
        description="Open connections (HTTP and WebSocket) one process serves; past it, new "
        "requests are answered 503.",
    )
    http_shutdown_grace_seconds: int = Field(
        15,
        ge=1,
        le=600,
        description="On a stop signal, requests still in flight this long after it are "
        "cancelled, so a client that never finishes sending a request cannot hold the stop open.",
    )
    gc_thresholds: Annotated[tuple[int, int, int], NoDecode] = Field(
        (10_000, 20, 20),
        description="The garbage collector's thresholds in each API process, as "
        "gc.set_threshold takes them: young, middle, old (Python's own: 700,10,10). The young "
        "one at least 100.",
    )
    # Uploads (uploads/): photos and PDFs attached to jobs, messages and milestone evidence.
    upload_max_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        le=1024 * 1024 * 1024,
        description="Largest upload accepted, in bytes (a larger body is cut off with 413).",
    )
    upload_max_pixels: int = Field(
        40_000_000,
        ge=1,
        le=89_000_000,
        description="Largest image accepted, in pixels (width x height); refuses "
        "decompression bombs before decoding. At most Pillow's own bomb threshold.",
    )
    upload_url_ttl_seconds: int = Field(
        600,
        ge=30,
        le=86_400,
        description="Life of the signed upload links in API responses (rounded up to the next "
        "five minutes).",
    )
    db_pool_size: int = Field(
        20,
        ge=1,
        le=200,
        description="Database connections per API process, at most: opened as needed, then kept.",
    )
    workers: int | None = Field(
        None,
        ge=1,
        le=256,
        description="API processes `tradematch serve` runs on one port (`--workers` wins). "
        "Unset: one per CPU.",
    )
    log_level: str = Field("INFO", description="Python log level name.")
    log_json: bool = Field(True, description="JSON logs (false: human-readable console logs).")
    # Notifications: the outbox dispatcher (`tradematch worker`, or inside `serve`) and channels.
    notify_max_attempts: int = Field(
        8, ge=1, le=100, description="Delivery attempts before a notification is parked as dead."
    )
    notify_backoff_base_seconds: float = Field(
        5, gt=0, description="Retry delay after a failed delivery; doubles per attempt, jittered."
    )
    notify_backoff_max_seconds: float = Field(
        3600, gt=0, description="Upper bound of the retry delay."
    )
    notify_lease_seconds: float = Field(
        60,
        gt=0,
        description="How long a claimed notification stays reserved for its worker; after that "
        "(the worker died) another worker delivers it. Must exceed the send timeout.",
    )
    notify_send_timeout_seconds: float = Field(
        20, gt=0, description="Timeout of one email or web push delivery."
    )
    notify_concurrency: int = Field(
        10, ge=1, le=500, description="Deliveries one worker process runs at once."
    )
    notify_poll_seconds: float = Field(
        1.0, gt=0, description="How often an idle dispatcher looks for due notifications."
    )
    smtp_host: str | None = Field(
        None,
        description="SMTP server for email notifications. Unset: each email is written as an "
        ".eml file to <data dir>/outbox/.",
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    smtp_username: str | None = Field(None, description="SMTP login (optional).")
    smtp_password: SecretStr | None = Field(None, description="SMTP password (optional).")
    smtp_from: str = Field(
        "TradeMatch <notifications@tradematch.local>",
        description="From address of notification emails.",
    )
    smtp_starttls: bool = Field(
        False, description="Upgrade the SMTP connection with STARTTLS (and fail without it)."
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="Where users reach this service (scheme, host, optional path; no trailing "
        "slash needed): the links in notification emails, to the dashboards and to unsubscribe.",
    )
    vapid_private_key: SecretStr | None = Field(
        None,
        description="Web push VAPID private key (base64url, raw or DER). Unset: generated once "
        "and kept in the data dir.",
    )
    vapid_subject: str = Field(
        "mailto:notifications@tradematch.local",
        description="VAPID contact (a mailto: or https: URL) given to push services.",
    )
    push_ttl_seconds: int = Field(
        86400, ge=0, le=2_419_200, description="How long a push service keeps an undelivered push."
    )
    push_allow_private_networks: bool = Field(
        False,
        description="Development and tests only: let web push reach endpoints on loopback and "
        "private networks (a local push service). Off, an endpoint whose host is or resolves to "
        "a non-public address is refused when subscribing and never connected to. Refused in "
        "production.",
    )

    @field_validator("gc_thresholds", mode="before")
    @classmethod
    def _parse_gc_thresholds(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(","))
        return value

    @field_validator("gc_thresholds")
    @classmethod
    def _check_gc_thresholds(cls, value: tuple[int, int, int]) -> tuple[int, int, int]:
        # A young threshold of 0 would turn the collector off; a tiny one runs it all the time.
        if value[0] < 100 or value[1] < 1 or value[2] < 1:
            raise ValueError(
                "TRADEMATCH_GC_THRESHOLDS: three whole numbers, the first at least 100, "
                "the others at least 1 (Python's own: 700,10,10)"
            )
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        public = urlsplit(value)
        if public.scheme not in ("http", "https") or not public.hostname:
            raise ValueError("TRADEMATCH_PUBLIC_URL must be an http(s) URL with a host")
        if public.query or public.fragment:
            raise ValueError("TRADEMATCH_PUBLIC_URL takes no query or fragment")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check_notification_settings(self) -> Settings:
        if self.notify_lease_seconds <= self.notify_send_timeout_seconds:
            raise ValueError(
                "TRADEMATCH_NOTIFY_LEASE_SECONDS must exceed TRADEMATCH_NOTIFY_SEND_TIMEOUT_SECONDS"
            )
        if "@" not in parseaddr(self.smtp_from)[1]:
            raise ValueError("TRADEMATCH_SMTP_FROM needs an email address")
        if not self.vapid_subject.startswith(("mailto:", "https://")):
            raise ValueError("TRADEMATCH_VAPID_SUBJECT must be a mailto: or https: URL")
        if self.vapid_private_key is not None:
            from py_vapid import Vapid02

            try:
                Vapid02.from_string(self.vapid_private_key.get_secret_value())
            except Exception:
                raise ValueError("TRADEMATCH_VAPID_PRIVATE_KEY is not a P-256 key") from None
        if self.environment == "production" and self.vapid_private_key is None:
            # A key generated per machine would differ between the API (which hands it to
            # browsers) and the workers (which sign with it).
            raise ValueError("production needs TRADEMATCH_VAPID_PRIVATE_KEY")
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            if self.database_url is None:
                raise ValueError("production needs TRADEMATCH_DATABASE_URL")
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
            if len(secret) < 32 or secret.lower() in _UNSAFE_SECRETS:
                raise ValueError("production needs TRADEMATCH_JWT_SECRET of 32+ characters")
            if self.clock_offset_seconds:
                raise ValueError("production refuses TRADEMATCH_CLOCK_OFFSET_SECONDS")
            if self.push_allow_private_networks:
                raise ValueError("production refuses TRADEMATCH_PUSH_ALLOW_PRIVATE_NETWORKS")
        return self

    def signing_key(self) -> str:
        """The JWT key: configured, or generated once and persisted beside the data."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return persisted_secret(self.data_dir, "jwt_secret", lambda: secrets.token_urlsafe(48))

    def checkpoint_key(self) -> bytes:
        """The checkpoint signing key: configured, or generated once and kept in the data dir."""
        if self.checkpoint_secret is not None:
            return self.checkpoint_secret.get_secret_value().encode()
        return persisted_secret(
            self.data_dir, "checkpoint_secret", lambda: secrets.token_urlsafe(48)
        ).encode()

    def checkpoints_path(self) -> Path:
        return self.checkpoint_dir or self.data_dir / "checkpoints"


@lru_cache
def get_settings() -> Settings:
    return Settings()
