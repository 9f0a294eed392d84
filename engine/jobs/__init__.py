"""Background jobs: the queue (enqueue after commit, dispatch inline, on a thread or through Celery), the Celery
app, and incidents (a job that failed for good, waiting for HR).

The public face is below; `from engine import jobs` then `@jobs.job`, `jobs.enqueue(...)`."""

from engine.jobs.queue import (
    INCIDENT_KEY,
    REGISTRY,
    backoff,
    default_mode,
    dispatch,
    enqueue,
    enqueue_batched,
    job,
    mode,
    permanent,
    run_once,
    set_mode,
    wait_idle,
)

__all__ = [
    "INCIDENT_KEY",
    "REGISTRY",
    "backoff",
    "default_mode",
    "dispatch",
    "enqueue",
    "enqueue_batched",
    "job",
    "mode",
    "permanent",
    "run_once",
    "set_mode",
    "wait_idle",
]
