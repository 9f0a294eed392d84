"""Forms any client can fill: every shipped form of the annual review, at every step, is filled by a client that knows
only JSON Schema. It fetches the task over HTTP, generates answers from the served schema (hypothesis-jsonschema) and
each one must be accepted (checked with a dry run of `complete`, then one completed over HTTP to move on). The only
help the client gets is for the rules forms/README.md lists under "Served schemas" (`repair`)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from jsonschema import Draft202012Validator
from sqlalchemy import select

from engine.core.errors import ReviewflowError
from engine.process import runtime
from engine.store.models import Instance
from forms.bundle import walk
from forms.resolve import RESOLVED
from tests import factories as f
from tests.api.schema_values import from_schema
from tests.workflows.calibration_steps import CEO, MEMBERS, OVERALL, calibration_cycle, make_group, to_manager_rating
from tests.workflows.calibration_steps import HR as CALIBRATION_HR
from tests.workflows.steps import EMPLOYEE, HR, LEAD, PEERS, deploy_shipped

SUBJECT, MANAGER = LEAD, "ceo@initech.test"
REPORTS = ["designer1@initech.test", "designer2@initech.test", *PEERS]
SETTINGS = {
    "company_goals": [
        {"id": "G1", "title": {"en": "Grow adoption", "zh-CN": "提升采用率"}},
        {"id": "G2", "title": {"en": "Keep customers", "zh-CN": "留住客户"}},
    ],
    "goals": {"min": 2, "max": 4},
    "nominations": {"min": 2, "max": 3},
}
EXAMPLES = 8
QUIET = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same answers on every run: CI stays stable
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate],  # no shrinking: a refused answer is reported as generated, and the suite stays fast
)
ONE = settings(QUIET, max_examples=1)
FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER


def repair(value: Any, schema: dict[str, Any], pool: list[str]) -> Any:
    """What a client must know beyond the served schema (forms/README.md, "Served schemas"): people are real, active
    colleagues (`x-person`), and totals add up (`x-total`)."""
    if not isinstance(value, dict):
        return value
    out = dict(value)
    for name, prop in (schema.get("properties") or {}).items():
        if isinstance(prop, dict) and prop.get("x-person") and name in out:
            if isinstance(out[name], list):
                out[name] = pool[: len(out[name])]
            else:
                out[name] = pool[0]
    for rule in schema.get("x-total") or []:
        items = out.get(rule["path"])
        if isinstance(items, list) and items:
            share, rest = divmod(rule["equals"], len(items))
            out[rule["path"]] = [
                {**item, rule["field"]: share + (rest if i == 0 else 0)} for i, item in enumerate(items)
            ]
    return out


def _house_keywords(schema: dict[str, Any]) -> list[str]:
    found: list[str] = []
    walk(schema, lambda s: found.extend(k for k in RESOLVED if k in s))
    return found


class Reader:
    """A person with a JSON-Schema-only client."""

    def __init__(self, client: Any, session: Any, email: str, lang: str | None = None) -> None:
        self.client, self.session, self.email = client, session, email
        self.headers = {**f.token(session, email), **({"Accept-Language": lang} if lang else {})}

    def task(self, name: str) -> dict[str, Any]:
        r = self.client.get("/api/tasks", headers=self.headers)
        mine = [t for t in r.json()["items"] if t["name"] == name]
        assert len(mine) == 1, (self.email, name, [t["name"] for t in r.json()["items"]])
        r = self.client.get(f"/api/tasks/{mine[0]['id']}", headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()

    def fill(self, name: str, pins: dict[str, Any] | None = None, *, examples: bool = True, more: Any = None) -> Any:
        """Check generated answers for the open task `name` (dry runs), then submit one (with `pins` fixed). `more`
        repairs what else a client must know for this form (the calibration session's rules)."""
        task = self.task(name)
        schema = task["form"]["schema"]
        Draft202012Validator.check_schema(schema)
        assert _house_keywords(schema) == [], name
        valid = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
        pool = [e for e in [*REPORTS, HR] if e not in (SUBJECT, MANAGER)]
        self.session.rollback()  # a fresh read: the task was created by the app's own session
        self.session.expire_all()
        person = f.people.by_email(self.session, self.email)

        def fixed(value: Any) -> Any:
            value = repair(value, schema, pool)
            return more(value) if more else value

        def accepted(value: Any) -> None:
            value = fixed(value)
            assert valid.is_valid(value), list(valid.iter_errors(value))
            try:
                runtime.complete_task(self.session, task_id=task["id"], actor=person, data=value, dry_run=True)
            except ReviewflowError as exc:
                raise AssertionError(f"{name}: refused {value!r}: {exc} {getattr(exc, 'errors', '')}") from exc

        if examples:
            QUIET(given(from_schema(schema))(accepted))()
        drawn: list[Any] = []

        def keep(value: Any) -> None:
            drawn.append(value)

        ONE(given(from_schema(_pinned(schema, pins or {})))(keep))()
        value = fixed(drawn[0])
        assert valid.is_valid(value)
        r = self.client.post(f"/api/tasks/{task['id']}/complete", headers=self.headers, json={"data": value})
        assert r.status_code == 200, (name, value, r.text)
        return value


def _pinned(schema: dict[str, Any], pins: dict[str, Any]) -> dict[str, Any]:
    """The served schema with some answers fixed (to walk a given path through the review)."""
    props = {k: dict(v) if isinstance(v, dict) else v for k, v in schema["properties"].items()}
    for key, value in pins.items():
        props[key] = {**props[key], "const": value}
    return {**schema, "properties": props, "required": sorted({*schema.get("required", []), *pins})}


def test_every_annual_review_form_accepts_what_its_served_schema_allows(client, session):
    f.org(session, extra_peers=3)
    cycle = f.launched(session, deploy_shipped(session, "annual_review"), [SUBJECT], settings=SETTINGS)
    subject = Reader(client, session, SUBJECT)  # reads Chinese (their own language)
    manager = Reader(client, session, MANAGER, lang="en-GB,en;q=0.8")
    hr = Reader(client, session, HR, lang="zh-CN,zh;q=0.9")

    subject.fill("draft_goals")
    manager.fill("approve_goals", {"goal_decision": "revise"})
    subject.fill("draft_goals", examples=False)  # again, with the manager's note
    manager.fill("approve_goals", {"goal_decision": "approve"}, examples=False)

    subject.fill("nominate_peers")
    peers = manager.fill("approve_peers")["peers"]
    for index, peer in enumerate(peers):
        Reader(client, session, peer).fill("give_peer_feedback", examples=index == 0)
    for index, report in enumerate(REPORTS):
        Reader(client, session, report).fill("give_upward_feedback", examples=index == 0)
    subject.fill("self_assessment")
    manager.fill("manager_assessment")

    r = client.post(f"/api/cycles/{cycle.id}/release", headers=hr.headers)
    assert r.status_code == 200, r.text
    subject.fill("acknowledge_results", {"ack_decision": "appeal"})
    hr.fill("handle_appeal", {"appeal_outcome": "changed", "changed_overall": 1})  # at the PIP threshold
    subject.fill("acknowledge_final")
    hr.fill("pip_plan")
    subject.fill("pip_acknowledge")
    subject.fill("draft_idp")
    manager.fill("review_idp", {"idp_decision": "revise"})
    subject.fill("draft_idp", examples=False)
    manager.fill("review_idp", {"idp_decision": "agree"}, examples=False)

    session.rollback()
    assert session.scalar(select(Instance.status).where(Instance.cycle_id == cycle.id)) == "completed"


@pytest.mark.both_dbs
def test_the_served_schema_says_what_complete_refuses(client, session):
    """The failure a schema-driven client met: more goals than the cycle allows (4 here, 7 in the stored schema), and
    a company goal not on offer, looked fine to it."""
    f.org(session)
    f.launched(session, deploy_shipped(session, "annual_review"), [SUBJECT], settings=SETTINGS)
    en, zh = Reader(client, session, SUBJECT, lang="en"), Reader(client, session, SUBJECT)
    task_id = en.task("draft_goals")["id"]
    r = client.get(f"/api/tasks/{task_id}", headers=en.headers)
    assert r.headers["content-language"] == "en"
    schema = r.json()["form"]["schema"]
    valid = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
    goal = {"title": "Ship", "description": "d", "metric": "m", "target": "t", "due_date": "2027-01-31"}
    five = {"goals": [{**goal, "weight": 20}] * 5}
    stray = {"goals": [{**goal, "weight": 40, "aligned_to": "G9"}, *[{**goal, "weight": 30}] * 2]}
    for answer, code in ((five, "x-bounds-from"), (stray, "x-choices-from")):
        assert not valid.is_valid(answer)
        r = client.post(f"/api/tasks/{task_id}/complete", headers=en.headers, json={"data": answer})
        assert r.status_code == 422 and code in r.text, r.text
    assert zh.task("draft_goals")["form"]["schema"]["title"] == "本周期目标"  # their own language, unasked
    aligned = schema["properties"]["goals"]["items"]["properties"]["aligned_to"]
    assert aligned["oneOf"] == [{"const": "G1", "title": "Grow adoption"}, {"const": "G2", "title": "Keep customers"}]
    three = {"goals": [{**goal, "weight": 40, "aligned_to": "G2"}, *[{**goal, "weight": 30}] * 2]}
    assert valid.is_valid(three)
    r = client.post(f"/api/tasks/{task_id}/complete", headers=en.headers, json={"data": three})
    assert r.status_code == 200, r.text


def test_calibration_forms_accept_what_their_served_schemas_allow(client, session):
    """With calibration on, the review waits for its group's session: the facilitator's and the committee's forms."""
    cycle = calibration_cycle(session)
    make_group(session, cycle)
    for member in MEMBERS:
        to_manager_rating(session, member)

    def once_each_and_a_change(value: dict[str, Any]) -> dict[str, Any]:
        """A person at most once per round, and a rating other than the one they have (forms/README.md)."""
        rows = {row["person"]: row for row in value.get("changes") or []}
        changes = [
            {**row, "rating": row["rating"] % 5 + 1} if row["rating"] == OVERALL[p] else row for p, row in rows.items()
        ]
        return {**value, "changes": changes} if "changes" in value else value

    Reader(client, session, CALIBRATION_HR, lang="en").fill(
        "calibrate", {"calibration_decision": "sign_off"}, more=once_each_and_a_change
    )
    Reader(client, session, CEO).fill("sign_off", {"sign_off": "agree"})
    Reader(client, session, LEAD, lang="en").fill("sign_off", {"sign_off": "agree"}, examples=False)
    session.rollback()
    statuses = session.scalars(
        select(Instance.status).where(Instance.cycle_id == cycle.id, Instance.kind == "calibration")
    )
    assert list(statuses) == ["completed"]


def test_simple_review_forms_accept_what_their_served_schemas_allow(client, session):
    f.org(session)
    cycle = f.launched(session, deploy_shipped(session, "simple_review"), [EMPLOYEE])
    employee, lead = Reader(client, session, EMPLOYEE), Reader(client, session, LEAD, lang="en")
    employee.fill("self_review")
    lead.fill("manager_review")
    employee.fill("acknowledge", {"agree": False})  # a disagreement goes to HR
    Reader(client, session, HR).fill("hr_review")
    session.rollback()
    assert session.scalar(select(Instance.status).where(Instance.cycle_id == cycle.id)) == "completed"
