"""The role x page authorization matrix: every web route, every kind of visitor, one expected outcome each.

A page route without a row fails `test_every_page_route_has_a_row`, so no page ships without a policy. Outcomes:
"login" = redirected to the sign-in page (not signed in); a number = that status. Pages follow the API's rules:
403 for a role that may not use the page, 404 for a task that is not yours (it does not even admit it exists).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.web import is_page
from engine.org import accounts
from tests import factories as f

EMPLOYEE, OTHER, MANAGER = "designer1@initech.test", "designer2@initech.test", "design.lead@initech.test"
AUDITOR, ADMIN = "auditor@initech.test", "admin@initech.test"
PARTNER = "partner@initech.test"
PASSWORD = "Page-pass-123"
CALLERS = {
    "anon": None,
    "employee": EMPLOYEE,  # the subject, with the open task
    "other": OTHER,  # a peer with a review of their own
    "manager": MANAGER,  # no task in the subject's review yet
    "hr": f.HR,
    # hr_partner of the subject: reports over the API only; the dashboards and instance pages are not scoped, so refused
    "hr_partner": PARTNER,
    "designer": f.DESIGNER,
    "auditor": AUDITOR,
    "admin": ADMIN,
}
SIGNED_IN = [c for c in CALLERS if c != "anon"]


def rule(default: Any, **special: Any) -> dict[str, Any]:
    """Anonymous visitors are sent to sign in (GET) or refused with 401 (POST); the others as named."""
    out = dict.fromkeys(CALLERS, default)
    out.update({"anon": "login", **special})
    return out


EVERYONE = rule(200)
READERS = rule(403, hr=200, auditor=200, admin=200)
HR_ONLY = rule(403, hr=200, admin=200)
DEPLOYERS = rule(403, hr=200, designer=200, admin=200)
DEFINITION_READERS = rule(403, hr=200, designer=200, auditor=200, admin=200)


@dataclass
class Row:
    method: str
    route: str
    expect: dict[str, Any]
    ids: dict[str, str] = field(default_factory=dict)
    body: Any = None  # world -> request kwargs (the CSRF token is added for POSTs)
    query: str = ""


def post(expect: dict[str, Any]) -> dict[str, Any]:
    """POSTs by an anonymous visitor (with a valid anonymous CSRF token) are refused with 401, not redirected."""
    return {**expect, "anon": 401}


def data(expect: dict[str, Any]) -> dict[str, Any]:
    """Data the pages' scripts fetch (.xml, .json, .csv) answer an anonymous caller 401, not a redirect."""
    return {**expect, "anon": 401}


def checkin_xml(w: dict) -> dict:
    return {"json": {"source": {"key": w["key"], "version": 1}, "xml": w["xml"]}}


TABLE = [
    Row("GET", "/", rule(303)),
    Row("GET", "/login", rule(200, anon=200)),
    Row("POST", "/login", rule(303, anon=303), body=lambda w: {"data": {"email": f.HR, "password": PASSWORD}}),
    # sign-in through the identity provider (public; 404 here: no provider is configured in this matrix, see
    # tests/web/test_oidc_sign_in.py for the flows)
    Row("GET", "/login/oidc", rule(404, anon=404)),
    Row("GET", "/login/oidc/callback", rule(404, anon=404)),
    Row("GET", "/lang/{code}", rule(303, anon=303), ids={"code": "zh-CN"}),
    Row("GET", "/inbox", EVERYONE),
    Row("GET", "/results", EVERYONE),
    # A manager's own direct reports (engine/org/scope.py): the design lead and the CEO have some; nobody else does.
    Row("GET", "/team", rule(403, manager=200, designer=200)),
    Row("GET", "/tasks/{task_id}", rule(404, employee=200, hr=200, auditor=200, admin=200), ids={"task_id": "task"}),
    Row("GET", "/definitions", DEFINITION_READERS),
    Row(
        "GET",
        "/definitions/{key}/versions/{version}/diagram.xml",
        data(DEFINITION_READERS),
        {"key": "key", "version": "1"},
    ),
    Row("GET", "/modeler", DEPLOYERS, query="?key=quarterly_checkin&version=1"),
    Row("GET", "/people", HR_ONLY),
    Row("GET", "/cycles", READERS),
    Row("GET", "/cycles/new", HR_ONLY),
    Row("GET", "/cycles/{cycle_id}", READERS, ids={"cycle_id": "cycle"}),
    Row("GET", "/cycles/{cycle_id}/progress.json", data(READERS), ids={"cycle_id": "cycle"}),
    Row("GET", "/audit", READERS),
    Row("GET", "/instances/{instance_id}", READERS, ids={"instance_id": "instance"}),
    Row(  # HR fills in an open task for its assignee (a page that exists only to change something)
        "GET",
        "/instances/{instance_id}/tasks/{task_id}/on-behalf",
        HR_ONLY,
        ids={"instance_id": "instance", "task_id": "task"},
    ),
    Row("GET", "/instances/{instance_id}/diagram.xml", data(READERS), ids={"instance_id": "instance"}),
    Row("GET", "/instances/{instance_id}/events.json", data(READERS), ids={"instance_id": "instance"}),
    Row("GET", "/instances/{instance_id}/events.csv", data(READERS), ids={"instance_id": "instance"}),
    # Writes last, so they cannot hide a refusal above. A draft: only the assignee; readers are refused openly.
    Row(
        "POST",
        "/tasks/{task_id}",
        post(rule(404, employee=303, hr=403, auditor=403, admin=403)),
        ids={"task_id": "task"},
        body=lambda w: {"data": {"action": "draft", "progress": "half-way"}},
    ),
    Row(  # the form's autosave: the same rule as its "Save draft"
        "PUT",
        "/tasks/{task_id}/draft",
        post(rule(404, employee=200, hr=403, auditor=403, admin=403)),
        ids={"task_id": "task"},
        body=lambda w: {"data": {"progress": "a third of the way"}},
    ),
    # A browser preference (a cookie), like the page language: everybody signed in may set theirs.
    Row("POST", "/settings/time-zone", post(rule(303)), body=lambda w: {"data": {"tz": "Asia/Shanghai"}}),
    Row("POST", "/modeler/deploy", post(DEPLOYERS), body=checkin_xml),  # identical files: 200, nothing new
    Row(
        "POST",
        "/people",
        post(HR_ONLY),
        body=lambda w: {"files": {"file": ("org.csv", f.ORG.encode(), "text/csv")}},
    ),
    Row(
        "POST",
        "/cycles",
        post(rule(403, hr=303, admin=303)),
        body=lambda w: {"data": {"name": "Page cycle", "definition": w["key"], "mode": "emails", "emails": OTHER}},
    ),
    Row("POST", "/cycles/{cycle_id}/preflight", post(HR_ONLY), ids={"cycle_id": "cycle"}),
    Row("POST", "/cycles/{cycle_id}/launch", post(rule(403, hr=303, admin=303)), ids={"cycle_id": "cycle"}),
    # An audited read (the reason goes to the audit log): readers outside the review, the auditor included.
    Row(
        "POST",
        "/instances/{instance_id}/rater-detail",
        post(rule(403, hr=303, auditor=303, admin=303)),
        ids={"instance_id": "instance"},
        body=lambda w: {"data": {"reason": "Checking a grievance about one comment"}},
    ),
    # HR's live operations: each preview changes nothing; the confirms run last (the cancel ends the review).
    Row(
        "POST",
        "/instances/{instance_id}/tasks/{task_id}/reassign/preview",
        post(HR_ONLY),
        ids={"instance_id": "instance", "task_id": "task"},
        body=lambda w: {"data": {"to": OTHER, "reason": "Covering a leave"}},
    ),
    Row(  # the task is open: the reopen is refused for HR with 409 (after the permission check)
        "POST",
        "/instances/{instance_id}/tasks/{task_id}/reopen/preview",
        post(rule(403, hr=409, admin=409)),
        ids={"instance_id": "instance", "task_id": "task"},
        body=lambda w: {"data": {"reason": "Answered for the wrong quarter"}},
    ),
    Row(
        "POST",
        "/instances/{instance_id}/cancel/preview",
        post(HR_ONLY),
        ids={"instance_id": "instance"},
        body=lambda w: {"data": {"reason": "Left the company"}},
    ),
    Row(
        "POST",
        "/cycles/{cycle_id}/participants/preview",
        post(HR_ONLY),
        ids={"cycle_id": "cycle"},
        body=lambda w: {"data": {"emails": MANAGER}},
    ),
    # Diagram versions and the org-change preview (api/web/version_pages.py): only version 1 is deployed, so the
    # check finds every review there already and the move moves nothing; a review never moved cannot be undone (409).
    Row(
        "POST",
        "/cycles/{cycle_id}/migrate/preview",
        post(HR_ONLY),
        ids={"cycle_id": "cycle"},
        body=lambda w: {"data": {"to_version": "1"}},
    ),
    Row(
        "POST",
        "/cycles/{cycle_id}/replay",
        post(HR_ONLY),
        ids={"cycle_id": "cycle"},
        body=lambda w: {"data": {"to_version": "1"}},
    ),
    Row(
        "POST",
        "/instances/{instance_id}/migrate/revert/preview",
        post(rule(403, hr=409, admin=409)),
        ids={"instance_id": "instance"},
    ),
    Row(
        "POST",
        "/people/preview",
        post(HR_ONLY),
        body=lambda w: {"files": {"file": ("org.csv", f.ORG.encode(), "text/csv")}},
    ),
    # Task administration (api/web/task_admin_pages.py): the assignee delegates (readers are refused openly, the
    # rest do not learn the task exists); HR moves a due date. Previews first, then the confirms.
    Row(
        "POST",
        "/tasks/{task_id}/delegate/preview",
        post(rule(404, employee=200, hr=403, auditor=403, admin=403)),
        ids={"task_id": "task"},
        body=lambda w: {"data": {"to": MANAGER, "until": ""}},
    ),
    Row(
        "POST",
        "/instances/{instance_id}/tasks/{task_id}/due/preview",
        post(HR_ONLY),
        ids={"instance_id": "instance", "task_id": "task"},
        body=lambda w: {"data": {"due_at": "2099-01-01T09:00", "reason": "Covering a leave"}},
    ),
    Row(  # without a reason: refused for HR with 422 (after the permission check), the task stays open
        "POST",
        "/instances/{instance_id}/tasks/{task_id}/on-behalf",
        post(rule(403, hr=422, admin=422)),
        ids={"instance_id": "instance", "task_id": "task"},
        body=lambda w: {"data": {"progress": "Shipped the icons", "mood": "4"}},
    ),
    Row(
        "POST",
        "/tasks/{task_id}/delegate",
        post(rule(404, employee=303, hr=403, auditor=403, admin=403)),
        ids={"task_id": "task"},
        body=lambda w: {"data": {"to": MANAGER, "until": ""}},
    ),
    Row(
        "POST",
        "/instances/{instance_id}/tasks/{task_id}/due",
        post(rule(403, hr=303, admin=303)),
        ids={"instance_id": "instance", "task_id": "task"},
        body=lambda w: {"data": {"due_at": "2099-01-01T09:00", "reason": "Covering a leave"}},
    ),
    Row(
        "POST",
        "/instances/{instance_id}/tasks/{task_id}/reassign",
        post(rule(403, hr=303, admin=303)),
        ids={"instance_id": "instance", "task_id": "task"},
        body=lambda w: {"data": {"to": OTHER, "reason": "Covering a leave"}},
    ),
    Row(
        "POST",
        "/instances/{instance_id}/tasks/{task_id}/reopen",
        post(rule(403, hr=409, admin=409)),
        ids={"instance_id": "instance", "task_id": "task"},
        body=lambda w: {"data": {"reason": "Answered for the wrong quarter"}},
    ),
    Row(
        "POST",
        "/cycles/{cycle_id}/participants",
        post(rule(403, hr=303, admin=303)),
        ids={"cycle_id": "cycle"},
        body=lambda w: {"data": {"emails": MANAGER}},
    ),
    Row(
        "POST",
        "/cycles/{cycle_id}/migrate",
        post(rule(403, hr=303, admin=303)),
        ids={"cycle_id": "cycle"},
        body=lambda w: {"data": {"to_version": "1"}},
    ),
    Row(
        "POST",
        "/instances/{instance_id}/migrate/revert",
        post(rule(403, hr=409, admin=409)),
        ids={"instance_id": "instance"},
    ),
    Row(  # the same org chart again: nothing changes
        "POST",
        "/people/confirm",
        post(HR_ONLY),
        body=lambda w: {
            "data": {"content": base64.b64encode(f.ORG.encode()).decode()},
            "files": {"unused": ("", b"", "application/octet-stream")},
        },
    ),
    Row(
        "POST",
        "/instances/{instance_id}/cancel",
        post(rule(403, hr=303, admin=303)),
        ids={"instance_id": "instance"},
        body=lambda w: {"data": {"reason": "Left the company"}},
    ),
    Row("POST", "/logout", rule(303, anon=303)),
]


def page_routes() -> set[tuple[str, str]]:
    app = create_app()
    try:
        from fastapi.routing import iter_route_contexts

        routes: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:  # pragma: no cover - older FastAPI flattens app.routes itself
        routes = list(app.routes)

    class _Req:  # `is_page` looks at the URL path only
        def __init__(self, path: str) -> None:
            self.url = type("U", (), {"path": path})()

    found = {
        (m, r.path)
        for r in routes
        for m in (getattr(r, "methods", None) or ())
        if m != "HEAD" and is_page(_Req(r.path)) and not r.path.startswith("/static")  # type: ignore[arg-type]
    }
    assert len(found) >= 20, f"route discovery found only {sorted(found)}"
    return found


def test_every_page_route_has_a_row():
    in_table = {(row.method, row.route) for row in TABLE}
    served = page_routes()
    assert sorted(served - in_table) == [], "page routes without a policy row in this matrix"
    assert sorted(in_table - served) == [], "rows for page routes the app no longer serves"


# pages that exist only to change something
FORM_PAGES = {"/modeler", "/cycles/new", "/people", "/instances/{instance_id}/tasks/{task_id}/on-behalf"}
PERSONAL_PAGES = {"/team"}  # about the visitor's own relations (their direct reports): nothing for a reader to read
AUDITED_READS = {"/instances/{instance_id}/rater-detail"}  # a POST that opens what a reader may read, audited


PUBLIC = {"/login", "/login/oidc", "/login/oidc/callback", "/logout", "/lang/{code}", "/settings/time-zone"}


def test_the_table_keeps_the_global_rules():
    for row in TABLE:
        assert set(row.expect) == set(CALLERS), row.route
        if row.route in (
            "/login",
            "/login/oidc",
            "/login/oidc/callback",
            "/logout",
            "/lang/{code}",
            "/settings/time-zone",
        ):
            continue
        assert row.expect["anon"] in ("login", 401), f"{row.route}: anonymous visitors sign in first"
        if row.route in AUDITED_READS:
            assert row.expect["auditor"] == 303, f"{row.route}: the auditor may open what they read, with a reason"
        elif row.method in ("POST", "PUT") or row.route in FORM_PAGES | PERSONAL_PAGES:
            assert row.expect["auditor"] in (403, 404), f"{row.route}: the auditor changes nothing"
        else:
            assert row.expect["auditor"] in (200, 303), f"{row.route}: the auditor reads everything"


def csrf_of(client: TestClient, path: str = "/login") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, "every page with a form carries a CSRF token"
    return match.group(1)


def signed_in(app: Any, email: str | None) -> TestClient:
    client = TestClient(app)
    token = csrf_of(client)
    if email:
        r = client.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}, follow_redirects=False
        )
        assert r.status_code == 303, (email, r.text[:300])
    return client


def build_world(session: Any) -> dict[str, Any]:
    f.org(session)
    for email, roles in ((AUDITOR, ["auditor"]), (ADMIN, ["admin"]), (PARTNER, ["hr_partner"])):
        accounts.create_account(session, email=email, roles=roles, password=None, actor="test")
    for email in [e for e in CALLERS.values() if e]:
        accounts.create_account(session, email=email, roles=[], password=PASSWORD, actor="test")
    definition = f.deploy(session)
    cycle = f.launched(session, definition, [EMPLOYEE, OTHER])
    subject, partner = (f.people.by_email(session, e) for e in (EMPLOYEE, PARTNER))
    assert subject is not None and partner is not None
    subject.hr_partner_id = partner.id  # after launch: the reviews' lanes stay as they were
    session.commit()
    [task] = [t for t in cycle_tasks(session) if t["subject"]["email"] == EMPLOYEE]
    xml = next(fl.content for fl in definition.files if fl.kind == "bpmn")
    return {"key": definition.key, "cycle": cycle.id, "task": task["id"], "instance": task["instance_id"], "xml": xml}


def cycle_tasks(session: Any) -> list[dict[str, Any]]:
    from engine.queries import views

    person = f.people.by_email(session, EMPLOYEE)
    return views.list_tasks(session, actor=person, status="open")


def outcome(response: Any) -> Any:
    if response.status_code == 303 and response.headers["location"].startswith("/login?next="):
        return "login"
    return response.status_code


def test_each_visitor_gets_the_expected_outcome(db_engine, session):
    world = build_world(session)
    app = create_app()
    clients = {caller: signed_in(app, email) for caller, email in CALLERS.items()}
    mismatches = []
    for row in TABLE:
        path = row.route.format(**{k: world.get(v, v) for k, v in row.ids.items()}) + row.query
        for caller in sorted(CALLERS, key=lambda c: 200 <= (row.expect[c] if row.expect[c] != "login" else 0) < 400):
            client = clients[caller]
            kwargs = row.body(world) if row.body else {}
            if row.method in ("POST", "PUT"):
                token = csrf_of(client, "/login")
                if "json" in kwargs:
                    kwargs["headers"] = {"X-CSRF-Token": token}
                else:
                    kwargs["data"] = {**kwargs.get("data", {}), "csrf_token": token}
            r = client.request(row.method, path, follow_redirects=False, **kwargs)
            got = outcome(r)
            if got != row.expect[caller]:
                mismatches.append((row.method, path, caller, row.expect[caller], got, r.text[:200]))
            if row.route == "/login" and row.method == "POST":
                clients[caller] = signed_in(app, CALLERS[caller])  # signing in as HR replaced the session
    assert mismatches == [], "\n".join(map(str, mismatches))
