"""Read-only cycle reports over the database (never the workflow state): completion, rating distribution, manager
leniency, goal alignment and 360 participation. Counts and aggregates only; no rater is ever named."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import actors, clock
from engine.core.errors import InvalidInput
from engine.org import scope
from engine.review import cycles
from engine.store.models import Instance, Person, ReviewRecord, Task

GROUPINGS = ("department", "manager")
FEEDBACK_TASKS = {"give_peer_feedback": "peer", "give_upward_feedback": "direct_report"}
OVERRIDES = ("appeal", "calibration", "calibrated")  # sources whose overall rating replaces the manager's
NO_DEPARTMENT = "(none)"
CANCELLED = "cancelled"  # an instance status (engine/ops/cancel.py)
Z95 = statistics.NormalDist().inv_cdf(0.975)


class CycleData:
    """The cycle's instances with their subjects and the subjects' managers, loaded once.

    `subjects` (engine/org/scope.py) keeps only those people's reviews and records; None keeps the whole cycle."""

    def __init__(self, session: Session, cycle_id: int, subjects: scope.Subjects = None) -> None:
        self.cycle = cycles.get_cycle(session, cycle_id)  # NotFound for an unknown cycle
        self.session, self.cycle_id, self.subjects = session, cycle_id, subjects
        q = select(Instance).where(
            Instance.cycle_id == cycle_id, Instance.kind == "review", scope.only(Instance.subject_id, subjects)
        )
        every = list(session.scalars(q))
        # a cancelled review (engine/ops/cancel.py) is kept but counts nowhere; reports show how many separately
        self.cancelled = sum(1 for i in every if i.status == CANCELLED)
        self.instances = {i.id: i for i in every if i.status != CANCELLED}
        subject_ids = {i.subject_id for i in self.instances.values() if i.subject_id is not None}
        self.people = _people(session, subject_ids)
        self.people.update(_people(session, {p.manager_id for p in self.people.values() if p.manager_id} - subject_ids))

    def subject(self, instance_id: int) -> Person | None:
        instance = self.instances.get(instance_id)
        return self.people.get(instance.subject_id) if instance and instance.subject_id else None

    def department(self, subject: Person | None) -> str:
        return (subject.department if subject else None) or NO_DEPARTMENT

    def manager(self, subject: Person | None) -> Person | None:
        return self.people.get(subject.manager_id) if subject and subject.manager_id else None

    def records(self, kind: str) -> list[ReviewRecord]:
        cancelled = select(Instance.id).where(Instance.cycle_id == self.cycle_id, Instance.status == CANCELLED)
        q = select(ReviewRecord).where(
            ReviewRecord.cycle_id == self.cycle_id,
            ReviewRecord.kind == kind,
            scope.only(ReviewRecord.subject_id, self.subjects),
            ReviewRecord.superseded_at.is_(None),  # from a step that was reopened (engine/ops/reopen.py)
            ReviewRecord.instance_id.not_in(cancelled),
        )
        return list(self.session.scalars(q.order_by(ReviewRecord.id)))


def _people(session: Session, ids: set[int]) -> dict[int, Person]:
    return {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))} if ids else {}


def manager_ref(person: Person | None) -> dict[str, Any] | None:
    return {"id": person.id, "name": person.name, "email": person.email} if person else None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _value(score: float | None) -> str:
    """A rating as a JSON key: 3.0 -> "3", 3.5 -> "3.5"."""
    if score is None:
        return "none"
    return str(int(score)) if float(score).is_integer() else str(score)


# --- completion --------------------------------------------------------------------------------------------------


def completion(session: Session, cycle_id: int, subjects: scope.Subjects = None) -> dict[str, Any]:
    """Open, done and overdue tasks per phase, subject department and subject manager; the slowest steps."""
    c = CycleData(session, cycle_id, subjects)
    now = clock.now()
    tasks = (
        list(session.scalars(select(Task).where(Task.instance_id.in_(c.instances)).order_by(Task.id)))
        if (c.instances)
        else []
    )
    by_phase: dict[str, Counter[str]] = defaultdict(Counter)
    by_department: dict[str, Counter[str]] = defaultdict(Counter)
    by_manager: dict[int | None, Counter[str]] = defaultdict(Counter)
    hours: dict[str, list[float]] = defaultdict(list)
    titles: dict[str, str] = {}  # a phase's title as the diagram names it ("Write self-review / 撰写自评")
    for task in tasks:
        titles.setdefault(task.name, task.title or task.name)
        subject = c.subject(task.instance_id)
        manager = c.manager(subject)
        counts = Counter[str]()
        if task.status == "open":
            counts["open"] += 1
            due = clock.as_utc(task.due_at)
            if due is not None and due < now:
                counts["overdue"] += 1
        elif task.status == "completed":
            counts["done"] += 1
            start, end = clock.as_utc(task.created_at), clock.as_utc(task.completed_at)
            if start and end:
                hours[task.name].append((end - start).total_seconds() / 3600)
        for bucket in (
            by_phase[task.name],
            by_department[c.department(subject)],
            by_manager[manager.id if manager else None],
        ):
            bucket.update(counts)
    medians = sorted((-statistics.median(v), name, len(v)) for name, v in hours.items())[:5]
    slowest = [
        {"phase": name, "title": titles[name], "median_hours": round(-m, 2), "completed": n} for m, name, n in medians
    ]
    return {
        "cycle_id": cycle_id,
        "as_of": now.isoformat(),
        "by_phase": [{"phase": k, "title": titles[k], **_oda(v)} for k, v in sorted(by_phase.items())],
        "by_department": [{"department": k, **_oda(v)} for k, v in sorted(by_department.items())],
        "by_manager": [
            {"manager": manager_ref(c.people.get(k) if k else None), **_oda(v)}
            for k, v in sorted(by_manager.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
        ],
        "slowest_steps": slowest,
        "cancelled": c.cancelled,  # reviews cancelled while the cycle ran: in none of the counts above
    }


def _oda(counts: Counter[str]) -> dict[str, int]:
    return {"open": counts["open"], "done": counts["done"], "overdue": counts["overdue"]}


# --- ratings -----------------------------------------------------------------------------------------------------


def overall_ratings(c: CycleData) -> dict[int, tuple[float | None, float | None]]:
    """instance id -> (manager's overall rating, final one: latest appeal/calibrated value, else the manager's)."""
    before: dict[int, float | None] = {}
    after: dict[int, float | None] = {}
    for r in c.records("rating"):
        if r.dimension != "overall":
            continue
        if r.source == "manager":
            before[r.instance_id] = r.score
        elif r.source in OVERRIDES:
            after[r.instance_id] = r.score  # ordered by id: the latest wins
    return {i: (before[i], after.get(i, before[i])) for i in before}


def grouper(c: CycleData, by: str) -> Callable[[int], tuple[Any, str]]:
    if by not in GROUPINGS:
        raise InvalidInput(f"'by' must be one of: {', '.join(GROUPINGS)}.", errors=[{"path": "by", "message": by}])

    def key(instance_id: int) -> tuple[Any, str]:
        subject = c.subject(instance_id)
        if by == "department":
            return c.department(subject), c.department(subject)
        manager = c.manager(subject)
        return (manager.id if manager else 0), (manager.name if manager else NO_DEPARTMENT)

    return key


def _histogram(pairs: Iterable[tuple[float | None, float | None]]) -> dict[str, Any]:
    pairs = list(pairs)
    before = Counter(_value(b) for b, _ in pairs)
    after = Counter(_value(a) for _, a in pairs)
    return {
        "n": len(pairs),
        "before": dict(sorted(before.items())),
        "after": dict(sorted(after.items())),
        "changed": sum(1 for b, a in pairs if b != a),
    }


def distribution(
    session: Session, cycle_id: int, by: str = "department", subjects: scope.Subjects = None
) -> dict[str, Any]:
    """Counts of overall ratings before (manager) and after (appeal / calibration) per group and for the cycle."""
    c = CycleData(session, cycle_id, subjects)
    key = grouper(c, by)
    ratings = overall_ratings(c)
    groups: dict[Any, list[tuple[float | None, float | None]]] = defaultdict(list)
    labels: dict[Any, str] = {}
    for instance_id, pair in ratings.items():
        k, label = key(instance_id)
        groups[k].append(pair)
        labels[k] = label
    rows = []
    for k in sorted(groups, key=lambda g: (labels[g], str(g))):
        row: dict[str, Any] = {"group": labels[k], **_histogram(groups[k])}
        if by == "manager":
            row["manager"] = manager_ref(c.people.get(k) if k else None)
        rows.append(row)
    return {"cycle_id": cycle_id, "by": by, "overall": _histogram(ratings.values()), "groups": rows}


def t_quantile(p: float, df: float) -> float:
    """Student's t quantile by the Cornish-Fisher expansion around the normal one (good to ~1e-3 for df >= 3)."""
    z = statistics.NormalDist().inv_cdf(p)
    if math.isinf(df):
        return z
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    return z + g1 / df + g2 / df**2 + g3 / df**3


def welch_interval(a: list[float], b: list[float]) -> tuple[float, float] | None:
    """95% interval for mean(a) - mean(b) (Welch); None when either side has fewer than two values."""
    if len(a) < 2 or len(b) < 2:
        return None
    diff = statistics.fmean(a) - statistics.fmean(b)
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff
    df = (va + vb) ** 2 / ((va**2 / (len(a) - 1) if va else 0) + (vb**2 / (len(b) - 1) if vb else 0))
    half = t_quantile(0.975, max(df, 1.0)) * se
    return diff - half, diff + half


def leniency(session: Session, cycle_id: int, min_team: int = 5, subjects: scope.Subjects = None) -> dict[str, Any]:
    """Per manager: their team's mean manager overall rating against everyone else's, with a 95% interval.

    With `subjects`, both sides are in scope: the in-scope part of a team against the rest of the in-scope people."""
    c = CycleData(session, cycle_id, subjects)
    teams: dict[int, list[float]] = defaultdict(list)
    everyone: list[tuple[int, float]] = []
    for instance_id, (before, _after) in overall_ratings(c).items():
        manager = c.manager(c.subject(instance_id))
        if before is None or manager is None:
            continue
        teams[manager.id].append(float(before))
        everyone.append((manager.id, float(before)))
    rows: list[dict[str, Any]] = []
    for manager_id, team in teams.items():
        others = [v for m, v in everyone if m != manager_id]
        interval = welch_interval(team, others)
        if len(team) < min_team:
            flag = "too_small_to_tell"
        elif interval is None or interval[0] <= 0 <= interval[1]:
            flag = "no_clear_difference"
        else:
            flag = "lenient" if interval[0] > 0 else "severe"
        team_mean = statistics.fmean(team)
        others_mean = statistics.fmean(others) if others else None
        rows.append(
            {
                "manager": manager_ref(c.people.get(manager_id)),
                "team_size": len(team),
                "team_mean": round(team_mean, 3),
                "others_size": len(others),
                "others_mean": round(others_mean, 3) if others_mean is not None else None,
                "difference": round(team_mean - others_mean, 3) if others_mean is not None else None,
                "ci95": [round(interval[0], 3), round(interval[1], 3)] if interval else None,
                "flag": flag,
            }
        )
    rows.sort(key=lambda r: (r["manager"]["name"], r["manager"]["id"]))
    return {"cycle_id": cycle_id, "min_team": min_team, "rated": len(everyone), "managers": rows}


# --- goals and 360 -----------------------------------------------------------------------------------------------


def goal_alignment(session: Session, cycle_id: int, subjects: scope.Subjects = None) -> dict[str, Any]:
    """How many goals are aligned to a company goal (`aligned_to` set), overall and per subject department."""
    c = CycleData(session, cycle_id, subjects)
    per: dict[str, Counter[str]] = defaultdict(Counter)
    total: Counter[str] = Counter()
    for r in c.records("goal"):
        aligned = r.data.get("aligned_to") if isinstance(r.data, dict) else None
        aligned_ok = bool(aligned.strip()) if isinstance(aligned, str) else bool(aligned)
        for bucket in (total, per[c.department(c.subject(r.instance_id))]):
            bucket["goals"] += 1
            bucket["aligned"] += int(aligned_ok)
    return {
        "cycle_id": cycle_id,
        "goals": total["goals"],
        "aligned": total["aligned"],
        "share": _rate(total["aligned"], total["goals"]),
        "by_department": [
            {"department": k, "goals": v["goals"], "aligned": v["aligned"], "share": _rate(v["aligned"], v["goals"])}
            for k, v in sorted(per.items())
        ],
    }


def participation_360(session: Session, cycle_id: int, subjects: scope.Subjects = None) -> dict[str, Any]:
    """Per perspective: feedback requests, answers, declines, still open, and rates. Counts only, never who."""
    c = CycleData(session, cycle_id, subjects)
    counts: dict[str, Counter[str]] = {p: Counter() for p in FEEDBACK_TASKS.values()}
    q = select(Task.name, Task.lane, Task.status, Task.submitted).where(Task.instance_id.in_(c.instances))
    for name, lane, status, submitted in session.execute(q) if c.instances else []:
        perspective = FEEDBACK_TASKS.get(name) or actors.perspective_of(lane)
        if perspective is None:
            continue
        bucket = counts.setdefault(perspective, Counter())
        bucket["requested"] += 1
        if status == "completed":
            declined = isinstance(submitted, dict) and submitted.get("declined") is True
            bucket["declined" if declined else "answered"] += 1
        elif status == "open":
            bucket["open"] += 1
    return {
        "cycle_id": cycle_id,
        "perspectives": [
            {
                "perspective": p,
                "requested": v["requested"],
                "answered": v["answered"],
                "declined": v["declined"],
                "open": v["open"],
                "answer_rate": _rate(v["answered"], v["requested"]),
                "decline_rate": _rate(v["declined"], v["requested"]),
                "response_rate": _rate(v["answered"] + v["declined"], v["requested"]),
            }
            for p, v in counts.items()
        ],
    }
