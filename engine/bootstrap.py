"""The composition root: the one module that knows every feature. Importing it imports each module that registers
jobs (`@jobs.job`) or kernel hooks (engine/process/hooks.py); `start()` then gives the job queue its runner and
its Celery sender. The API app, the CLI, the workers and the tests call `start()` when they start; nothing in the
kernel looks its features up by name."""

from __future__ import annotations

from typing import Any

from engine import jobs
from engine.calibration import lifecycle as _calibration  # noqa: F401 - jobs, message handler, record projectors
from engine.calibration import view as _calibration_view  # noqa: F401 - the `calibration_view` form context
from engine.jobs import celery_app, queue, runner
from engine.notify import outbox as _outbox  # noqa: F401 - the send_outbox job
from engine.ops import migrate as _migrate  # noqa: F401 - the migrate_instances job
from engine.process import hooks
from engine.process import timers as _timers  # noqa: F401 - the tick and fire_timer jobs
from engine.review import cycle_edit as _cycle_edit  # noqa: F401 - the check_cycle_settings job
from engine.review import feedback as _feedback  # noqa: F401 - the `feedback_summary` form context
from engine.review import launch as _launch  # noqa: F401 - launch jobs, stale chunks on every tick
from engine.review import records as _records  # noqa: F401 - the review record projectors
from engine.review import reminders as _reminders  # noqa: F401 - the send_reminders job


def start() -> None:
    """Wire the job queue (idempotent; every entry point calls it)."""
    queue.install(runner=runner.run_with_retries, celery_send=celery_app.send)


def registered() -> dict[str, Any]:
    """What is plugged in, for `reviewflow check` and the tests: job names and hook names."""
    return {
        "jobs": sorted(jobs.REGISTRY),
        "record_projectors": sorted(hooks.record_projectors),
        "context_providers": sorted(hooks.context_providers),
        "message_handlers": sorted(hooks.message_handlers),
        "preflight_notes": sorted(hooks.preflight_notes),
        "tick_work": sorted(hooks.tick_work),
    }
