"""The 9-box places each reviewed person by performance (before and after an appeal) and potential."""

from __future__ import annotations

import pytest

from engine.reports import nine_box
from tests.workflows.steps import EMPLOYEE, HR, act, drive_to_release, release

pytestmark = pytest.mark.both_dbs


def cell_of(report: dict, email: str) -> tuple[str, str] | None:
    for cell in report["cells"]:
        if email in [p["email"] for p in cell["people"]]:
            return cell["performance"], cell["potential"]
    return None


def test_a_changed_appeal_moves_the_person_in_the_after_view_only(session):
    cycle = drive_to_release(session, overall=2)  # the manager rated 2 with potential "medium"
    before = nine_box.report(session, cycle.id)
    assert cell_of(before, EMPLOYEE) == ("low", "medium")
    assert sum(c["count"] for c in before["cells"]) == 1 and before["not_yet_rated"] == []
    release(session, cycle)
    act(
        session,
        EMPLOYEE,
        "acknowledge_results",
        {"ack_decision": "appeal", "appeal_reason": "The migration I led was not counted at all."},
    )
    act(
        session,
        HR,
        "handle_appeal",
        {
            "appeal_outcome": "changed",
            "changed_overall": 4,
            "appeal_response": "We looked at the migration work together in detail.",
        },
    )
    session.rollback()
    assert cell_of(nine_box.report(session, cycle.id, stage="after"), EMPLOYEE) == ("high", "medium")
    assert cell_of(nine_box.report(session, cycle.id, stage="before"), EMPLOYEE) == ("low", "medium")


def test_performance_bands():
    assert [nine_box.performance_band(r) for r in (1, 2, 3, 4, 5, None)] == [
        "low",
        "low",
        "medium",
        "high",
        "high",
        None,
    ]
