"""A database under pressure answers 503 with Retry-After at once, never a 500 after 30 s, and loses nothing:
PostgreSQL with a one-connection pool, concurrent submissions of the same tasks."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from engine import jobs
from engine.core.settings import get_settings
from engine.store import db
from engine.store.models import AuditEvent, Task
from tests.api.test_tasks_api import EMPLOYEE, GOOD, OTHER, world  # noqa: F401 - the fixture

pytestmark = pytest.mark.pg_only


POOL = 2


@pytest.fixture
def tiny_pool(world, monkeypatch):  # noqa: F811 - the imported fixture
    """A two-connection pool that waits 0.2 s, and jobs on their own thread as under `reviewflow serve`."""
    monkeypatch.setenv("REVIEWFLOW_DB_POOL_SIZE", str(POOL))
    monkeypatch.setenv("REVIEWFLOW_DB_MAX_OVERFLOW", "0")
    monkeypatch.setenv("REVIEWFLOW_DB_POOL_TIMEOUT_S", "0.2")
    monkeypatch.setenv("REVIEWFLOW_JOB_BACKOFF_S", "0.01")
    get_settings.cache_clear()
    engine = db.get_engine()
    jobs.set_mode("thread")
    yield engine
    jobs.wait_idle()
    jobs.set_mode("inline")
    engine.dispose()


def busy(r: Any) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == str(get_settings().retry_after_s)
    assert r.json()["error"] == "busy" and "try again" in r.json()["detail"]


def test_no_free_connection_answers_503_with_retry_after_and_changes_nothing(client, world, tiny_pool, session):  # noqa: F811
    task_id = world["task"]["id"]
    with tiny_pool.connect(), tiny_pool.connect():  # every connection of the pool is taken
        busy(client.get("/api/tasks", headers=world["who"][EMPLOYEE]))
        busy(client.post(f"/api/tasks/{task_id}/complete", headers=world["who"][EMPLOYEE], json={"data": GOOD}))
    session.expire_all()
    assert session.get(Task, task_id).status == "open"
    r = client.post(f"/api/tasks/{task_id}/complete", headers=world["who"][EMPLOYEE], json={"data": GOOD})
    assert r.status_code == 200, r.text


def test_concurrent_submissions_get_only_200_409_503_and_nothing_is_lost(client, world, tiny_pool, session):  # noqa: F811
    who = world["who"]
    tasks = {
        email: client.get("/api/tasks", headers=who[email]).json()["items"][0]["id"] for email in (EMPLOYEE, OTHER)
    }
    attempts = [(email, i) for email in tasks for i in range(12)]
    barrier = threading.Barrier(len(attempts))
    answers: list[tuple[str, int, Any]] = []

    def submit(email: str, i: int) -> None:
        data = {**GOOD, "progress": f"attempt {i} by {email}"}
        barrier.wait()
        try:
            r = client.post(f"/api/tasks/{tasks[email]}/complete", headers=who[email], json={"data": data})
        except Exception as exc:  # noqa: BLE001 - the test client re-raises what became a 500
            r = httpx.Response(500, text=repr(exc))
        answers.append((email, i, r))

    threads = [threading.Thread(target=submit, args=a) for a in attempts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == len(attempts)
    codes = sorted({r.status_code for _, _, r in answers})
    assert set(codes) <= {200, 409, 503}, [(r.status_code, r.text[:200]) for _, _, r in answers if r.status_code >= 500]
    for r in (r for _, _, r in answers if r.status_code == 503):
        busy(r)
    # whoever was told 503 tries again until the task is done; each task is completed exactly once, with the data
    # of the one submission that was answered 200
    for email, task_id in tasks.items():
        winners = [i for e, i, r in answers if e == email and r.status_code == 200]
        for _ in range(100):
            if winners:
                break
            r = client.post(f"/api/tasks/{task_id}/complete", headers=who[email], json={"data": GOOD})
            if r.status_code == 200:
                winners = ["retry"]
            else:
                assert r.status_code == 503, r.text
        assert len(winners) == 1, winners
        session.expire_all()
        stored = session.get(Task, task_id)
        assert stored.status == "completed"
        expected = GOOD["progress"] if winners == ["retry"] else f"attempt {winners[0]} by {email}"
        assert stored.submitted["progress"] == expected
        completions = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "task.completed", AuditEvent.task_id == task_id)
        ).all()
        assert len(completions) == 1
