"""Settings from the environment (prefix `REVIEWFLOW_`); defaults run on one machine with nothing installed."""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REVIEWFLOW_", extra="ignore")

    database_url: str = "sqlite:///./reviewflow.db"
    broker_url: str | None = None
    secret_key: SecretStr = SecretStr("dev-only-change-me")
    max_upload_bytes: int = 5 * 1024 * 1024
    token_hours: int = 12
    script_time_budget_s: float = 2.0
    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str = "reviewflow@localhost"
    base_url: str = "http://127.0.0.1:8000"


@lru_cache
def get_settings() -> Settings:
    return Settings()
