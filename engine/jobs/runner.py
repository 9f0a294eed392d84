"""The embedded job runner (inline and thread modes): up to `job_attempts` runs with backoff, then an incident; a
run that HR started by resolving an incident is the one retry. Installed into the queue by engine/bootstrap.py."""

from __future__ import annotations

import logging
import time
from typing import Any

from engine.core.settings import get_settings
from engine.jobs import incidents, queue

log = logging.getLogger(__name__)


def run_with_retries(name: str, kwargs: dict[str, Any]) -> None:
    """The embedded runner: up to `job_attempts` runs with backoff, then an incident (a resolve retries once)."""
    args = dict(kwargs)
    incident_id = args.pop(queue.INCIDENT_KEY, None)
    attempts = 1 if incident_id else max(1, get_settings().job_attempts)
    for attempt in range(1, attempts + 1):
        try:
            queue.run_once(name, args)
        except Exception as exc:  # noqa: BLE001 - any failure counts; the last one is kept on the incident
            log.warning("job %s(%s) failed on attempt %d/%d: %s", name, args, attempt, attempts, exc)
            if attempt == attempts or queue.permanent(exc):
                incidents.failed_for_good(job=name, args=args, error=exc, attempts=attempt, incident_id=incident_id)
                return
            time.sleep(queue.backoff(attempt - 1))
        else:
            if incident_id:
                incidents.retried_ok(incident_id)
            return
