"""Settings from the environment (prefix `REVIEWFLOW_`); defaults run on one machine with nothing installed."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Positive = Annotated[int, Field(gt=0)]


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
    # signs the page session cookies; unset, a key is generated once and kept in `secret_key_file` (default: beside
    # the SQLite database, `<database>.secret`; ./reviewflow.secret for PostgreSQL), mode 0600 (store/secret_key.py)
    secret_key: SecretStr | None = None
    secret_key_file: str | None = None
    max_upload_bytes: int = 5 * 1024 * 1024
    # forms (forms/limits.py): defaults for text fields without `maxLength` and lists without `maxItems`, injected
    # into the schema served for a task and validated on submit; a draft or an answer over `form_max_bytes` of UTF-8
    # JSON is refused with 413; a request body other than an upload over `max_body_bytes` too
    form_max_length: int = 10_000
    form_max_items: int = 200
    form_max_bytes: int = 1024 * 1024
    max_body_bytes: int = 8 * 1024 * 1024  # room for the modeler's JSON with a 5 MB diagram in it
    # sign-in (engine/org/accounts.py, engine/org/signin.py, engine/org/tokens.py)
    token_hours: Positive = 12  # a sign-in lasts this long: a web session or a `POST /api/auth/token` token
    api_token_hours: Positive = 24 * 30  # default lifetime of `reviewflow token create`
    token_max_hours: Positive = 24 * 365  # no token may be issued for longer
    signin_max_failures: Positive = 5  # failed sign-ins per email within the window before it is locked
    signin_max_failures_per_address: Positive = 20  # ... and per client address (all emails together)
    signin_window_minutes: Positive = 15  # failures older than this no longer count
    # password sign-in (`POST /login`, `POST /api/auth/token`); off, people sign in through the identity provider only
    password_signin: bool = True
    # sign-in through the company's identity provider, OpenID Connect (engine/org/oidc.py, README): on when the issuer
    # and the client id are set; the redirect URI to register there is <base_url>/login/oidc/callback
    oidc_issuer: str | None = None  # e.g. https://login.microsoftonline.com/<tenant>/v2.0
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid email profile"
    oidc_display_name: str = "single sign-on"  # the login page offers "Sign in with <display name>"
    oidc_email_claim: str = "email"  # the claim matched to the org chart's email
    oidc_require_verified_email: bool = True  # False: trust a token without `email_verified` (never one saying false)
    oidc_groups_claim: str | None = None  # e.g. "groups"; with oidc_group_roles, roles follow the provider's groups
    oidc_group_roles: dict[str, list[str]] = {}  # JSON: {"hr-team": ["hr_admin"], "audit": ["auditor"]}
    script_time_budget_s: float = 2.0  # each script, condition, formula or instructions template (bpmn/sandbox.py)
    sandbox_workers: int = 2  # worker processes per server process that run author code (bpmn/sandbox_worker.py)
    sandbox_memory_mb: int = 512  # address-space limit of each sandbox worker
    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str = "reviewflow@localhost"
    base_url: str = "http://127.0.0.1:8000"
    # `serve` believes X-Forwarded-Proto/-For only from these addresses (comma-separated IPs or networks, "*" for
    # any), so the session cookie is `Secure` exactly when the browser's side is https. None: uvicorn's own
    # FORWARDED_ALLOW_IPS, else 127.0.0.1 and ::1.
    trusted_proxies: str | None = None
    # jobs (engine/jobs/queue.py, engine/jobs/celery_app.py)
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
    # `serve` first loads and dry-steps unfinished instances (process/instance_check.py) and refuses to start when one
    # cannot be: "sample" checks up to `startup_check_sample` of each diagram version, "all" every one, "off" none
    startup_check: Literal["sample", "all", "off"] = "sample"
    startup_check_sample: int = 20
    # PostgreSQL connection pool (store/db.py). Each API request thread holds one connection while it runs, so the
    # default pool is one connection per thread (`threads`) plus the job thread, the ticker and two spare; a request
    # that still finds no free connection within `db_pool_timeout_s` answers 503 with Retry-After, never waits 30 s.
    threads: int = 40  # the API's worker threads (sync routes run there; anyio's default)
    db_pool_size: int | None = None  # None: threads + 4
    db_max_overflow: int = 0
    db_pool_timeout_s: float = 3.0
    retry_after_s: int = 2  # the Retry-After of a 503 when the database is busy

    @property
    def pool_size(self) -> int:
        return self.db_pool_size if self.db_pool_size is not None else self.threads + 4

    # the audit chain's anchors outside the database (engine/audit/anchor.py); default: beside the SQLite file, or in
    # the working folder as reviewflow-<database name>.audit-key / .audit-checkpoints for a server database
    audit_key_file: str | None = None
    audit_checkpoint_dir: str | None = None


@lru_cache
def get_settings() -> Settings:
    return Settings()
