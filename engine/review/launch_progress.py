"""The launch progress bar of `reviewflow cycle launch` (rich), polling the same figures as GET /api/cycles/{id}."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from engine import jobs
from engine.review import cycles, launch
from engine.store import db

STALL_HINT_S = 15.0


def show(cycle_id: int, *, console: Console, poll_s: float = 0.25) -> None:
    """Draw started/total until the cycle leaves `launching` (or, in-process, the job queue is empty); hint at a
    missing worker if nothing moves."""
    columns = (
        TextColumn("[bold]launching"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
    )
    last_change, last_started, hinted = time.monotonic(), -1, False
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("launch", total=None, failed=0)
        while True:
            with db.new_session() as s:
                status = cycles.get_cycle(s, cycle_id).status
                p = launch.progress(s, cycle_id)
            bar.update(task, total=p["total"] or None, completed=p["started"], failed=p["failed"])
            if status != "launching" and (jobs.mode() != "thread" or jobs.wait_idle(0)):
                break
            if jobs.mode() == "thread" and jobs.wait_idle(0):
                break  # in-process and nothing left to run: the launch failed (see `reviewflow` incidents)
            if p["started"] != last_started:
                last_change, last_started = time.monotonic(), p["started"]
            elif not hinted and time.monotonic() - last_change > STALL_HINT_S:
                console.print("No progress yet: is `reviewflow worker` running for this broker and queue?")
                hinted = True
            time.sleep(poll_s)
    console.print(f"launched: {p['started']} of {p['total']} started, {p['failed']} could not be started")
