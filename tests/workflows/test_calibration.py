"""A calibration session end to end on the shipped diagrams: three annual reviews under one manager reach the
manager's rating, the group opens by itself, the facilitator changes a rating with a reason and a comment, the
committee asks for another round and then agrees, the session locks and each review receives its calibrated result
by a correlated BPMN message and moves on to release, where the employee sees both ratings."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine import audit, calibration
from engine.core.errors import Conflict, FormInvalid, InvalidInput
from engine.process import messages
from engine.review import release
from engine.store.models import AuditEvent, CalibrationGroup, Instance, ReviewRecord
from tests import factories as f
from tests.workflows.calibration_steps import (
    CEO,
    HR,
    MEMBERS,
    OVERALL,
    calibration_cycle,
    complete,
    make_group,
    to_manager_rating,
)
from tests.workflows.steps import LEAD, act, open_names, open_task

pytestmark = pytest.mark.both_dbs


def _events(session, action: str) -> list[dict]:
    rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))
    return [o.payload for o in audit.reveal(session, rows.all())]


def test_session_end_to_end(session):
    cycle = calibration_cycle(session)
    group = make_group(session, cycle)
    assert group.status == "waiting"
    for subject in MEMBERS:
        to_manager_rating(session, subject)
    session.rollback()
    group = session.get(CalibrationGroup, group.id)
    assert group.status == "open"  # opened by itself when the last manager review came in
    assert "calibrate" in open_names(session, HR)

    shown = open_task(session, HR, "calibrate")
    view = shown["context"]["calibration_view"]
    rows = {r["email"]: r for r in view["people"]}
    assert {e: r["manager_rating"] for e, r in rows.items()} == OVERALL
    assert rows["designer1@initech.test"]["nine_box"] == "high/high"
    top = next(b for b in view["guidance"]["before"] if b["band"] == "top")
    assert top["count"] == 1 and top["allowed"] == [0, 1]  # 20% ± 5% of 3 people is 0.45..0.75: 0 or 1 is fine
    assert top["move"] == 0

    # a "change" to the rating someone already has, and a change without a reason, are refused; nothing is stored
    same = {"person": "designer1@initech.test", "rating": 4, "reason_code": "evidence", "comment": "Matches evidence"}
    with pytest.raises(FormInvalid) as refused:
        complete(session, HR, "calibrate", {"changes": [same], "calibration_decision": "continue"})
    assert refused.value.errors[0]["path"] == "changes/0/rating"
    no_reason = {"person": "designer2@initech.test", "rating": 4, "comment": "Consistent with the senior peers"}
    with pytest.raises(FormInvalid) as refused:
        complete(session, HR, "calibrate", {"changes": [no_reason], "calibration_decision": "sign_off"})
    assert any(e["path"].startswith("changes/0") for e in refused.value.errors)
    session.rollback()
    assert not session.scalars(select(ReviewRecord).where(ReviewRecord.source == "calibration")).all()

    change = {
        "person": "designer2@initech.test",
        "rating": 4,
        "reason_code": "consistency",
        "comment": "Consistent with the senior designers' ratings",
    }
    complete(session, HR, "calibrate", {"changes": [change], "calibration_decision": "sign_off"})
    for member in (CEO, LEAD):
        sign_off = open_task(session, member, "sign_off")
        now = {r["email"]: r for r in sign_off["context"]["calibration_view"]["people"]}
        assert now["designer2@initech.test"]["manager_rating"] == 5
        assert now["designer2@initech.test"]["calibrated_rating"] == 4
    complete(session, CEO, "sign_off", {"sign_off": "discuss", "sign_off_note": "Look at peer0 again"})
    complete(session, LEAD, "sign_off", {"sign_off": "agree"})
    assert open_names(session, HR).count("calibrate") == 1  # another round
    assert session.get(CalibrationGroup, group.id).status == "open"

    complete(session, HR, "calibrate", {"changes": [], "calibration_decision": "sign_off"})
    complete(session, CEO, "sign_off", {"sign_off": "agree"})
    complete(session, LEAD, "sign_off", {"sign_off": "agree"})
    session.rollback()
    group = session.get(CalibrationGroup, group.id)
    assert group.status == "locked" and group.locked_at is not None
    assert session.get(Instance, group.instance_id).status == "completed"

    # every review received its result and now waits for HR to release results
    result = release.release_results(session, actor=f.people.by_email(session, HR), cycle_id=cycle.id)
    assert result["released"] == 3
    shown = open_task(session, "designer2@initech.test", "acknowledge_results")
    assert shown["context"]["manager_overall"] == 5  # the manager's rating is kept and shown
    assert shown["context"]["calibration"]["calibrated_overall"] == 4
    assert shown["context"]["calibration"]["changed"] is True
    unchanged = open_task(session, "designer1@initech.test", "acknowledge_results")
    assert unchanged["context"]["calibration"]["changed"] is False

    changed = _events(session, "calibration.changed")
    assert changed == [
        {
            "after": 4,
            "before": 5,
            "comment": change["comment"],
            "group": group.id,
            "manager_rating": 5,
            "reason_code": "consistency",
            "subject": "designer2@initech.test",
        }
    ]
    assert _events(session, "calibration.locked")[0]["changed"] == 1
    delivered = [e for e in _events(session, "message.delivered") if e["message"] == "calibrated"]
    assert sorted(e["payload"]["subject_email"] for e in delivered) == sorted(MEMBERS)


def test_pip_path_follows_the_calibrated_rating(session):
    """The calibrated rating (not the manager's) decides what comes after release, e.g. the PIP branch."""
    cycle = calibration_cycle(session)
    make_group(session, cycle, selector={"people": ["peer0@initech.test"]}, committee=[CEO])
    to_manager_rating(session, "peer0@initech.test")
    change = {"person": "peer0@initech.test", "rating": 3, "reason_code": "evidence", "comment": "Shipped the audit"}
    complete(session, HR, "calibrate", {"changes": [change], "calibration_decision": "sign_off"})
    complete(session, CEO, "sign_off", {"sign_off": "agree"})
    release.release_results(session, actor=f.people.by_email(session, HR), cycle_id=cycle.id)
    act(session, "peer0@initech.test", "acknowledge_results", {"ack_decision": "acknowledge"})
    names = open_names(session, "peer0@initech.test")
    assert "draft_idp" in names  # a 3 is above the PIP threshold of 2: a development plan, not a PIP
    assert not [n for n in open_names(session, LEAD) if "pip" in n]


def test_groups_are_checked_when_created(session):
    cycle = calibration_cycle(session)
    make_group(session, cycle, name="Designers", selector={"people": MEMBERS[:2]})
    with pytest.raises(InvalidInput) as clash:
        make_group(session, cycle, name="Everyone")
    assert "designer1@initech.test is in 'Designers'" in json.dumps(clash.value.errors)
    with pytest.raises(InvalidInput, match="no active person"):
        make_group(session, cycle, name="Other", selector={"people": MEMBERS[2:]}, facilitator="nobody@initech.test")
    with pytest.raises(InvalidInput, match="already has a group"):
        make_group(session, cycle, name="Designers", selector={"people": MEMBERS[2:]})
    with pytest.raises(InvalidInput, match="Nobody calibrates their own rating") as own:
        make_group(session, cycle, name="Peer", selector={"people": MEMBERS[2:]}, committee=[CEO, MEMBERS[2]])
    assert own.value.errors == [{"path": "committee", "message": "peer0@initech.test is in the group"}]
    with pytest.raises(InvalidInput, match="Nobody in this cycle matches"):
        make_group(session, cycle, name="Sales", selector={"department": "Sales"})
    assert calibration.ungrouped(session, cycle) == ["peer0@initech.test"]


def test_a_cycle_without_calibration_refuses_groups_and_skips_the_wait(session):
    cycle = calibration_cycle(session, calibrate=False)
    with pytest.raises(InvalidInput, match="does not use calibration"):
        make_group(session, cycle)
    to_manager_rating(session, "designer1@initech.test")
    result = release.release_results(session, actor=f.people.by_email(session, HR), cycle_id=cycle.id)
    assert result["released"] == 1


def test_the_calibrated_message_is_correlated_to_its_subject(session):
    cycle = calibration_cycle(session)
    make_group(session, cycle, selector={"people": ["designer1@initech.test"]}, committee=[CEO])
    to_manager_rating(session, "designer1@initech.test")
    review = session.scalar(select(Instance).where(Instance.cycle_id == cycle.id, Instance.kind == "review"))
    wrong = {"subject_email": "designer2@initech.test", "calibrated_overall": 1, "changed": True}
    with pytest.raises(Conflict, match="correlation"):
        messages.deliver(session, instance_id=review.id, message="calibrated", payload=wrong, actor="test")
    session.rollback()
    assert "calibrated" not in json.dumps(_events(session, "message.delivered"))
