"""Fixtures for the job layer: a real Redis broker (a missing one fails in CI), real `reviewflow worker`
subprocesses on a queue of their own, a local SMTP server, and polling with a deadline instead of sleeping."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from engine import jobs
from engine.core.settings import get_settings
from tests.conftest import IN_CI

REDIS_URL = os.environ.get("REVIEWFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("REVIEWFLOW_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
FAST = {  # short claims and backoff so crash and retry tests finish in seconds
    "REVIEWFLOW_LOCK_SECONDS": "3",
    "REVIEWFLOW_JOB_BACKOFF_S": "0.2",
    "REVIEWFLOW_TICK_SECONDS": "1",
    "REVIEWFLOW_BROKER_VISIBILITY_TIMEOUT_S": "20",
}


def wait_for(check: Callable[[], Any], *, timeout: float = 90.0, every: float = 0.1, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last: {value!r})")
        time.sleep(every)


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        message = f"Redis is not reachable at {REDIS_URL}: {exc.__class__.__name__}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return REDIS_URL


@pytest.fixture(scope="session")
def amqp_url() -> str:
    from kombu import Connection

    try:
        with Connection(AMQP_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001
        message = f"RabbitMQ is not reachable at {AMQP_URL}: {exc.__class__.__name__}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return AMQP_URL


@dataclass
class Workers:
    env: dict[str, str]
    log_dir: Path
    procs: list[subprocess.Popen] = field(default_factory=list)

    def start(self, *, beat: bool = False) -> subprocess.Popen:
        exe = shutil.which("reviewflow", path=str(Path(sys.executable).parent)) or "reviewflow"
        args = [exe, "worker", "--pool", "solo", "--concurrency", "1"] + (["--beat"] if beat else [])
        log = open(self.log_dir / f"worker-{len(self.procs)}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def kill9(self, proc: subprocess.Popen) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.log_dir.glob("worker-*.log")))

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _broker_env(broker: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, str]]:
    """Send this process's jobs to `broker` on a queue of its own (parallel test runs do not steal each other's)."""
    queue = f"rf-test-{uuid.uuid4().hex[:10]}"
    env = {"REVIEWFLOW_BROKER_URL": broker, "REVIEWFLOW_QUEUE": queue, **FAST}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    jobs.set_mode("celery")
    return queue, {**os.environ, **env}


@pytest.fixture
def celery_env(db_engine: Engine, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Jobs go to Redis."""
    import redis

    queue, env = _broker_env(redis_url, monkeypatch)
    yield env
    jobs.set_mode("inline")
    redis.Redis.from_url(redis_url).delete(queue)


@pytest.fixture
def rabbit_workers(db_engine: Engine, amqp_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Worker processes on RabbitMQ instead of Redis; the queue is deleted afterwards."""
    from kombu import Connection

    queue, env = _broker_env(amqp_url, monkeypatch)
    w = Workers(env=env, log_dir=tmp_path)
    yield w
    w.stop()
    jobs.set_mode("inline")
    with Connection(amqp_url, connect_timeout=2) as conn:
        conn.default_channel.queue_delete(queue)


@pytest.fixture
def workers(celery_env: dict[str, str], tmp_path: Path) -> Iterator[Workers]:
    w = Workers(env=celery_env, log_dir=tmp_path)
    yield w
    w.stop()


@dataclass
class Mailbox:
    messages: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A local aiosmtpd server; REVIEWFLOW_SMTP_HOST/PORT point at it."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("REVIEWFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("REVIEWFLOW_SMTP_PORT", str(port))
    get_settings.cache_clear()
    yield box
    controller.stop()
