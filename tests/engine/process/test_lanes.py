"""Lanes → people: lane names as drawn, the org chart frozen at launch, launch problems, and who gets a task."""

from __future__ import annotations

import pytest

from engine.org import accounts, people
from engine.process import lanes
from engine.process.lanes import COMMITTEE, DIRECT, EMPLOYEE, HR, MANAGER, PEER, SKIP
from tests import factories as f

HR_EMAIL = f.HR


def _freeze(session, email: str, settings: dict | None = None) -> dict[str, list[str]]:
    session.expire_all()
    subject = people.by_email(session, email)
    assert subject is not None, email
    return lanes.freeze(session, subject, settings or {})


def _deactivate(session, email: str) -> None:
    person = people.by_email(session, email)
    assert person is not None
    person.active = False
    session.commit()


# --- lane names ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drawn", "meant"),
    [
        ("Manager", MANAGER),
        ("manager", MANAGER),
        ("  MANAGER ", MANAGER),
        ("Skip-Level Manager", SKIP),
        ("Skip level manager", SKIP),
        ("Manager / 经理", MANAGER),
        ("HR Partner", HR),
        ("Peers", PEER),
        ("Direct Reports", DIRECT),
        ("Calibration Committee", COMMITTEE),
        (None, EMPLOYEE),
        ("", EMPLOYEE),
    ],
)
def test_lane_names_match_case_insensitively_and_on_the_first_part_of_a_bilingual_name(drawn, meant):
    assert lanes.norm(drawn) == meant


def test_unknown_lanes_are_listed_as_drawn():
    assert lanes.unknown_lanes(["Employee", "Manager / 经理", "Mentor", "Skip level manager"]) == ["Mentor"]


# --- freezing the org chart ---------------------------------------------------------------------------------


def test_freeze_gives_subject_manager_skip_level_and_hr_partner(session):
    f.org(session)

    lane_map = _freeze(session, "designer1@initech.test")

    assert lane_map[EMPLOYEE] == ["designer1@initech.test"]
    assert lane_map[MANAGER] == ["design.lead@initech.test"]
    assert lane_map[SKIP] == ["ceo@initech.test"]
    assert lane_map[HR] == [HR_EMAIL]
    assert lane_map[DIRECT] == []


def test_freeze_lists_active_direct_reports_sorted(session):
    f.org(session, extra_peers=2)
    _deactivate(session, "peer0@initech.test")

    lane_map = _freeze(session, "design.lead@initech.test")

    assert lane_map[DIRECT] == ["designer1@initech.test", "designer2@initech.test", "peer1@initech.test"]
    assert lane_map[MANAGER] == ["ceo@initech.test"]
    assert lane_map[SKIP] == []  # the CEO has no manager


def test_freeze_takes_the_committee_from_the_cycle_settings(session):
    f.org(session)

    lane_map = _freeze(session, "designer1@initech.test", {"calibration_committee": ["CEO@initech.test"]})

    assert lane_map[COMMITTEE] == ["ceo@initech.test"]


def test_hr_falls_back_to_every_active_hr_admin_when_the_subject_has_no_hr_partner(session):
    f.org(session)
    people.import_csv(session, data=(f.ORG.splitlines()[0] + "\nN1,新人,new@initech.test,,,,,\n").encode(), actor="t")
    accounts.create_account(session, email="hr2@initech.test", roles=["hr_admin"], password=None, actor="t")
    accounts.create_account(session, email="gone@initech.test", roles=["hr_admin"], password=None, actor="t")
    accounts.create_account(session, email="audit@initech.test", roles=["auditor"], password=None, actor="t")
    _deactivate(session, "gone@initech.test")

    lane_map = _freeze(session, "new@initech.test")

    assert sorted(lane_map[HR]) == ["hr2@initech.test", HR_EMAIL]
    assert lanes.problems_for(lane_map, ["HR"]) == []


def test_hr_with_neither_partner_nor_admin_is_a_problem(session):
    people.import_csv(session, data=b"name,email\nSolo,solo@initech.test\n", actor="t")

    lane_map = _freeze(session, "solo@initech.test")

    assert lane_map[HR] == []
    assert lanes.problems_for(lane_map, ["Employee", "HR"]) == [
        "lane 'HR': has no HR partner, and no other HR admin can take it"
    ]


def test_an_inactive_manager_resolves_to_nobody(session):
    f.org(session)
    _deactivate(session, "design.lead@initech.test")

    lane_map = _freeze(session, "designer1@initech.test")

    assert lane_map[MANAGER] == []
    assert "designer1@initech.test" not in lane_map[DIRECT]
    assert lanes.problems_for(lane_map, ["Employee", "Manager"]) == ["lane 'Manager': has no manager"]


# --- launch problems ----------------------------------------------------------------------------------------


def test_ceo_with_a_manager_lane_has_no_manager(session):
    f.org(session)

    lane_map = _freeze(session, "ceo@initech.test")

    assert lanes.problems_for(lane_map, ["Employee", "Manager / 经理", "HR"]) == [
        "lane 'Manager / 经理': has no manager"
    ]
    assert lanes.problems_for(lane_map, ["Employee", "HR"]) == []


def test_per_person_lanes_are_never_a_launch_problem_but_an_empty_committee_is(session):
    f.org(session)

    lane_map = _freeze(session, "designer1@initech.test")

    assert lanes.problems_for(lane_map, ["Peer", "Direct Report", "Calibration Committee"]) == [
        "lane 'Calibration Committee': the cycle has no calibration committee"
    ]


# --- who does a task ----------------------------------------------------------------------------------------

FROZEN = {
    EMPLOYEE: ["emp@x.test"],
    MANAGER: ["boss@x.test"],
    SKIP: ["bigboss@x.test"],
    HR: ["hr1@x.test", "hr2@x.test"],
    DIRECT: ["r1@x.test", "r2@x.test"],
    COMMITTEE: [],
}


def test_lane_owners_in_task_data_win_over_everything():
    data = {"lane_owners": {"manager": ["Interim@X.test"], "Peer": "p@x.test"}}

    assert lanes.assignees_for("Manager", FROZEN, data, None) == ["interim@x.test"]
    assert lanes.assignees_for("Peer", FROZEN, data, "item@x.test") == ["p@x.test"]
    assert lanes.assignees_for("HR", FROZEN, data, None) == ["hr1@x.test", "hr2@x.test"]  # no override for HR


def test_empty_lane_owners_entry_falls_back_to_the_frozen_map():
    assert lanes.assignees_for("Manager", FROZEN, {"lane_owners": {"Manager": []}}, None) == ["boss@x.test"]


@pytest.mark.parametrize("lane", ["Peer", "Direct Report", "peers"])
@pytest.mark.parametrize("item", ["Ann@X.test", {"email": "ann@x.test", "name": "Ann"}])
def test_multi_instance_item_names_the_person_on_per_person_lanes(lane, item):
    assert lanes.assignees_for(lane, FROZEN, {}, item) == ["ann@x.test"]


def test_item_is_ignored_on_a_manager_lane():
    assert lanes.assignees_for("Manager", FROZEN, {}, "ann@x.test") == ["boss@x.test"]
    assert lanes.assignees_for("Skip-Level Manager", FROZEN, {}, {"email": "ann@x.test"}) == ["bigboss@x.test"]


def test_frozen_map_answers_when_there_is_no_override_and_no_usable_item():
    assert lanes.assignees_for("Direct Report", FROZEN, {}, None) == ["r1@x.test", "r2@x.test"]
    assert lanes.assignees_for("Direct Report", FROZEN, {}, {"name": "no email"}) == ["r1@x.test", "r2@x.test"]
    assert lanes.assignees_for(None, FROZEN, {}, None) == ["emp@x.test"]
    assert lanes.assignees_for("Calibration Committee", FROZEN, {}, None) == []


def test_assignees_are_a_copy_of_the_frozen_map():
    found = lanes.assignees_for("HR", FROZEN, {}, None)
    found.append("intruder@x.test")

    assert FROZEN[HR] == ["hr1@x.test", "hr2@x.test"]
