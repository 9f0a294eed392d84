"""Settings from the environment (prefix `REVIEWFLOW_`); defaults run on one machine with nothing installed."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Webhook(BaseModel):
    """An outgoing webhook: every notification is POSTed to `url`, the body signed with HMAC-SHA256 of `secret`."""

    name: str
    url: str
    secret: SecretStr = SecretStr("")
    format: Literal["generic", "slack", "feishu", "dingtalk", "wecom"] = "generic"


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
    # jobs (engine/jobs.py, engine/celery_app.py)
    queue: str = "reviewflow"  # the Celery queue; a separate name isolates deployments sharing one broker
    job_attempts: int = 3  # runs of a failing job before it becomes an incident
    job_backoff_s: float = 2.0  # the first retry waits this long, each further one twice as long (capped at 10 min)
    lock_seconds: int = 120  # claims on launch chunks, outbox rows and enqueued timers expire after this
    tick_seconds: float = 15.0  # how often beat (or `serve`'s ticker) looks for due timers, reminders and mail
    broker_visibility_timeout_s: int = 3600  # Redis: an unacknowledged job is redelivered after this
    launch_chunk_size: int = 100  # participants started per launch job (one transaction)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    webhooks: list[Webhook] = []  # JSON in REVIEWFLOW_WEBHOOKS
    # `serve` first loads and dry-steps unfinished instances (engine/instance_check.py) and refuses to start when one
    # cannot be: "sample" checks up to `startup_check_sample` of each diagram version, "all" every one, "off" none
    startup_check: Literal["sample", "all", "off"] = "sample"
    startup_check_sample: int = 20
    # the audit chain's anchors outside the database (engine/audit_anchor.py); default: beside the SQLite file, or in
    # the working folder as reviewflow-<database name>.audit-key / .audit-checkpoints for a server database
    audit_key_file: str | None = None
    audit_checkpoint_dir: str | None = None


@lru_cache
def get_settings() -> Settings:
    return Settings()
