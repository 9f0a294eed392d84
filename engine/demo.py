"""Seed the demo: sample org, accounts, the shipped workflows and a launched cycle (idempotent)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import forms
import workflows
from engine import calibration
from engine.org import accounts, people, policy
from engine.process import definitions
from engine.review import cycles
from engine.store.models import Cycle, Definition, Person

PASSWORD = "reviewflow-demo"
ACTOR = "system:demo"
CYCLE_NAME = "2026 年度绩效评估 / Annual review 2026"
SETTINGS = {
    "company_goals": [
        {"id": "CG1", "title": {"en": "Win 30 new enterprise customers", "zh-CN": "新增 30 家企业客户"}},
        {"id": "CG2", "title": {"en": "Halve customer-reported defects", "zh-CN": "客户反馈缺陷减半"}},
        {
            "id": "CG3",
            "title": {"en": "Grow our people: every lead mentors two", "zh-CN": "培养人才：每位主管带教两人"},
        },
    ],
    "calibration": True,
}
WORKFLOWS = Path(workflows.__file__).parent
FORMS = Path(forms.__file__).parent / "schemas"


def _process_ids(text: str) -> set[str]:
    return set(re.findall(r'<bpmn:process id="([^"]+)"', text))


def shipped_files(bpmn: Path) -> list[tuple[str, bytes]]:
    """A shipped diagram with the diagrams it calls (call activities) and every form file they name."""
    by_process = {pid: p for p in WORKFLOWS.glob("*.bpmn") for pid in _process_ids(p.read_text(encoding="utf-8"))}
    diagrams, todo = [], [bpmn]
    while todo:
        path = todo.pop()
        if path in diagrams:
            continue
        diagrams.append(path)
        called = re.findall(r'calledElement="([^"]+)"', path.read_text(encoding="utf-8"))
        todo += [by_process[c] for c in called if c in by_process]
    forms: set[str] = set()
    for path in diagrams:
        forms |= set(re.findall(r'name="form(?:Json|Ui)SchemaFilename"\s+value="([^"]+)"', path.read_text("utf-8")))
    return [(p.name, p.read_bytes()) for p in diagrams] + [(n, (FORMS / n).read_bytes()) for n in sorted(forms)]


def deploy_shipped(session: Session, actor: Person) -> list[Definition]:
    return [
        definitions.deploy(session, actor=actor, files=shipped_files(p))[0] for p in sorted(WORKFLOWS.glob("*.bpmn"))
    ]


def seed(session: Session) -> dict[str, Any]:
    people.import_csv(session, data=(Path(__file__).with_name("demo_org.csv")).read_bytes(), actor=ACTOR)
    org = list(session.scalars(select(Person).where(Person.employee).order_by(Person.id)))
    ceo = next(p for p in org if p.manager_id is None and p.department != "People")
    hr = next(p for p in org if p.department == "People")
    accounts.create_account(session, email=hr.email, roles=[policy.HR_ADMIN], password=PASSWORD, actor=ACTOR)
    accounts.create_account(
        session, email=ceo.email, roles=[policy.ADMIN, policy.DESIGNER], password=PASSWORD, actor=ACTOR
    )
    accounts.create_account(session, email="auditor@acme.test", roles=[policy.AUDITOR], password=PASSWORD, actor=ACTOR)
    for person in org:  # every participant can sign in to the web pages with the demo password
        if person.account is None or not person.account.password_hash:
            accounts.create_account(session, email=person.email, roles=[], password=PASSWORD, actor=ACTOR)
    deploy_shipped(session, hr)
    cycle = session.scalar(select(Cycle).where(Cycle.name == CYCLE_NAME))
    if cycle is None:
        departments = sorted({p.department for p in org if p.department not in (None, "People", "Executive")})
        cycle = cycles.create_cycle(
            session,
            actor=hr,
            name=CYCLE_NAME,
            definition="annual_review",
            participants={"departments": departments},
            settings=SETTINGS,
        )
        heads = [p for p in org if p.manager_id == ceo.id and p.department in departments]
        for head in heads:  # each head's team, with the head on its committee; the heads together with the CEO
            calibration.create_group(
                session,
                actor=hr,
                cycle_id=cycle.id,
                name=f"{head.department} 校准 / calibration",
                selector={"subtree": head.email},
                facilitator=hr.email,
                committee=[ceo.email, head.email],
            )
        calibration.create_group(
            session,
            actor=hr,
            cycle_id=cycle.id,
            name="负责人校准 / Leadership calibration",
            selector={"people": [h.email for h in heads]},
            facilitator=hr.email,
            committee=[ceo.email],
        )
    cycles.launch(session, actor=hr, cycle_id=cycle.id)
    lead = next(p for p in org if p.manager_id == ceo.id and p.department not in ("People",))
    report = next(p for p in org if p.manager_id == lead.id)
    logins = [
        ("employee", report.email),
        ("manager", lead.email),
        ("HR admin", hr.email),
        ("admin + designer", ceo.email),
        (policy.AUDITOR, "auditor@acme.test"),
    ]
    return {
        "cycle_id": cycle.id,
        "population": cycles.counts(session, cycle.id)["instances"],
        "password": PASSWORD,
        "logins": [
            (who, email, accounts.issue_token(session, email=email, hours=24 * 7, label="demo", actor=ACTOR))
            for who, email in logins
        ],
    }
