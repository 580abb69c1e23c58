"""Configuration from the environment (prefix ``TRADEMATCH_``), validated at start."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_UNSAFE_SECRETS = {"changeme", "changethis", "secret", "dev", "test"}


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
    data_dir: Path = Field(
        default_factory=lambda: platformdirs.user_data_path("tradematch"),
        description="Where the embedded database, generated keys and the email outbox live.",
    )
    jwt_secret: SecretStr | None = Field(
        None,
        description="HMAC key for access tokens. Unset: generated once and kept in the data dir.",
    )
    jwt_ttl_seconds: int = Field(1800, ge=60, le=86400, description="Access token lifetime.")
    login_max_attempts: int = Field(
        10, ge=1, description="Failed logins allowed per email in a window."
    )
    login_max_attempts_per_client: int = Field(
        100, ge=1, description="Failed logins allowed per client address in a window (any email)."
    )
    login_window_seconds: int = Field(300, ge=1, description="Login rate-limit window.")
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
    idempotency_ttl_hours: int = Field(24, ge=1, description="How long idempotency keys are kept.")
    db_pool_size: int = Field(10, ge=1, le=200, description="Connections per process.")
    log_level: str = Field("INFO", description="Python log level name.")
    log_json: bool = Field(True, description="JSON logs (false: human-readable console logs).")

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            if self.database_url is None:
                raise ValueError("production needs TRADEMATCH_DATABASE_URL")
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
            if len(secret) < 32 or secret.lower() in _UNSAFE_SECRETS:
                raise ValueError("production needs TRADEMATCH_JWT_SECRET of 32+ characters")
        return self

    def signing_key(self) -> str:
        """The JWT key: configured, or generated once and persisted beside the data."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        path = self.data_dir / "jwt_secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"jwt_secret.{secrets.token_hex(4)}.tmp")
            tmp.write_text(secrets.token_urlsafe(48))
            tmp.chmod(0o600)
            try:  # link() fails if another process won the race; then use its key
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
