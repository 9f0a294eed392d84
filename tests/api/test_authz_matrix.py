"""The role x route authorization matrix: every /api route, every kind of caller, one expected status each.

A route in the app without a row here fails `test_every_api_route_has_a_row`, so no route ships without a policy.
Expected statuses: 2xx = the policy let the caller through; 401 = not signed in; 403 = signed in, wrong role;
404 = not theirs (we do not even admit it exists) or unknown. Where an allowed caller gets a domain 4xx it says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from api.app import create_app
from engine.ops import erasure
from engine.org import accounts, tokens
from engine.store.models import CalibrationGroup, Person
from tests import factories as f
from tests.api.test_reports_api import NAMES as REPORT_NAMES

EMPLOYEE, OTHER, MANAGER = "designer1@initech.test", "designer2@initech.test", "design.lead@initech.test"
AUDITOR, ADMIN = "auditor@initech.test", "admin@initech.test"
PARTNER = "partner@initech.test"
CALLERS = {
    "anon": None,  # no Authorization header
    "bad": "bad",  # a bearer token that was never issued
    "employee": EMPLOYEE,  # the subject of the review
    "other": OTHER,  # a peer of the subject (same manager), with a review of their own
    "manager": MANAGER,  # the subject's manager, with no task yet in the subject's review
    "hr": f.HR,  # hr_admin
    "hr_partner": PARTNER,  # hr_partner of the subject only: reads reports and cycle counts over the subject, no more
    "designer": f.DESIGNER,  # the CEO, role designer only (also skip-level of the subject)
    "auditor": AUDITOR,
    "admin": ADMIN,
}
ERROR_CODE = {401: "unauthorized", 403: "forbidden", 404: "not_found"}
UNKNOWN = 999_999
GOOD_CHECKIN = {"progress": "Shipped the icon set", "blockers": [], "mood": 4}


def rule(default: int, **special: int) -> dict[str, int]:
    """Anonymous and bad tokens get 401; the named callers get their status; everybody else `default`."""
    out = dict.fromkeys(CALLERS, default)
    out.update({"anon": 401, "bad": 401, **special})
    return out


SEE_ALL = {"hr": 200, "auditor": 200, "admin": 200}  # hr_admin, auditor and admin read every record
EVERYONE = rule(200)
READERS = rule(403, **SEE_ALL)
SCOPED_READERS = rule(403, hr_partner=200, **SEE_ALL)  # the partner's answer covers only their people
DEFINITION_READERS = rule(403, hr=200, designer=200, auditor=200, admin=200)


def hr_writes(status: int) -> dict[str, int]:
    return rule(403, hr=status, admin=status)


def own_task(status: int) -> dict[str, int]:
    """Only the assignee acts on a task; readers are refused openly, everybody else learns nothing (404)."""
    return rule(404, employee=status, hr=403, auditor=403, admin=403)


@dataclass
class Row:
    method: str
    route: str  # the route's path as the app declares it
    expect: dict[str, int]
    ids: dict[str, Any]  # path parameter -> key into the world (or a literal id)
    body: Any  # world -> request kwargs

    @property
    def name(self) -> str:
        return " ".join([self.method, self.route, *(f"{k}={v}" for k, v in self.ids.items())])


def row(method: str, route: str, expect: dict[str, int], body: Any = None, **ids: Any) -> Row:
    return Row(method, route, expect, ids, body)


def csv(_w: dict) -> dict:
    return {"files": {"file": ("org.csv", f.ORG.encode(), "text/csv")}}


def checkin_files(_w: dict) -> dict:
    return {"files": [("files", (n, d, "application/octet-stream")) for n, d in f.files(*f.CHECKIN)]}


def new_cycle(w: dict) -> dict:
    return {"json": {"name": "Matrix cycle", "definition": w["key"], "participants": {"emails": [EMPLOYEE]}}}


def settings_change(_w: dict) -> dict:
    return {"json": {"pip_threshold": 3}}


def login(w: dict) -> dict:
    return {"json": w["login"]}


def unlock_body(_w: dict) -> dict:
    return {"json": {"email": EMPLOYEE}}


def erasure_reason(_w: dict) -> dict:
    return {"json": {"reason": "Asked by email"}}


def draft(_w: dict) -> dict:
    return {"json": {"data": {"progress": "half-way"}}}


def group_spec(_w: dict) -> dict:
    spec = {"name": "Matrix", "selector": {"people": [EMPLOYEE]}, "facilitator": MANAGER, "committee": [OTHER]}
    return {"json": spec}


def reason(_w: dict) -> dict:
    return {"json": {"reason": "Checking a grievance about one comment"}}


def participants_body(_w: dict) -> dict:
    return {"json": {"emails": [OTHER]}}


def submission(_w: dict) -> dict:
    return {"json": {"data": GOOD_CHECKIN}}


def to_version_1(_w: dict) -> dict:
    return {"json": {"to_version": 1, "dry_run": True}}


def on_behalf(_w: dict) -> dict:
    return {"json": {"data": GOOD_CHECKIN, "on_behalf": True, "reason": "The employee is in hospital"}}


def reassignment(_w: dict) -> dict:
    return {"json": {"to": OTHER, "reason": "Covers while the employee is on leave"}}


def delegation(_w: dict) -> dict:
    return {"json": {"to": OTHER, "reason": "On leave next week"}}


def due_change(_w: dict) -> dict:
    return {"json": {"due_at": "2099-01-31T17:00:00+00:00", "reason": "Back from leave later"}}


REPORTS = REPORT_NAMES  # every report the API serves
TASK, INSTANCE, CYCLE = "/api/tasks/{task_id}", "/api/instances/{instance_id}", "/api/cycles/{cycle_id}"
TABLE = [
    # Signing in needs no token; a stale one in the header does not matter.
    row("POST", "/api/auth/token", rule(200, anon=200, bad=200), login),
    row("GET", "/api/me", EVERYONE),
    # Signing out revokes the caller's own token: anyone signed in, auditors too (it changes nothing of anybody else).
    row("POST", "/api/auth/logout", EVERYONE),
    row("GET", "/api/tokens", EVERYONE),  # one's own tokens and sessions (?email= for others: tests/api/test_tokens.py)
    # A spare token of the subject: they and HR revoke it; auditors see tokens but change nothing; others learn nothing.
    row("DELETE", "/api/tokens/{token_id}", rule(404, employee=200, hr=200, admin=200, auditor=403), token_id="spare"),
    row("DELETE", "/api/tokens/{token_id}", rule(404), token_id=UNKNOWN),
    row("GET", "/api/accounts/lockouts", READERS),
    row("POST", "/api/accounts/lockouts/unlock", hr_writes(200), unlock_body),
    row("POST", "/api/people/{person_id}/deactivate", hr_writes(200), person_id="subject"),
    row("POST", "/api/people/{person_id}/deactivate", rule(403, hr=404, admin=404), person_id=UNKNOWN),
    row("POST", "/api/people/{person_id}/activate", hr_writes(200), person_id="subject"),
    # Erasure: HR asks (asking again answers the request already waiting); a SECOND HR admin approves —
    # the asker (hr) is refused like everybody else without the role.
    row("POST", "/api/people/{person_id}/erasure", rule(403, hr=201, admin=201), erasure_reason, person_id="subject"),
    row("POST", "/api/erasures/{request_id}/approve", rule(403, admin=200), request_id="erasure"),
    row("POST", "/api/erasures/{request_id}/approve", rule(403, hr=404, admin=404), request_id=UNKNOWN),
    row("GET", "/api/me/export", EVERYONE),  # one's own data only
    row("POST", "/api/people/import", hr_writes(200), csv),
    # Self, own manager and readers; a peer or the skip-level (the CEO, our designer) learn nothing.
    row("GET", "/api/people/{person_id}", rule(404, employee=200, manager=200, **SEE_ALL), person_id="subject"),
    # HR (reading themself) reports to the CEO (our designer), not to design.lead: 404 for a non-report.
    row("GET", "/api/people/{person_id}", rule(404, designer=200, **SEE_ALL), person_id="hr_person"),
    row("GET", "/api/people/{person_id}", rule(404), person_id=UNKNOWN),
    # Allowed callers get 200, not 201: the files are identical to version 1, so nothing new is deployed.
    row("POST", "/api/definitions", rule(403, hr=200, designer=200, admin=200), checkin_files),
    row("GET", "/api/definitions", DEFINITION_READERS),
    row("GET", "/api/definitions/{key}", DEFINITION_READERS, key="key"),
    row("GET", "/api/definitions/{key}", rule(403, hr=404, designer=404, auditor=404, admin=404), key="no_such_key"),
    row("GET", "/api/definitions/{key}/versions/{version}/bpmn", DEFINITION_READERS, key="key", version=1),
    row("POST", "/api/cycles", hr_writes(201), new_cycle),
    row("GET", "/api/cycles", SCOPED_READERS),
    row("GET", CYCLE, SCOPED_READERS, cycle_id="cycle"),
    row("GET", CYCLE, rule(403, hr=404, hr_partner=404, auditor=404, admin=404), cycle_id=UNKNOWN),
    row("POST", CYCLE + "/preflight", hr_writes(200), cycle_id="cycle"),
    row("PATCH", CYCLE + "/settings", hr_writes(200), settings_change, cycle_id="cycle"),
    row("PATCH", CYCLE + "/settings", rule(403, hr=404, admin=404), settings_change, cycle_id=UNKNOWN),
    row("POST", CYCLE + "/launch", hr_writes(202), cycle_id="cycle"),  # again: resumes, creates nothing new
    row("POST", CYCLE + "/release", hr_writes(200), cycle_id="cycle"),  # nothing waits for results: 0 released
    # Migration and what-if replay are HR's: the matrix cycle runs on version 1 already (nothing to move), and has
    # no completed review to replay; its instance was never migrated (409: nothing to revert).
    row("POST", CYCLE + "/migrate", hr_writes(200), to_version_1, cycle_id="cycle"),
    row("POST", CYCLE + "/migrate", rule(403, hr=404, admin=404), to_version_1, cycle_id=UNKNOWN),
    row("POST", CYCLE + "/replay", hr_writes(200), to_version_1, cycle_id="cycle"),
    row("POST", CYCLE + "/replay", rule(403, hr=404, admin=404), to_version_1, cycle_id=UNKNOWN),
    row("POST", INSTANCE + "/migrate/revert", hr_writes(409), instance_id="instance"),
    row("POST", INSTANCE + "/migrate/revert", rule(403, hr=404, admin=404), instance_id=UNKNOWN),
    row("GET", CYCLE + "/reports/{name}", SCOPED_READERS, cycle_id="cycle", name="completion"),
    row("GET", CYCLE + "/reports/{name}", SCOPED_READERS, cycle_id="cycle", name="distribution"),
    row("GET", CYCLE + "/reports/{name}", SCOPED_READERS, cycle_id="cycle", name="leniency"),
    row("GET", CYCLE + "/reports/{name}", SCOPED_READERS, cycle_id="cycle", name="goal-alignment"),
    row("GET", CYCLE + "/reports/{name}", SCOPED_READERS, cycle_id="cycle", name="participation"),
    row("GET", CYCLE + "/reports/{name}", SCOPED_READERS, cycle_id="cycle", name="guidance"),
    row("GET", CYCLE + "/reports/{name}", SCOPED_READERS, cycle_id="cycle", name="nine-box"),
    row("GET", CYCLE + "/reports/{name}", SCOPED_READERS, cycle_id="cycle", name="calibration-deltas"),
    row(
        "GET",
        CYCLE + "/reports/{name}",
        rule(403, hr=404, hr_partner=404, auditor=404, admin=404),
        cycle_id=UNKNOWN,
        name="completion",
    ),
    row("GET", CYCLE + "/reports/{name}.csv", SCOPED_READERS, cycle_id="cycle", name="completion"),
    row("GET", CYCLE + "/reports/{name}.csv", SCOPED_READERS, cycle_id="cycle", name="distribution"),
    row("GET", CYCLE + "/reports/{name}.csv", SCOPED_READERS, cycle_id="cycle", name="leniency"),
    row("GET", CYCLE + "/reports/{name}.csv", SCOPED_READERS, cycle_id="cycle", name="goal-alignment"),
    row("GET", CYCLE + "/reports/{name}.csv", SCOPED_READERS, cycle_id="cycle", name="participation"),
    row("GET", CYCLE + "/reports/{name}.csv", SCOPED_READERS, cycle_id="cycle", name="guidance"),
    row("GET", CYCLE + "/reports/{name}.xlsx", SCOPED_READERS, cycle_id="cycle", name="distribution"),
    row("GET", CYCLE + "/reports/{name}.csv", SCOPED_READERS, cycle_id="cycle", name="calibration-deltas"),
    row("GET", "/api/tasks", EVERYONE),  # everyone has an inbox, possibly empty
    # A manager's team: their own direct reports only (the design lead's; the CEO's); 403 for whoever has none.
    row("GET", "/api/team", rule(403, manager=200, designer=200)),
    row("GET", TASK, rule(404, employee=200, **SEE_ALL), task_id="task"),
    row("GET", TASK, rule(404), task_id=UNKNOWN),
    row("PUT", TASK + "/draft", own_task(200), draft, task_id="task"),
    row("PUT", TASK + "/draft", rule(404), draft, task_id=UNKNOWN),
    row("POST", TASK + "/complete", own_task(200), submission, task_id="task"),
    row("POST", TASK + "/complete", rule(404), submission, task_id=UNKNOWN),
    # On behalf is HR's: the assignee and the auditor see the task and are refused openly; the admin comes after HR
    # with the same answer, already given (200, nothing changes). Details in tests/api/test_task_admin.py.
    row("POST", TASK + "/complete", rule(404, employee=403, hr=200, auditor=403, admin=200), on_behalf, task_id="task"),
    # HR's task administration: the second allowed caller repeats the first's request and gets the same answer.
    row("POST", TASK + "/reassign", hr_writes(200), reassignment, task_id="task"),
    row("POST", TASK + "/reassign", rule(403, hr=404, admin=404), reassignment, task_id=UNKNOWN),
    row("POST", TASK + "/delegate", own_task(200), delegation, task_id="task"),
    row("POST", TASK + "/delegate", rule(404), delegation, task_id=UNKNOWN),
    row("PUT", TASK + "/due", hr_writes(200), due_change, task_id="task"),
    row("PUT", TASK + "/due", rule(403, hr=404, admin=404), due_change, task_id=UNKNOWN),
    # The manager has no task in the subject's review yet, so it is not theirs; the peer has only their own.
    row("GET", INSTANCE, rule(404, employee=200, **SEE_ALL), instance_id="instance"),
    row("GET", INSTANCE, rule(404), instance_id=UNKNOWN),
    row("GET", INSTANCE + "/events", READERS, instance_id="instance"),
    # Opening rater detail is an audited read: readers outside the review (HR here is the subject's HR partner, not
    # in the manager chain) may; it records who and why. Involved readers are refused: tests/api/test_anonymity.py.
    row("POST", INSTANCE + "/rater-detail", rule(403, hr=201, auditor=201, admin=201), reason, instance_id="instance"),
    row("POST", INSTANCE + "/rater-detail", rule(403, hr=404, auditor=404, admin=404), reason, instance_id=UNKNOWN),
    # Live operations (engine/ops/): HR only. The matrix task is open, so there is nothing to reopen (409); a cancel
    # and a repeat of it (the admin after HR) both answer 200; adding a participant already in answers 202 again.
    row("POST", TASK + "/reopen", hr_writes(409), reason, task_id="task"),
    row("POST", TASK + "/reopen", rule(403, hr=404, admin=404), reason, task_id=UNKNOWN),
    row("POST", INSTANCE + "/cancel", hr_writes(200), reason, instance_id="instance"),
    row("POST", INSTANCE + "/cancel", rule(403, hr=404, admin=404), reason, instance_id=UNKNOWN),
    row("POST", CYCLE + "/participants", hr_writes(202), participants_body, cycle_id="cycle"),
    row("POST", CYCLE + "/participants", rule(403, hr=404, admin=404), participants_body, cycle_id=UNKNOWN),
    row("GET", "/api/audit/verify", READERS),
    row("GET", "/api/incidents", READERS),
    # resolving a real incident (202, then 409 once it is retrying) is in tests/jobs/test_incidents.py
    row("POST", "/api/incidents/{incident_id}/resolve", rule(403, hr=404, admin=404), incident_id=UNKNOWN),
    # The matrix cycle does not use calibration: HR is told so (422) rather than creating a group.
    row("POST", CYCLE + "/calibration-groups", hr_writes(422), group_spec, cycle_id="cycle"),
    row("GET", CYCLE + "/calibration-groups", READERS, cycle_id="cycle"),
    row("GET", CYCLE + "/calibration-groups", rule(403, hr=404, auditor=404, admin=404), cycle_id=UNKNOWN),
    # The group's facilitator (the manager) and committee (the CEO, our designer) read it; members learn nothing.
    row("GET", "/api/calibration-groups/{group_id}", rule(404, manager=200, designer=200, **SEE_ALL), group_id="group"),
    row("GET", "/api/calibration-groups/{group_id}", rule(404), group_id=UNKNOWN),
    # Opening needs the calibration diagram deployed; the matrix world has only the check-in one (422).
    row("POST", "/api/calibration-groups/{group_id}/open", hr_writes(422), group_id="group"),
    row("POST", "/api/calibration-groups/{group_id}/open", rule(403, hr=404, admin=404), group_id=UNKNOWN),
]
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
OWN_SESSION = {"/api/auth/logout"}  # a POST that ends the caller's own token: auditors may
PERSONAL = {"/api/team"}  # about the caller's own relations (their direct reports): a reader has none to read
AUDITED_READS = {INSTANCE + "/rater-detail"}  # a POST that changes nothing but the audit log: auditors may


def _api_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the app serves under /api, through included routers too."""
    app = create_app()
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.16x keeps included routers nested

        routes: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:  # pragma: no cover - older FastAPI flattens app.routes itself
        routes = list(app.routes)
    found = {
        (m, r.path)
        for r in routes
        for m in (getattr(r, "methods", None) or ())
        if (r.path or "").startswith("/api") and m != "HEAD"
    }
    assert len(found) >= 20, f"route discovery found only {sorted(found)}"
    return found


def test_every_api_route_has_a_row():
    in_table = {(row.method, row.route) for row in TABLE}
    served = _api_routes()
    assert sorted(served - in_table) == [], "routes without a policy row in this matrix"
    assert sorted(in_table - served) == [], "rows for routes the app no longer serves"


def test_the_table_keeps_the_global_rules():
    for row in TABLE:
        assert set(row.expect) == set(CALLERS), row.name
        if row.route == "/api/auth/token":
            continue
        assert row.expect["anon"] == row.expect["bad"] == 401, row.name
        real_ids = UNKNOWN not in row.ids.values() and "no_such_key" not in row.ids.values()
        if row.route in OWN_SESSION:
            assert row.expect["auditor"] == 200, f"{row.name}: the auditor may sign out"
        elif row.route in PERSONAL:
            assert row.expect["auditor"] == row.expect["employee"], f"{row.name}: the auditor is nobody's manager"
        elif row.route in AUDITED_READS and real_ids:
            assert row.expect["auditor"] == 201, f"{row.name}: the auditor may open what they read, with a reason"
        elif row.method in WRITES and real_ids:
            assert row.expect["auditor"] == 403, f"{row.name}: the auditor changes nothing"
        elif real_ids:
            assert row.expect["auditor"] == 200, f"{row.name}: the auditor reads everything"


@pytest.fixture
def world(client, session) -> dict[str, Any]:
    people = f.org(session)
    ids = {"subject": people[EMPLOYEE].id, "hr_person": people[f.HR].id}
    for email, role in ((AUDITOR, "auditor"), (ADMIN, "admin"), (PARTNER, "hr_partner")):
        accounts.create_account(session, email=email, roles=[role], password=None, actor="test")
    definition = f.deploy(session)
    cycle = f.launched(session, definition, [EMPLOYEE, OTHER])
    # partnered after launch, so the reviews' lanes (frozen at launch) stay as they were
    session.get(Person, ids["subject"]).hr_partner_id = session.query(Person).filter_by(email=PARTNER).one().id
    session.commit()
    headers = {c: f.token(session, e) for c, e in CALLERS.items() if e not in (None, "bad")}
    headers.update(anon={}, bad={"Authorization": "Bearer rf_this-token-was-never-issued"})
    accounts.issue_token(session, email=EMPLOYEE, hours=1, label="spare", actor="test")
    [spare] = [t for t in tokens.list_tokens(session, viewer=None, email=EMPLOYEE) if t.label == "spare"]
    group = CalibrationGroup(
        cycle_id=cycle.id,
        name="Matrix group",
        selector={"people": [EMPLOYEE]},
        facilitator_id=people[MANAGER].id,
        committee=[people[f.DESIGNER].id],
        members=[people[EMPLOYEE].id],
    )
    session.add(group)
    session.commit()
    [task] = client.get("/api/tasks", headers=headers["employee"]).json()["items"]
    assert task["subject"]["email"] == EMPLOYEE
    asked = erasure.request(session, actor=people[f.HR], person_id=people[OTHER].id, reason="Asked by email")
    return {
        "erasure": asked["id"],
        **ids,
        "key": definition.key,
        "no_such_key": "no_such_key",
        **{name: name for name in REPORTS},  # report names are literal path segments
        "cycle": cycle.id,
        "group": group.id,
        "spare": spare.id,
        "task": task["id"],
        "instance": task["instance_id"],
        "headers": headers,
        "login": {"email": f.HR, "password": "S3cret-pass!"},
    }


def _path(row: Row, w: dict[str, Any]) -> str:
    return row.route.format(**{k: v if isinstance(v, int) else w[v] for k, v in row.ids.items()})


@pytest.mark.parametrize("row", TABLE, ids=lambda r: r.name)
def test_each_caller_gets_the_expected_status(client, world, row: Row):
    path = _path(row, world)
    got, bad_bodies = {}, []
    # Callers the policy refuses go first, so state-changing successes cannot mask a refusal.
    for caller in sorted(CALLERS, key=lambda c: 200 <= row.expect[c] < 300):
        kwargs = row.body(world) if row.body else {}
        r = client.request(row.method, path, headers=world["headers"][caller], **kwargs)
        got[caller] = r.status_code
        if r.status_code in ERROR_CODE:
            b = r.json()
            if b.get("error") != ERROR_CODE[r.status_code] or not b.get("detail") or "errors" not in b:
                bad_bodies.append((caller, b))
    assert got == row.expect, f"{row.method} {path}"
    assert bad_bodies == [], "error bodies need {error, detail, errors}"


def test_a_refused_employee_learns_nothing_about_someone_elses_task(client, world):
    """The 404 for a task that is not yours reads exactly like the 404 for one that does not exist."""
    h = world["headers"]["other"]
    theirs = client.get(f"/api/tasks/{world['task']}", headers=h).json()
    missing = client.get(f"/api/tasks/{UNKNOWN}", headers=h).json()
    assert theirs["error"] == missing["error"] == "not_found"
    assert theirs["detail"].replace(str(world["task"]), "N") == missing["detail"].replace(str(UNKNOWN), "N")
    assert EMPLOYEE not in str(theirs) and "write_checkin" not in str(theirs)
