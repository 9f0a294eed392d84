"""Plain factory functions for tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from engine.org import accounts, people
from engine.process import definitions
from engine.review import cycles
from engine.store.models import Cycle, Definition, Person

DATA = Path(__file__).parent / "data"
ORG = """employee_no,name,email,manager_email,department,title,locale,hr_partner_email
B01,钱明,ceo@initech.test,,Executive,CEO,zh-CN,people@initech.test
B02,Sara Kim,people@initech.test,ceo@initech.test,People,HR Partner,en,
B03,孔亮,design.lead@initech.test,ceo@initech.test,Design,Design Lead,zh-CN,people@initech.test
B04,冯雪,designer1@initech.test,design.lead@initech.test,Design,Designer,zh-CN,people@initech.test
B05,Jonas Berg,designer2@initech.test,design.lead@initech.test,Design,Designer,en,people@initech.test
"""
HR = "people@initech.test"
DESIGNER = "ceo@initech.test"


def org(session: Session, extra_peers: int = 0) -> dict[str, Person]:
    """The small Initech org, plus `extra_peers` engineers reporting to the design lead; HR and designer logins."""
    csv = ORG + "".join(
        f"P{i:03d},Peer {i},peer{i}@initech.test,design.lead@initech.test,Design,Designer,en,people@initech.test\n"
        for i in range(extra_peers)
    )
    people.import_csv(session, data=csv.encode(), actor="test")
    accounts.create_account(session, email=HR, roles=["hr_admin"], password="S3cret-pass!", actor="test")
    accounts.create_account(session, email=DESIGNER, roles=["designer"], password="An0ther-pass!", actor="test")
    return {p.email: p for p in session.query(Person).all()}


def files(*names: str, base: Path = DATA) -> list[tuple[str, bytes]]:
    return [(n, (base / n).read_bytes()) for n in names]


CHECKIN = (
    "quarterly_checkin.bpmn",
    "checkin-employee.schema.json",
    "checkin-manager.schema.json",
    "checkin-hr.schema.json",
)
PEERS = ("peer_feedback.bpmn", "nominate.schema.json", "feedback.schema.json", "summary.schema.json")


def deploy(session: Session, names: tuple[str, ...] = CHECKIN, as_email: str = HR) -> Definition:
    actor = people.by_email(session, as_email)
    assert actor is not None
    return definitions.deploy(session, actor=actor, files=files(*names))[0]


def launched(
    session: Session, definition: Definition, emails: list[str], settings: dict[str, Any] | None = None
) -> Cycle:
    hr = people.by_email(session, HR)
    assert hr is not None
    cycle = cycles.create_cycle(
        session,
        actor=hr,
        name="Test cycle",
        definition=definition.key,
        participants={"emails": emails},
        settings=settings,
    )
    cycles.launch(session, actor=hr, cycle_id=cycle.id)
    session.rollback()  # end the read snapshot
    session.expire_all()
    return cycles.get_cycle(session, cycle.id)


def token(session: Session, email: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + accounts.issue_token(session, email=email, hours=1, label="t", actor="test")}
