"""The replay and migration helpers in memory: 360 answers are matched by their peer whatever order they were given
in; a replay against a version with a step nobody answered stops and names it; a plan names a removed waiting
step; the path lists completed steps in the order they ran."""

from __future__ import annotations

from engine.bpmn import migration, spiff
from engine.ops.replay import Answer, _rerun
from engine.store.models import Definition
from tests import factories as f


def _spec(name: str, content: bytes | None = None) -> spiff.Spec:
    parsed = spiff.parse_files([(name, content if content is not None else (f.DATA / name).read_bytes())])
    return spiff.Spec(parsed.spec, parsed.subprocess_specs)


def _run(spec: spiff.Spec, answers: list[tuple[str, object, dict]]) -> object:
    wf = spiff.new_workflow(1, spec, {"subject": {"email": "a@x.test"}})
    spiff.run_engine(wf)
    for element, item, data in answers:
        [rt] = [r for r in spiff.ready_tasks(wf) if r.name == element and (item is None or r.item == item)]
        spiff.complete(wf, rt.spiff_id, data)
    return wf


PEERS = ["bob@x.test", "carol@x.test"]
GIVEN = [
    ("nominate", None, {"peers": PEERS}),
    ("give_feedback", "bob@x.test", {"comment": "Bob says: clear and kind"}),
    ("give_feedback", "carol@x.test", {"comment": "Carol says: ships on time"}),
    ("summarize", None, {"summary": "Good year"}),
]


def test_multi_instance_answers_are_replayed_by_peer_in_any_order():
    spec = _spec("peer_feedback.bpmn")
    original = _run(spec, GIVEN)
    assert spiff.is_completed(original)
    # recorded in another order than the replay opens the peers' tasks
    answers = [Answer(e, i, d, {}) for e, i, d in [GIVEN[0], GIVEN[2], GIVEN[1], GIVEN[3]]]
    rerun, stopped = _rerun(migration.start_data(original), answers, Definition(id=1, version=1), spec)
    assert stopped is None and spiff.is_completed(rerun)
    assert migration.path(rerun) == migration.path(original)
    by_peer = {a["comment"].split(" ")[0] for a in migration.final_data(rerun)["feedback"]}
    assert by_peer == {"Bob", "Carol"}
    # each peer's answer landed with that peer (the collection keeps the order the answers came in)
    answered = {
        t.data["peer"]: t.data["comment"]
        for t in rerun.get_tasks()
        if getattr(t.task_spec, "bpmn_id", None) == "give_feedback" and "comment" in t.data and "peer" in t.data
    }
    assert answered == {"bob@x.test": "Bob says: clear and kind", "carol@x.test": "Carol says: ships on time"}
    key = lambda a: a["comment"]  # noqa: E731
    assert sorted(migration.final_data(rerun)["feedback"], key=key) == sorted(
        migration.final_data(original)["feedback"], key=key
    )


def test_a_replay_stops_naming_a_step_nobody_answered():
    spec = _spec("quarterly_checkin.bpmn")
    added = _spec("checkin_v2_added.bpmn")
    given = [
        ("write_checkin", None, {"progress": "Shipped it", "blockers": [], "mood": 4}),
        ("respond", None, {"response": "Thanks", "escalate_to_hr": False}),
    ]
    original = _run(spec, given)
    answers = [Answer(e, i, d, {}) for e, i, d in given]
    rerun, stopped = _rerun(migration.start_data(original), answers, Definition(id=2, version=2), added)
    assert stopped == "version 2 waits in acknowledge, which has no recorded answer"
    assert not spiff.is_completed(rerun)
    assert migration.path(rerun)[-1] == "respond"


def test_a_plan_names_the_removed_step_an_instance_waits_in():
    spec = _spec("quarterly_checkin.bpmn")
    wf = _run(spec, [("write_checkin", None, {"progress": "Shipped it", "blockers": [], "mood": 4})])
    plan = migration.plan(wf, _spec("checkin_v2_removed.bpmn"), version=2)
    assert not plan.can_migrate
    assert plan.reasons == ["waiting in task 'Respond to the check-in' (respond) which version 2 removed"]
    assert migration.path(wf) == ["start", "write_checkin"]
