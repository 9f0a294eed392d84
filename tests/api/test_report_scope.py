"""An HR partner's reports: every report, its CSV and its XLSX count and list only the people partnered to them —
out-of-scope people appear nowhere, not even inside a mean — while HR admins still see the whole cycle."""

from __future__ import annotations

import codecs
import csv
import io
import uuid

import pytest
from openpyxl import load_workbook

from engine.org import accounts
from engine.store.models import CalibrationGroup, Person, ReviewRecord, Task
from tests import factories as f
from tests.api.test_reports_api import NAMES as REPORT_NAMES
from tests.engine.reports.test_reports import seed_cycle

pytestmark = pytest.mark.both_dbs

PARTNER, LONELY = "partner@initech.test", "lonely.partner@initech.test"
NAMES = REPORT_NAMES  # every report the API serves
# seed_cycle names member i of manager m `m{m}.e{i}@seed.test` / "Member m.i"; managers are m0, m1, m2.
TEAMS = {"Lenny": ("Sales", [5, 5, 4, 4]), "Sam": ("Ops", [1, 2, 3]), "Tina": ("Ops", [3, 3])}
IN_SCOPE = ["m0.e0@seed.test", "m0.e1@seed.test", "m1.e0@seed.test", "m1.e1@seed.test"]  # ratings 5, 5, 1, 2
OUT_OF_SCOPE = ["m0.e2@seed.test", "m0.e3@seed.test", "m1.e2@seed.test", "m2.e0@seed.test", "m2.e1@seed.test"]
# Tina manages only out-of-scope people (and reports to the partner: a management line is not a partnership)
NEVER_SHOWN = [*OUT_OF_SCOPE, "Member 0.2", "Member 0.3", "Member 1.2", "Member 2.", "Tina", "m2@seed.test"]


@pytest.fixture
def world(client, session):
    cycle, managers = seed_cycle(session, TEAMS)
    partner = accounts.create_account(session, email=PARTNER, roles=["hr_partner"], password=None, actor="test")
    accounts.create_account(session, email=LONELY, roles=["hr_partner"], password=None, actor="test")
    members = {p.email: p for p in session.query(Person).filter(Person.email.like("m_.e_@seed.test"))}
    for email in IN_SCOPE:
        members[email].hr_partner_id = partner.person_id
    members["m1.e1@seed.test"].active = False  # left mid-cycle: still the partner's to report on
    session.query(Person).filter_by(email="designer2@initech.test").one().hr_partner_id = partner.person_id  # not in it
    managers["Tina"].manager_id = partner.person_id
    records = {r.subject_id: r for r in session.query(ReviewRecord).filter_by(dimension="overall", source="manager")}
    for person in members.values():
        instance_id = records[person.id].instance_id
        common = {"cycle_id": cycle.id, "instance_id": instance_id, "subject_id": person.id}
        session.add(ReviewRecord(**common, kind="rating", source="manager", dimension="potential", text="high"))
        for name, lane, status in (("manager_review", "Manager", "completed"), ("give_peer_feedback", "Peer", "open")):
            session.add(Task(instance_id=instance_id, spiff_id=str(uuid.uuid4()), name=name, lane=lane, status=status))
    for email, aligned in (("m0.e0@seed.test", "G1"), ("m2.e0@seed.test", "")):
        person = members[email]
        common = {"cycle_id": cycle.id, "instance_id": records[person.id].instance_id, "subject_id": person.id}
        session.add(ReviewRecord(**common, kind="goal", dimension="goal:0", data={"aligned_to": aligned}))
        change = {"manager": 5, "before": 5, "reason_code": "evidence", "comment": "Evidence the rating missed"}
        record = {"kind": "rating", "source": "calibration", "dimension": "overall", "score": 4, "data": change}
        session.add(ReviewRecord(**common, **record))
    hr = session.query(Person).filter_by(email=f.HR).one()
    calibrated = [members["m0.e0@seed.test"].id, members["m2.e0@seed.test"].id]
    group = {"name": "Mixed", "selector": {"people": []}, "facilitator_id": hr.id, "members": calibrated}
    session.add(CalibrationGroup(cycle_id=cycle.id, **group, status="locked"))
    session.commit()
    headers = {e: f.token(session, e) for e in (PARTNER, LONELY, f.HR)}
    return {"cycle": cycle.id, "headers": headers, "base": f"/api/cycles/{cycle.id}/reports"}


def get_json(client, world, email: str, name: str) -> dict:
    r = client.get(f"{world['base']}/{name}", headers=world["headers"][email])
    assert r.status_code == 200, (name, r.text)
    return r.json()


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.content.startswith(codecs.BOM_UTF8)
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def xlsx_rows(response) -> list[dict[str, object]]:
    assert response.status_code == 200, response.text
    header, *rows = load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_a_partner_sees_only_their_people_in_every_report(client, world):
    body = {name: get_json(client, world, PARTNER, name) for name in NAMES}
    for name, report in body.items():
        assert report["scope"] == {"kind": "partner", "people": 5}, name  # four in this cycle, one not in it
        text = str(report)
        assert [s for s in NEVER_SHOWN if s in text] == [], name

    phases = {p["phase"]: p for p in body["completion"]["by_phase"]}
    assert (phases["manager_review"]["done"], phases["give_peer_feedback"]["open"]) == (4, 4)
    assert {m["manager"]["name"] for m in body["completion"]["by_manager"]} == {"Lenny", "Sam"}
    assert body["distribution"]["overall"]["n"] == 4
    assert body["distribution"]["overall"]["before"] == {"1": 1, "2": 1, "5": 2}
    # Lenny's in-scope two (5, 5) against the other in-scope two (1, 2): Lenny's out-of-scope 4s count nowhere
    lenny, sam = body["leniency"]["managers"]
    assert (lenny["manager"]["name"], lenny["team_size"], lenny["team_mean"]) == ("Lenny", 2, 5)
    assert (lenny["others_size"], lenny["others_mean"]) == (2, 1.5)
    assert (sam["manager"]["name"], sam["team_size"], sam["others_mean"]) == ("Sam", 2, 5)
    assert body["leniency"]["rated"] == 4
    assert (body["goal-alignment"]["goals"], body["goal-alignment"]["aligned"]) == (1, 1)
    peer = next(p for p in body["participation"]["perspectives"] if p["perspective"] == "peer")
    assert (peer["requested"], peer["open"]) == (4, 4)
    assert body["guidance"]["overall"]["n"] == 4
    placed = {p["email"] for c in body["nine-box"]["cells"] for p in c["people"]}
    assert placed == set(IN_SCOPE) and body["nine-box"]["not_yet_rated"] == []
    deltas = body["calibration-deltas"]
    assert deltas["summary"]["calibrated_people"] == 1 and deltas["summary"]["changes"] == 1
    assert [c["person"]["email"] for c in deltas["changes"]] == ["m0.e0@seed.test"]


def test_a_partners_exports_list_only_their_people_and_say_so_in_the_file_name(client, world):
    h, base, cycle = world["headers"][PARTNER], world["base"], world["cycle"]
    for name in NAMES:
        for ext in ("csv", "xlsx"):
            r = client.get(f"{base}/{name}.{ext}", headers=h)
            assert r.status_code == 200, (name, ext, r.text)
            disposition = r.headers["content-disposition"]
            assert disposition == f'attachment; filename="cycle-{cycle}-{name}-partner.{ext}"'
            rows = csv_rows(r) if ext == "csv" else xlsx_rows(r)
            text = str(rows)
            assert [s for s in NEVER_SHOWN if s in text] == [], (name, ext)
    nine_csv = csv_rows(client.get(f"{base}/nine-box.csv", headers=h))
    nine_xlsx = xlsx_rows(client.get(f"{base}/nine-box.xlsx", headers=h))
    assert sorted(row["email"] for row in nine_csv) == sorted(row["email"] for row in nine_xlsx) == IN_SCOPE
    by_manager = xlsx_rows(client.get(f"{base}/distribution.xlsx?by=manager", headers=h))
    assert {row["manager"] for row in by_manager} == {"(all)", "Lenny <m0@seed.test>", "Sam <m1@seed.test>"}
    assert sum(row["before"] for row in by_manager if row["manager"] == "(all)") == 4
    leniency = xlsx_rows(client.get(f"{base}/leniency.xlsx", headers=h))
    assert [(row["manager"], row["team_size"], row["others_mean"]) for row in leniency] == [
        ("Lenny", 2, 1.5),
        ("Sam", 2, 5),
    ]


def test_hr_admin_still_sees_the_whole_cycle(client, world):
    h, base, cycle = world["headers"][f.HR], world["base"], world["cycle"]
    body = {name: get_json(client, world, f.HR, name) for name in NAMES}
    assert {report["scope"]["kind"] for report in body.values()} == {"all"}
    assert body["distribution"]["overall"]["n"] == 9
    assert [m["manager"]["name"] for m in body["leniency"]["managers"]] == ["Lenny", "Sam", "Tina"]
    assert body["goal-alignment"]["goals"] == 2
    assert body["calibration-deltas"]["summary"]["calibrated_people"] == 2
    r = client.get(f"{base}/nine-box.xlsx", headers=h)
    assert r.headers["content-disposition"] == f'attachment; filename="cycle-{cycle}-nine-box.xlsx"'
    assert sorted(row["email"] for row in xlsx_rows(r)) == sorted(IN_SCOPE + OUT_OF_SCOPE)


def test_a_partner_with_nobody_partnered_sees_empty_reports(client, world):
    body = {name: get_json(client, world, LONELY, name) for name in NAMES}
    assert {str(report["scope"]) for report in body.values()} == {str({"kind": "partner", "people": 0})}
    assert body["completion"]["by_phase"] == [] and body["distribution"]["overall"]["n"] == 0
    assert body["leniency"]["managers"] == [] and body["goal-alignment"]["goals"] == 0
    assert [c["count"] for c in body["nine-box"]["cells"]] == [0] * 9
    assert csv_rows(client.get(f"{world['base']}/nine-box.csv", headers=world["headers"][LONELY])) == []


def test_a_partners_cycle_summary_counts_only_their_people_and_lists_nobody(client, world):
    path = f"/api/cycles/{world['cycle']}"
    mine = client.get(path, headers=world["headers"][PARTNER]).json()
    assert mine["counts"]["instances"] == 4 and mine["counts"]["open_tasks"] == 4
    assert mine["scope"] == {"kind": "partner", "people": 5}
    assert not {"participants", "settings", "launch_problems", "launch"} & set(mine)
    assert client.get("/api/cycles", headers=world["headers"][PARTNER]).json() == [mine]
    everyone = client.get(path, headers=world["headers"][f.HR]).json()
    assert everyone["counts"]["instances"] == 9 and everyone["counts"]["open_tasks"] == 9
    assert everyone["scope"] == {"kind": "all"} and {"participants", "settings", "launch_problems"} <= set(everyone)


def test_a_partner_is_refused_what_only_hr_may_do(client, world, session):
    h, cycle = world["headers"][PARTNER], world["cycle"]
    csv_file = {"files": {"file": ("org.csv", f.ORG.encode(), "text/csv")}}
    instance = session.query(ReviewRecord).filter_by(cycle_id=cycle).first().instance_id
    for method, path, kwargs in (
        ("POST", "/api/cycles", {"json": {"name": "Mine", "definition": "quarterly_checkin"}}),
        ("POST", f"/api/cycles/{cycle}/preflight", {}),
        ("POST", f"/api/cycles/{cycle}/launch", {}),
        ("POST", f"/api/cycles/{cycle}/release", {}),
        ("GET", "/api/definitions", {}),
        ("POST", "/api/people/import", csv_file),
        ("GET", "/api/audit/verify", {}),
        ("GET", "/api/incidents", {}),
        ("GET", f"/api/instances/{instance}/events", {}),
        ("GET", f"/api/cycles/{cycle}/calibration-groups", {}),
    ):
        r = client.request(method, path, headers=h, **kwargs)
        assert (r.status_code, r.json()["error"]) == (403, "forbidden"), (method, path)


def test_an_unknown_report_is_404_in_every_format(client, world):
    for suffix in ("", ".csv", ".xlsx"):
        r = client.get(f"{world['base']}/salaries{suffix}", headers=world["headers"][PARTNER])
        assert (r.status_code, r.json()["error"]) == (404, "not_found"), suffix
