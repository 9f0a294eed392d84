"""Cycle reports: driven annual reviews for completion, goals and 360 counts; seeded ratings for the statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine import reports
from engine.core import clock
from engine.core.errors import InvalidInput, NotFound
from engine.org import people
from engine.process import runtime
from engine.queries import views
from engine.store.models import Cycle, Instance, Person, ReviewRecord, Task
from tests import factories as f
from tests.workflows.steps import EMPLOYEE, GOALS, LEAD, PEERS, SETTINGS, act, deploy_shipped, ratings

pytestmark = pytest.mark.both_dbs

OTHER = "designer2@initech.test"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def seed_cycle(
    session, teams: dict[str, tuple[str, list[float]]], overrides: dict[tuple[str, int], float] | None = None
):
    """A cycle with one instance per team member and a manager overall rating each; people made directly.

    `teams`: manager name -> (department, ratings); `overrides`: (manager name, member index) -> appeal value."""
    if not session.query(Person).filter_by(email=f.HR).count():
        f.org(session)
    definition = f.deploy(session)
    cycle = Cycle(name="Seeded", definition_id=definition.id, participants="all", settings={}, status="active")
    session.add(cycle)
    session.flush()
    people: dict[str, Any] = {}
    for m, (manager_name, (department, scores)) in enumerate(teams.items()):
        manager = Person(email=f"m{m}@seed.test", name=manager_name, department=department)
        session.add(manager)
        session.flush()
        people[manager_name] = manager
        for i, score in enumerate(scores):
            member = Person(email=f"m{m}.e{i}@seed.test", name=f"Member {m}.{i}", department=department)
            member.manager_id = manager.id
            session.add(member)
            session.flush()
            inst = Instance(cycle_id=cycle.id, subject_id=member.id, definition_id=definition.id, state="")
            session.add(inst)
            session.flush()
            common = {"cycle_id": cycle.id, "instance_id": inst.id, "subject_id": member.id, "kind": "rating"}
            session.add(ReviewRecord(**common, source="manager", dimension="overall", score=score))
            session.add(ReviewRecord(**common, source="manager", dimension="competency:x", score=1))  # not overall
            session.add(ReviewRecord(**common, source="self", dimension="overall", score=1))  # not the manager's
            if (manager_name, i) in (overrides or {}):
                session.add(
                    ReviewRecord(
                        **common, source="appeal", dimension="overall", score=(overrides or {})[(manager_name, i)]
                    )
                )
    session.commit()
    return cycle, people


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["manager"]["name"]: r for r in rows}


# --- statistics on seeded ratings ---------------------------------------------------------------------------------


def test_a_manager_rating_everyone_high_is_flagged_lenient_and_a_tiny_team_is_not_judged(session):
    cycle, _ = seed_cycle(
        session,
        {"Lenny": ("Sales", [5] * 6), "Sam": ("Ops", [1] * 6), "Tina": ("Ops", [3, 3]), "Tim": ("Ops", [1, 1])},
    )
    out = reports.leniency(session, cycle.id)
    rows = by_name(out["managers"])
    assert out["rated"] == 16
    assert rows["Lenny"]["flag"] == "lenient"
    assert rows["Lenny"]["team_size"] == 6 and rows["Lenny"]["team_mean"] == 5
    assert rows["Lenny"]["others_mean"] == pytest.approx(1.4, abs=1e-3)  # (6*1 + 2*3 + 2*1) / 10
    assert rows["Lenny"]["difference"] == pytest.approx(3.6, abs=1e-3)
    low, high = rows["Lenny"]["ci95"]
    assert 0 < low < 3.6 < high
    assert rows["Sam"]["flag"] == "severe"  # 1 against others' mean 3.8
    assert rows["Tina"]["flag"] == rows["Tim"]["flag"] == "too_small_to_tell"  # even Tim, far below everyone


def test_a_noisy_team_shows_no_clear_difference_and_min_team_is_respected(session):
    cycle, _ = seed_cycle(session, {"Nora": ("A", [1, 5, 2, 4, 5, 1]), "Olaf": ("B", [3, 3, 4, 2, 3, 3])})
    rows = by_name(reports.leniency(session, cycle.id)["managers"])
    assert rows["Nora"]["flag"] == rows["Olaf"]["flag"] == "no_clear_difference"
    low, high = rows["Nora"]["ci95"]
    assert low < 0 < high
    strict = by_name(reports.leniency(session, cycle.id, min_team=7)["managers"])
    assert strict["Nora"]["flag"] == "too_small_to_tell"


def test_t_quantiles_match_the_tables():
    for df, expected in ((5, 2.571), (10, 2.228), (30, 2.042)):
        assert reports.t_quantile(0.975, df) == pytest.approx(expected, abs=0.01)
    # Welch: means 3 and 6, variances 2.5 and 10, se = sqrt(2.5), df = 5.88, t = 2.457; half width 3.884
    low, high = reports.welch_interval([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])
    assert (low + high) / 2 == pytest.approx(-3)
    assert (high - low) / 2 == pytest.approx(3.884, abs=0.02)
    assert reports.welch_interval([1], [2, 3]) is None


def test_distribution_counts_before_and_after_appeals_exactly(session):
    cycle, people = seed_cycle(
        session,
        {"Ann": ("Design", [3, 3, 4]), "Bo": ("Sales", [2, 5])},
        overrides={("Bo", 0): 3, ("Ann", 2): 4},  # one changes 2 -> 3, one upholds 4
    )
    out = reports.distribution(session, cycle.id)
    assert out["overall"] == {
        "n": 5,
        "before": {"2": 1, "3": 2, "4": 1, "5": 1},
        "after": {"3": 3, "4": 1, "5": 1},
        "changed": 1,
    }
    groups = {g["group"]: g for g in out["groups"]}
    assert groups["Design"]["before"] == groups["Design"]["after"] == {"3": 2, "4": 1}
    assert groups["Sales"]["before"] == {"2": 1, "5": 1} and groups["Sales"]["after"] == {"3": 1, "5": 1}
    by_manager = reports.distribution(session, cycle.id, by="manager")
    assert [(g["group"], g["n"], g["manager"]["email"]) for g in by_manager["groups"]] == [
        ("Ann", 3, people["Ann"].email),
        ("Bo", 2, people["Bo"].email),
    ]


def test_unknown_cycle_and_grouping_are_refused(session):
    cycle, _ = seed_cycle(session, {"Ann": ("Design", [3])})
    with pytest.raises(InvalidInput):
        reports.distribution(session, cycle.id, by="title")
    for report in (reports.completion, reports.leniency, reports.goal_alignment, reports.participation_360):
        with pytest.raises(NotFound):
            report(session, 999_999)


# --- driven annual reviews ----------------------------------------------------------------------------------------


def _drive(session):
    """Two annual reviews under the design lead: one to the manager's rating (with 360), one only through goals."""
    clock.set_now(T0)
    f.org(session, extra_peers=3)
    settings = {**SETTINGS, "nominations": {"min": 2, "max": 8}}
    cycle = f.launched(session, deploy_shipped(session, "annual_review"), [EMPLOYEE, OTHER], settings=settings)
    clock.advance(timedelta(hours=10))
    act(session, EMPLOYEE, "draft_goals", {"goals": GOALS})
    clock.advance(timedelta(hours=20))
    act(session, OTHER, "draft_goals", {"goals": [{**g, "aligned_to": "G1"} for g in GOALS]})
    for _ in (EMPLOYEE, OTHER):
        approve = views.list_tasks(session, actor=people.by_email(session, LEAD), status="open")[0]
        assert approve["name"] == "approve_goals"
        runtime.complete_task(
            session, task_id=approve["id"], actor=people.by_email(session, LEAD), data={"goal_decision": "approve"}
        )
    act(session, EMPLOYEE, "nominate_peers", {"nominees": PEERS})
    act(session, LEAD, "approve_peers", {"peers": PEERS[:2]})
    act(
        session,
        PEERS[0],
        "give_peer_feedback",
        {"declined": False, "rating": 3, "strengths": "Helpful always", "improvements": "Plan further ahead"},
    )
    act(session, PEERS[1], "give_peer_feedback", {"declined": True, "decline_reason": "Too little overlap"})
    act(
        session,
        EMPLOYEE,
        "self_assessment",
        {
            "self_goal_ratings": ratings(3, 3),
            "self_competency_ratings": ratings(4, 3, "example"),
            "self_overall": 3,
            "self_summary": "A good year with a lot shipped.",
        },
    )
    act(
        session,
        LEAD,
        "manager_assessment",
        {
            "manager_goal_ratings": ratings(3, 4),
            "manager_competency_ratings": ratings(4, 4),
            "manager_overall": 4,
            "potential": "high",
            "manager_summary": "Strong year, clear ownership of the system.",
        },
    )
    session.rollback()
    return cycle


def test_completion_counts_phases_departments_managers_and_slow_steps(session):
    cycle = _drive(session)
    out = reports.completion(session, cycle.id)
    phases = {p["phase"]: p for p in out["by_phase"]}
    assert phases["draft_goals"] == {
        "phase": "draft_goals",
        "title": "Draft your goals / 制定目标",
        "open": 0,
        "done": 2,
        "overdue": 0,
    }
    assert phases["manager_assessment"]["done"] == 1
    assert phases["give_peer_feedback"]["done"] == 2
    total_open = sum(p["open"] for p in out["by_phase"])
    assert total_open >= 1  # designer2's nomination at least
    [design] = out["by_department"]
    assert design["department"] == "Design" and design["open"] == total_open
    [lead] = out["by_manager"]
    assert lead["manager"]["email"] == LEAD and lead["done"] == design["done"]
    slowest = {s["phase"]: s for s in out["slowest_steps"]}
    assert slowest["draft_goals"]["median_hours"] == 20  # 10 h and 30 h after launch
    assert out["slowest_steps"][0]["phase"] == "draft_goals" and len(out["slowest_steps"]) <= 5
    # Move one open task's due date into the past: it counts as overdue everywhere.
    task = session.query(Task).filter_by(status="open").order_by(Task.id).first()
    task.due_at = clock.now() - timedelta(hours=1)
    session.commit()
    later = reports.completion(session, cycle.id)
    assert {p["phase"]: p["overdue"] for p in later["by_phase"]}[task.name] == 1
    assert later["by_department"][0]["overdue"] == later["by_manager"][0]["overdue"] == 1


def test_goal_alignment_participation_and_distribution_from_real_records(session):
    cycle = _drive(session)
    goals = reports.goal_alignment(session, cycle.id)
    assert (goals["goals"], goals["aligned"], goals["share"]) == (6, 4, round(4 / 6, 4))  # 1 of 3 + 3 of 3
    assert goals["by_department"] == [{"department": "Design", "goals": 6, "aligned": 4, "share": round(4 / 6, 4)}]
    part = {p["perspective"]: p for p in reports.participation_360(session, cycle.id)["perspectives"]}
    assert part["peer"]["requested"] == 2 and part["peer"]["answered"] == 1 and part["peer"]["declined"] == 1
    assert part["peer"]["answer_rate"] == part["peer"]["decline_rate"] == 0.5
    assert part["direct_report"]["requested"] == 0 and part["direct_report"]["answer_rate"] is None
    dist = reports.distribution(session, cycle.id)
    assert dist["overall"] == {"n": 1, "before": {"4": 1}, "after": {"4": 1}, "changed": 0}
    lead = reports.leniency(session, cycle.id)["managers"]
    assert [(m["manager"]["email"], m["team_size"], m["flag"]) for m in lead] == [(LEAD, 1, "too_small_to_tell")]
