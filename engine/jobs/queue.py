"""Background jobs. A job is a plain function taking ids; it is enqueued inside a transaction and dispatched only
after that transaction commits (a rolled-back transaction enqueues nothing).

Modes, one code path: `inline` runs each job right after the commit in the caller's thread (tests, seeding);
`thread` hands it to the in-process worker that `reviewflow serve` starts when no broker is configured; `celery`
sends it to the broker (`REVIEWFLOW_BROKER_URL`) for `reviewflow worker` (engine/jobs/celery_app.py). In every mode a
failing job is retried with backoff and, after `job_attempts` runs, becomes an incident (engine/jobs/incidents.py).

The queue knows no runner: `install()` gives it one for the embedded modes (engine/jobs/runner.py) and a sender for
Celery; the composition root (engine/bootstrap.py) calls it at start, after importing every module with jobs.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from engine.core.errors import Unrepeatable
from engine.core.settings import get_settings
from engine.store import db

log = logging.getLogger(__name__)
REGISTRY: dict[str, Callable[..., Any]] = {}
INCIDENT_KEY = "_incident_id"  # set when HR resolves an incident: this run is the one retry
MODES = ("inline", "thread", "celery")
_mode = "inline"
_queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
_worker: threading.Thread | None = None
Runner = Callable[[str, dict[str, Any]], None]
_runner: Runner | None = None  # runs a job with retries, then an incident (engine/jobs/runner.py)
_celery_send: Runner | None = None  # sends a job to the broker (engine/jobs/celery_app.py)


def install(*, runner: Runner, celery_send: Runner | None = None) -> None:
    """Give the queue what runs its jobs (called once at start by engine/bootstrap.py)."""
    global _runner, _celery_send
    _runner, _celery_send = runner, celery_send


def _run(name: str, kwargs: dict[str, Any]) -> None:
    if _runner is None:
        raise RuntimeError("the job queue has no runner: call engine.bootstrap.start() when the process starts")
    _runner(name, kwargs)


F = TypeVar("F", bound=Callable[..., Any])


def job(fn: F) -> F:
    REGISTRY[fn.__name__] = fn
    return fn


def mode() -> str:
    return _mode


def set_mode(new_mode: str) -> None:
    global _mode
    if new_mode not in MODES:
        raise ValueError(new_mode)
    _mode = new_mode
    if new_mode == "thread":
        _start_worker()


def default_mode(embedded: str = "thread") -> str:
    """`celery` when a broker is configured, else `embedded`; sets and returns it."""
    set_mode("celery" if get_settings().broker_url else embedded)
    return _mode


def enqueue(session: Session, name: str, **kwargs: Any) -> None:
    """Queue a job to run after `session`'s current transaction commits."""
    if name not in REGISTRY:
        raise KeyError(f"unknown job {name} (is its module imported by engine/bootstrap.py?)")
    pending = session.info.setdefault("rf_jobs", [])
    pending.append((name, kwargs))
    if not session.info.get("rf_jobs_hooked"):
        session.info["rf_jobs_hooked"] = True
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", _after_rollback)


def enqueue_batched(session: Session, name: str, field: str, value: Any) -> None:
    """Add `value` to the list argument `field` of this transaction's pending `name` job: one job per commit."""
    for pending_name, kwargs in session.info.get("rf_jobs", []):
        if pending_name == name:
            kwargs[field].append(value)
            return
    enqueue(session, name, **{field: [value]})


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the real commit is still to come
    pending, session.info["rf_jobs"] = session.info.get("rf_jobs", []), []
    for name, kwargs in pending:
        dispatch(name, kwargs)


def _after_rollback(session: Session, previous: Any) -> None:
    if getattr(previous, "nested", False):
        return  # a savepoint: its jobs find nothing to do (every job re-reads by id), the rest must still run
    session.info["rf_jobs"] = []


def dispatch(name: str, kwargs: dict[str, Any]) -> None:
    """Hand a job to the current mode's runner now (outside any transaction)."""
    if _mode == "celery":
        if _celery_send is None:
            raise RuntimeError("no Celery sender installed: call engine.bootstrap.start() when the process starts")
        _celery_send(name, kwargs)
    elif _mode == "thread":
        _queue.put((name, kwargs))
    else:
        _run(name, kwargs)


def backoff(retries_so_far: int) -> float:
    return float(min(get_settings().job_backoff_s * (2**retries_so_far), 600.0))


def run_once(name: str, kwargs: dict[str, Any]) -> None:
    """Run a job in a fresh session; exceptions propagate (the caller retries or records an incident)."""
    session = db.new_session()
    try:
        REGISTRY[name](session, **kwargs)
    finally:
        session.close()


def permanent(exc: BaseException) -> bool:
    """A failure a retry would only repeat (engine/core/errors.py `Unrepeatable`: a workflow step that failed, code
    the sandbox stopped): it becomes an incident at once instead of running the same code `job_attempts` times."""
    return isinstance(exc, Unrepeatable)


def _start_worker() -> None:
    global _worker
    if _worker is not None and _worker.is_alive():
        return

    def loop() -> None:
        while True:
            item = _queue.get()
            if item is None:
                break
            try:
                _run(*item)
            except Exception:  # the worker thread must survive anything
                log.exception("job %s crashed the runner", item[0])
            _queue.task_done()

    _worker = threading.Thread(target=loop, name="reviewflow-jobs", daemon=True)
    _worker.start()


def wait_idle(timeout: float = 60.0) -> bool:
    """Thread mode: block until the in-process queue is drained (tests and the CLI); True when it is."""
    deadline = time.monotonic() + timeout
    while _queue.unfinished_tasks:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True
