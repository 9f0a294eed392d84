"""The embedded mode (no broker, SQLite): mail through a local SMTP server, signed webhooks, timers and reminders
with a controlled clock, incidents — the same job functions a Celery worker runs."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import jobs
from engine.core import clock
from engine.core.errors import InvalidInput
from engine.core.settings import get_settings
from engine.notify import outbox, webhooks
from engine.org import people
from engine.process import definitions, timers
from engine.review import reminders
from engine.store.job_models import Incident, ReminderSent
from engine.store.models import AuditEvent, Outbox, Task
from engine.store.transaction import transact
from tests import factories as f

JOBS_DATA = Path(__file__).parent / "data"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setenv("REVIEWFLOW_JOB_BACKOFF_S", "0")
    get_settings.cache_clear()


def _subjects(mailbox) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in mailbox.messages:
        out.setdefault(m["To"], []).append(m["Subject"])
    return out


def test_each_assignment_mails_its_assignee_exactly_once_in_their_language(session, smtp):
    f.org(session)
    cycle = f.launched(session, f.deploy(session), ["designer1@initech.test", "designer2@initech.test"])
    mails = _subjects(smtp)
    assert sorted(mails) == ["designer1@initech.test", "designer2@initech.test"]
    assert all(len(v) == 1 for v in mails.values())
    zh = smtp.messages[[m["To"] for m in smtp.messages].index("designer1@initech.test")]  # locale zh-CN
    en = smtp.messages[[m["To"] for m in smtp.messages].index("designer2@initech.test")]  # locale en
    assert "可以开始填写了" in zh["Subject"] and "您好" in zh.get_content()
    assert "is ready for you" in en["Subject"] and "save a draft" in en.get_content()
    assert "/tasks/" in en.get_content()
    # the tick re-sends only what was never sent: nothing here
    clock.set_now(clock.now() + timedelta(hours=1))
    timers.tick(session)
    assert len(smtp.messages) == 2
    session.rollback()
    assert all(r.sent_at for r in session.scalars(select(Outbox)))
    assert cycle.status == "active"


def test_a_rolled_back_transaction_sends_nothing(session, smtp):
    f.org(session)
    designer = people.by_email(session, "designer2@initech.test")
    assert designer is not None

    def work() -> None:
        outbox.add(session, kind="task.assigned", dedupe_key="x", payload={"task_id": 1, "person_id": designer.id})
        raise InvalidInput("changed our mind")

    with pytest.raises(InvalidInput):
        transact(session, work)
    assert smtp.messages == []
    assert session.scalar(select(func.count()).select_from(Outbox)) == 0


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[bytes, dict[str, str]]] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((body, dict(self.headers)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def receiver(monkeypatch):
    _Receiver.received, _Receiver.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    hooks = [
        {"name": "ops", "url": url, "secret": "s3cret", "format": "generic"},
        {"name": "feishu", "url": url, "secret": "other", "format": "feishu"},
    ]
    monkeypatch.setenv("REVIEWFLOW_WEBHOOKS", json.dumps(hooks))
    get_settings.cache_clear()
    yield _Receiver
    server.shutdown()


def test_webhooks_are_signed_and_shaped_per_receiver(session, receiver):
    f.org(session)
    f.launched(session, f.deploy(session), ["designer2@initech.test"])
    assert len(receiver.received) == 2  # one notification, two hooks, once each
    by_format = {}
    for body, headers in receiver.received:
        payload = json.loads(body)
        by_format["feishu" if "msg_type" in payload else "generic"] = (body, headers, payload)
    body, headers, payload = by_format["generic"]
    assert webhooks.verify("s3cret", body, headers["X-Reviewflow-Signature"])
    assert not webhooks.verify("s3cret", body.replace(b"designer2", b"designer3"), headers["X-Reviewflow-Signature"])
    assert not webhooks.verify("wrong", body, headers["X-Reviewflow-Signature"])
    assert payload["event"] == "task.assigned" and payload["data"]["recipient"] == "designer2@initech.test"
    body, headers, payload = by_format["feishu"]
    assert webhooks.verify("other", body, headers["X-Reviewflow-Signature"])
    assert payload["msg_type"] == "text" and "is ready for you" in payload["content"]["text"]
    assert webhooks.shape("slack", {"title": "t"}) == {"text": "t —"}
    assert webhooks.shape("dingtalk", {"title": "t"})["msgtype"] == "text"


def test_a_webhook_that_keeps_failing_becomes_one_incident(session, receiver):
    receiver.status = 500
    f.org(session)
    f.launched(session, f.deploy(session), ["designer2@initech.test"])
    assert len(receiver.received) == 2 * 3  # both hooks, three attempts each; the mail itself was sent
    incident = session.scalars(select(Incident)).one()
    assert (incident.job, incident.attempts, incident.status) == ("send_outbox", 3, "open")
    assert "answered 500" in session.scalars(select(Outbox).where(Outbox.kind == "webhook")).first().last_error


def test_a_due_timer_fires_once_with_the_clock_moved_not_slept(session):
    everyone = f.org(session)
    clock.set_now(T0)
    definition = definitions.deploy(session, actor=everyone[f.HR], files=f.files("timed_checkin.bpmn", base=JOBS_DATA))
    f.launched(session, definition[0], ["designer1@initech.test"])
    assert timers.tick(session)["timers"] == 0  # not due yet
    clock.set_now(T0 + timedelta(days=7, seconds=1))
    assert timers.tick(session)["timers"] == 1
    assert timers.tick(session)["timers"] == 0
    session.rollback()
    tasks = {t.name: t.status for t in session.scalars(select(Task))}
    assert tasks == {"write": "cancelled", "chase": "open"}
    fired = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "timer.fired"))
    assert fired == 1


def test_an_intermediate_timer_and_a_weekly_r3_cycle_fire_on_time_and_stop_after_three(session):
    everyone = f.org(session)
    clock.set_now(T0)
    files = f.files("nudged_checkin.bpmn", base=JOBS_DATA)
    f.launched(session, definitions.deploy(session, actor=everyone[f.HR], files=files)[0], ["designer1@initech.test"])

    def open_tasks() -> list[str]:
        session.rollback()
        return sorted(t.name for t in session.scalars(select(Task).where(Task.status == "open")))

    assert open_tasks() == []  # waiting a day before the check-in opens
    clock.set_now(T0 + timedelta(hours=23))
    assert timers.tick(session)["timers"] == 0
    clock.set_now(T0 + timedelta(days=1, seconds=1))
    assert timers.tick(session)["timers"] == 1
    assert open_tasks() == ["write"]
    opened = T0 + timedelta(days=1, seconds=1)
    for week in (1, 2, 3):
        clock.set_now(opened + timedelta(days=7 * week - 1))
        assert timers.tick(session)["timers"] == 0, f"week {week}: not due a day early"
        clock.set_now(opened + timedelta(days=7 * week, seconds=1))
        assert timers.tick(session)["timers"] == 1, f"week {week}"
        assert open_tasks() == ["nudge"] * week + ["write"]  # non-interrupting: the check-in stays open
    clock.set_now(opened + timedelta(days=7 * 4, seconds=1))
    timers.tick(session)
    assert open_tasks() == ["nudge"] * 3 + ["write"]  # R3: three nudges, never a fourth


def test_reviewflow_serve_ticks_timers_itself_without_a_broker(session, tmp_path):
    """The embedded mode's promise: `reviewflow serve` alone fires a timer that fell due (here a week ago)."""
    import os
    import shutil
    import socket
    import subprocess
    import sys

    from tests.jobs.conftest import wait_for

    everyone = f.org(session)
    clock.set_now(datetime.now(UTC) - timedelta(days=8))  # launched eight days ago: the 7-day timer is overdue
    definition = definitions.deploy(session, actor=everyone[f.HR], files=f.files("timed_checkin.bpmn", base=JOBS_DATA))
    f.launched(session, definition[0], ["designer1@initech.test"])
    clock.set_now(None)
    session.commit()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "REVIEWFLOW_TICK_SECONDS": "1"}
    env.pop("REVIEWFLOW_BROKER_URL", None)
    exe = shutil.which("reviewflow", path=os.path.dirname(sys.executable)) or "reviewflow"
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen([exe, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:

        def chased() -> bool:
            session.rollback()
            return session.scalar(select(Task.status).where(Task.name == "chase")) == "open"

        wait_for(chased, timeout=60, what=f"the overdue timer fired by serve\n{(tmp_path / 'serve.log').read_text()}")
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    assert session.scalar(select(Task.status).where(Task.name == "write")) == "cancelled"


def test_phase_due_dates_become_task_due_at_and_reminders_follow_the_cadence(session, smtp):
    f.org(session)
    clock.set_now(T0)
    settings = {
        "due": {"write_checkin": "P10D"},
        "reminders": {"before_days": [7, 1], "grace_days": 2, "escalate": True},
    }
    f.launched(session, f.deploy(session), ["designer2@initech.test"], settings=settings)
    task = session.scalars(select(Task)).one()
    assert clock.as_utc(task.due_at) == T0 + timedelta(days=10)
    smtp.messages.clear()
    sent = []
    for day in range(0, 14):  # a scan each day
        clock.set_now(T0 + timedelta(days=day, hours=1))
        reminders.send_reminders(session)
        reminders.send_reminders(session)  # twice: nothing goes out twice
        sent.append([(m["To"], str(m["Subject"]).strip()) for m in smtp.messages])
        smtp.messages.clear()
    got = {day: mails for day, mails in enumerate(sent) if mails}
    assert got == {
        3: [("designer2@initech.test", "A friendly reminder: Write your check-in is due in 7 days")],
        9: [("designer2@initech.test", "A friendly reminder: Write your check-in is due tomorrow")],
        # the manager reads Chinese (locale zh-CN)
        10: [("design.lead@initech.test", "Jonas Berg的「Write your check-in」可能需要您关心一下")],
        12: [("people@initech.test", "Still open 2 days after its due date: Write your check-in (Jonas Berg)")],
    }
    assert sorted((r.number, r.kind) for r in session.scalars(select(ReminderSent))) == [
        (1, "reminder"),
        (2, "reminder"),
        (3, "overdue"),
        (4, "escalated"),
    ]


def test_due_and_reminder_settings_are_checked_per_field(session):
    from engine.review import cycle_settings

    with pytest.raises(InvalidInput) as caught:
        cycle_settings.validate({"due": {"write": "next week"}, "reminders": {"before_days": [7, 0], "grace_days": -1}})
    paths = sorted(e["path"] for e in caught.value.errors)
    assert paths == [
        "settings/due/write",
        "settings/reminders/before_days",
        "settings/reminders/grace_days",
    ]


def test_an_always_failing_job_runs_the_configured_times_then_one_incident_hr_can_retry(session, client):
    f.org(session)
    jobs.dispatch("fire_timer", {"instance_id": 424242})
    session.rollback()  # a fresh snapshot
    incident = session.scalars(select(Incident)).one()
    assert (incident.attempts, incident.status) == (3, "open")
    hr = f.token(session, f.HR)
    listed = client.get("/api/incidents?status=open", headers=hr).json()["items"]
    assert [(i["job"], i["args"]) for i in listed] == [("fire_timer", {"instance_id": 424242})]
    assert client.get("/api/incidents", headers=f.token(session, "designer2@initech.test")).status_code == 403
    answer = client.post(f"/api/incidents/{incident.id}/resolve", headers=hr)
    assert answer.status_code == 202
    session.expire_all()
    incident = session.get(Incident, incident.id)
    assert (incident.attempts, incident.status) == (4, "open")  # one more run, failed again: open again
    assert client.post("/api/incidents/999/resolve", headers=hr).status_code == 404
    opened = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "incident.opened"))
    assert opened == 2
