"""Seed the demo: sample org, accounts, the shipped workflows and a launched cycle (idempotent)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import forms
import workflows
from engine import accounts, cycles, definitions, people
from engine.models import Cycle, Definition, Person

PASSWORD = "reviewflow-demo"
ACTOR = "system:demo"
CYCLE_NAME = "2026 年度绩效评估 / Annual review 2026"
WORKFLOWS = Path(workflows.__file__).parent
FORMS = Path(forms.__file__).parent / "schemas"


def shipped_files(bpmn: Path) -> list[tuple[str, bytes]]:
    """A shipped diagram with the form files it names."""
    text = bpmn.read_text(encoding="utf-8")
    names = set(re.findall(r'name="form(?:Json|Ui)SchemaFilename"\s+value="([^"]+)"', text))
    return [(bpmn.name, bpmn.read_bytes())] + [(n, (FORMS / n).read_bytes()) for n in sorted(names)]


def deploy_shipped(session: Session, actor: Person) -> list[Definition]:
    return [
        definitions.deploy(session, actor=actor, files=shipped_files(p))[0] for p in sorted(WORKFLOWS.glob("*.bpmn"))
    ]


def seed(session: Session) -> dict[str, Any]:
    people.import_csv(session, data=(Path(__file__).with_name("demo_org.csv")).read_bytes(), actor=ACTOR)
    org = list(session.scalars(select(Person).where(Person.employee).order_by(Person.id)))
    ceo = next(p for p in org if p.manager_id is None and p.department != "People")
    hr = next(p for p in org if p.department == "People")
    accounts.create_account(session, email=hr.email, roles=["hr_admin"], password=PASSWORD, actor=ACTOR)
    accounts.create_account(session, email=ceo.email, roles=["admin", "designer"], password=PASSWORD, actor=ACTOR)
    accounts.create_account(session, email="auditor@acme.test", roles=["auditor"], password=PASSWORD, actor=ACTOR)
    deploy_shipped(session, hr)
    cycle = session.scalar(select(Cycle).where(Cycle.name == CYCLE_NAME))
    if cycle is None:
        departments = sorted({p.department for p in org if p.department not in (None, "People", "Executive")})
        cycle = cycles.create_cycle(
            session, actor=hr, name=CYCLE_NAME, definition="simple_review", participants={"departments": departments}
        )
    cycles.launch(session, actor=hr, cycle_id=cycle.id)
    lead = next(p for p in org if p.manager_id == ceo.id and p.department not in ("People",))
    report = next(p for p in org if p.manager_id == lead.id)
    logins = [
        ("employee", report.email),
        ("manager", lead.email),
        ("HR admin", hr.email),
        ("admin + designer", ceo.email),
        ("auditor", "auditor@acme.test"),
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
