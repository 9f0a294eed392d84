"""The Celery side of the job layer: one thin task per registered job (ids in, the same function as the embedded
mode), acknowledged late, retried with backoff, an incident after the last attempt; beat sends `tick`.

`reviewflow worker` / `reviewflow beat` start it (after engine/bootstrap.py has registered every job).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from celery import Celery, Task
from celery.signals import worker_init, worker_process_init

from engine import jobs
from engine.core.settings import get_settings
from engine.jobs import incidents
from engine.store import db

log = logging.getLogger(__name__)
PREFIX = "reviewflow."


def _register(app: Celery, name: str) -> None:
    attempts = max(1, get_settings().job_attempts)

    @app.task(name=PREFIX + name, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=attempts - 1)
    def run(self: Task, **kwargs: Any) -> None:
        incident_id = kwargs.pop(jobs.INCIDENT_KEY, None)
        try:
            jobs.run_once(name, kwargs)
        except Exception as exc:  # noqa: BLE001
            retries = self.request.retries
            if incident_id is None and retries < attempts - 1 and not jobs.permanent(exc):
                log.warning("job %s(%s) failed on attempt %d/%d: %s", name, kwargs, retries + 1, attempts, exc)
                raise self.retry(exc=exc, countdown=jobs.backoff(retries)) from None
            incidents.failed_for_good(
                job=name, args=kwargs, error=exc, attempts=1 if incident_id else retries + 1, incident_id=incident_id
            )
            return
        if incident_id:
            incidents.retried_ok(incident_id)


@lru_cache(maxsize=4)
def make_app(broker_url: str, queue: str) -> Celery:
    s = get_settings()
    app = Celery("reviewflow", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": s.broker_visibility_timeout_s},
        worker_hijack_root_logger=False,
        beat_schedule={"reviewflow-tick": {"task": PREFIX + "tick", "schedule": s.tick_seconds}},
    )
    if not jobs.REGISTRY:
        raise RuntimeError("no jobs are registered: call engine.bootstrap.start() before starting Celery")
    for name in jobs.REGISTRY:
        _register(app, name)
    return app


def get_app() -> Celery:
    s = get_settings()
    if not s.broker_url:
        raise RuntimeError("REVIEWFLOW_BROKER_URL is not set: there is no broker to send jobs to")
    return make_app(s.broker_url, s.queue)


def send(name: str, kwargs: dict[str, Any]) -> None:
    get_app().send_task(PREFIX + name, kwargs=kwargs, queue=get_settings().queue)


@worker_init.connect
def _jobs_go_to_the_broker(**_: Any) -> None:
    """Jobs a job enqueues (a launch queues its chunks) go back to the broker, for any worker to take."""
    jobs.set_mode("celery")


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    """A forked pool process must not share the parent's database connections."""
    db.forget_connections()

