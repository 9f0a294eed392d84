"""Background jobs. A job is a plain function taking ids; it is enqueued inside a transaction and dispatched only
after that transaction commits (a rolled-back transaction enqueues nothing).

Modes: `inline` runs each job right after the commit in the caller's thread (CLI, tests); `thread` hands it to the
in-process worker that `reviewflow serve` starts when no broker is configured. The Celery mode plugs in here.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from engine import db

log = logging.getLogger(__name__)
REGISTRY: dict[str, Callable[..., Any]] = {}
_mode = "inline"
_queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
_worker: threading.Thread | None = None


def job(fn: Callable[..., Any]) -> Callable[..., Any]:
    REGISTRY[fn.__name__] = fn
    return fn


def set_mode(mode: str) -> None:
    global _mode
    if mode not in ("inline", "thread"):
        raise ValueError(mode)
    _mode = mode
    if mode == "thread":
        _start_worker()


def enqueue(session: Session, name: str, **kwargs: Any) -> None:
    """Queue a job to run after `session`'s current transaction commits."""
    if name not in REGISTRY:
        raise KeyError(f"unknown job {name}")
    pending = session.info.setdefault("rf_jobs", [])
    pending.append((name, kwargs))
    if not session.info.get("rf_jobs_hooked"):
        session.info["rf_jobs_hooked"] = True
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", _after_rollback)


def _after_commit(session: Session) -> None:
    pending, session.info["rf_jobs"] = session.info.get("rf_jobs", []), []
    for name, kwargs in pending:
        if _mode == "thread":
            _queue.put((name, kwargs))
        else:
            _run(name, kwargs)


def _after_rollback(session: Session, _previous: Any) -> None:
    session.info["rf_jobs"] = []


def _run(name: str, kwargs: dict[str, Any]) -> None:
    session = db.new_session()
    try:
        REGISTRY[name](session, **kwargs)
    except Exception:
        log.exception("job %s(%s) failed", name, kwargs)
    finally:
        session.close()


def _start_worker() -> None:
    global _worker
    if _worker is not None and _worker.is_alive():
        return

    def loop() -> None:
        while True:
            item = _queue.get()
            if item is None:
                break
            _run(*item)
            _queue.task_done()

    _worker = threading.Thread(target=loop, name="reviewflow-jobs", daemon=True)
    _worker.start()
