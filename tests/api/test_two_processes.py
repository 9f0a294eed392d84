"""Two `reviewflow serve` processes on one PostgreSQL database, as a scaled-out deployment runs: a 360 whose answers
alternate between them, with one of them restarted in the middle. Every answer counts and the review ends."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import factories as f
from tests.jobs.conftest import wait_for
from tests.workflows.steps import GOALS, PEERS, SETTINGS, deploy_shipped, ratings

pytestmark = pytest.mark.pg_only

REVIEWFLOW = Path(sys.executable).with_name("reviewflow")
LEAD, CEO, HR = "design.lead@initech.test", "ceo@initech.test", f.HR
RATERS = [HR, *PEERS[:2]]
REPORTS = ["designer1@initech.test", "designer2@initech.test", *PEERS]


@dataclass
class Server:
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen | None = None
    port: int = 0

    def start(self) -> Server:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        out = open(self.log, "a")  # noqa: SIM115 - the process owns it
        args = [str(REVIEWFLOW), "serve", "--port", str(self.port)]
        self.proc = subprocess.Popen(args, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._healthy, timeout=60, what=f"reviewflow serve on port {self.port}\n{self.log.read_text()}")
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # a plain restart, as a deploy or a crash-looping pod does
            self.proc.wait(timeout=20)


class Person:
    def __init__(self, token: str) -> None:
        self.headers = {"Authorization": f"Bearer {token}"}

    def task(self, server: Server, name: str) -> dict[str, Any]:
        listed = httpx.get(f"{server.url}/api/tasks?status=open", headers=self.headers, timeout=30).json()
        items = listed["items"] if isinstance(listed, dict) else listed
        named = [t for t in items if t["name"] == name]
        assert len(named) == 1, f"{name} is not open; open: {[t['name'] for t in items]}"
        found = named[0]
        return httpx.get(f"{server.url}/api/tasks/{found['id']}", headers=self.headers, timeout=30).json()

    def complete(self, server: Server, name: str, data: dict[str, Any]) -> None:
        task = self.task(server, name)
        r = httpx.post(
            f"{server.url}/api/tasks/{task['id']}/complete", json={"data": data}, headers=self.headers, timeout=60
        )
        assert r.status_code == 200, (name, r.text)


def test_answers_given_to_either_process_and_across_a_restart_all_count(session, db_engine, tmp_path):
    f.org(session, extra_peers=3)
    cycle = f.launched(session, deploy_shipped(session, "annual_review"), [LEAD], SETTINGS)
    who = {e: Person(f.token(session, e)["Authorization"].split()[1]) for e in {LEAD, CEO, *RATERS, *REPORTS}}
    session.commit()
    env = {**os.environ, "REVIEWFLOW_DATABASE_URL": db_engine.url.render_as_string(hide_password=False)}
    env.pop("REVIEWFLOW_BROKER_URL", None)
    a = Server(env, tmp_path / "a.log").start()
    b = Server(env, tmp_path / "b.log").start()
    try:
        who[LEAD].complete(a, "draft_goals", {"goals": GOALS})
        who[CEO].complete(b, "approve_goals", {"goal_decision": "approve"})
        who[LEAD].complete(a, "nominate_peers", {"nominees": RATERS})
        who[CEO].complete(b, "approve_peers", {"peers": RATERS})  # the multi-instances start in process b

        answers = [(r, "give_peer_feedback", i) for i, r in enumerate(RATERS)]
        answers += [(r, "give_upward_feedback", i) for i, r in enumerate(REPORTS)]
        for n, (email, name, i) in enumerate(answers):
            if n == 4:
                a.stop()  # a restart in the middle: the new process parses the diagram afresh
                a.start()
            text = {"strengths": f"Concrete strength number {i}", "improvements": "Plan further ahead, please"}
            who[email].complete(a if n % 2 else b, name, {"declined": False, "rating": 3 + i % 2, **text})

        self_review = {
            "self_goal_ratings": ratings(3, 4),
            "self_competency_ratings": ratings(4, 4, "example"),
            "self_overall": 4,
            "self_summary": "I grew the team and shipped the system.",
        }
        who[LEAD].complete(b, "self_assessment", self_review)
        summary = who[CEO].task(a, "manager_assessment")["context"]["feedback_summary"]
        assert summary["peer"]["count"] == len(RATERS)  # every peer answer reached the summary
        assert summary["direct_report"]["count"] == len(REPORTS)
        assert len(summary["direct_report"]["comments"]["strengths"]) == len(REPORTS)

        manager = {
            "manager_goal_ratings": ratings(3, 4),
            "manager_competency_ratings": ratings(4, 4),
            "manager_overall": 4,
            "potential": "high",
            "manager_summary": "A strong year that the whole team felt.",
        }
        who[CEO].complete(b, "manager_assessment", manager)
        released = httpx.post(f"{a.url}/api/cycles/{cycle.id}/release", headers=who[HR].headers, timeout=60)
        assert released.status_code == 200 and released.json()["released"] == 1, released.text
        who[LEAD].complete(b, "acknowledge_results", {"ack_decision": "acknowledge"})
        goals = [
            {"goal": "Coach two new leads", "actions": ["Pair weekly with each"], "due_date": "2027-06-30"},
            {"goal": "Public speaking", "actions": ["Give one internal talk"], "due_date": "2027-03-31"},
        ]
        who[LEAD].complete(a, "draft_idp", {"development_goals": goals})
        who[CEO].complete(b, "review_idp", {"idp_decision": "agree"})

        listed = httpx.get(f"{b.url}/api/cycles/{cycle.id}", headers=who[HR].headers, timeout=30).json()
        assert listed["counts"]["completed"] == 1 and listed["counts"]["open_tasks"] == 0, listed
    finally:
        a.stop()
        b.stop()
