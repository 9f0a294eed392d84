"""Calibration over HTTP: HR creates, lists and opens groups; the facilitator and committee read the session's view
and nobody else learns it exists; the calibration-deltas report (JSON, CSV, XLSX) says who moved, by how much and
why, without naming who made the change."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from tests import factories as f
from tests.workflows.calibration_steps import (
    CEO,
    HR,
    MEMBERS,
    calibration_cycle,
    complete,
    make_group,
    to_manager_rating,
)
from tests.workflows.steps import LEAD, open_names

GROUP = {"name": "Designers", "selector": {"people": MEMBERS[:2]}, "facilitator": HR, "committee": [CEO]}


def test_hr_creates_lists_and_opens_groups(client, session):
    cycle = calibration_cycle(session)
    hr, ceo = f.token(session, HR), f.token(session, CEO)
    member = f.token(session, MEMBERS[0])
    url = f"/api/cycles/{cycle.id}/calibration-groups"

    bad = client.post(url, headers=hr, json={**GROUP, "selector": {"team": "Design"}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "selector"
    assert client.post(url, headers=member, json=GROUP).status_code == 403
    unknown = client.post(url, headers=hr, json={**GROUP, "committee": ["nobody@initech.test"]})
    assert unknown.status_code == 422 and "nobody@initech.test" in unknown.json()["detail"]

    created = client.post(url, headers=hr, json=GROUP)
    assert created.status_code == 201, created.text
    group = created.json()
    assert group["status"] == "waiting" and group["members"] == 2
    assert group["facilitator"] == HR and group["committee"] == [CEO]

    listed = client.get(url, headers=hr).json()
    assert [g["name"] for g in listed["items"]] == ["Designers"]
    assert listed["ungrouped"] == [MEMBERS[2]]  # with calibration on, this review would wait: HR is told
    preflight = client.post(f"/api/cycles/{cycle.id}/preflight", headers=hr).json()
    assert preflight["calibration"] == {"groups": 1, "ungrouped": [MEMBERS[2]]}
    [warned] = [w for w in preflight["warnings"] if w["email"] == MEMBERS[2]]
    assert any("in no calibration group" in text for text in warned["warnings"])

    view = client.get(f"/api/calibration-groups/{group['id']}", headers=ceo)  # committee member
    assert view.status_code == 200
    assert sorted(view.json()["view"]["not_yet_rated"]) == sorted(MEMBERS[:2])
    assert client.get(f"/api/calibration-groups/{group['id']}", headers=member).status_code == 404

    opened = client.post(f"/api/calibration-groups/{group['id']}/open", headers=hr)
    assert opened.status_code == 200 and opened.json()["status"] == "open"
    again = client.post(f"/api/calibration-groups/{group['id']}/open", headers=hr)
    assert again.status_code == 409 and "already open" in again.json()["detail"]
    assert "calibrate" in open_names(session, HR)


@pytest.mark.both_dbs
def test_calibration_deltas_report_and_exports(client, session):
    cycle = calibration_cycle(session)
    make_group(session, cycle)
    for subject in MEMBERS:
        to_manager_rating(session, subject)  # manager ratings 4, 5 and 2
    first = [
        {"person": MEMBERS[1], "rating": 3, "reason_code": "consistency", "comment": "In line with senior peers"},
        {"person": MEMBERS[2], "rating": 3, "reason_code": "evidence", "comment": "数据迁移项目按时完成且无事故"},
    ]
    complete(session, HR, "calibrate", {"changes": first, "calibration_decision": "sign_off"})
    complete(session, CEO, "sign_off", {"sign_off": "discuss", "sign_off_note": "3 is too low for designer2"})
    complete(session, LEAD, "sign_off", {"sign_off": "agree"})
    second = [{"person": MEMBERS[1], "rating": 4, "reason_code": "scope", "comment": "Led the redesign"}]
    complete(session, HR, "calibrate", {"changes": second, "calibration_decision": "sign_off"})
    complete(session, CEO, "sign_off", {"sign_off": "agree"})
    complete(session, LEAD, "sign_off", {"sign_off": "agree"})

    hr = f.token(session, HR)
    base = f"/api/cycles/{cycle.id}/reports/calibration-deltas"
    report = client.get(base, headers=hr)
    assert report.status_code == 200, report.text
    r = report.json()
    assert r["summary"] == {
        "groups": 1,
        "locked": 1,
        "calibrated_people": 3,
        "moved": 2,
        "up": 1,
        "down": 1,
        "mean_abs_delta": 1.0,
        "changes": 3,
    }
    moved = {p["person"]["email"]: p for p in r["people"]}
    assert moved[MEMBERS[1]]["manager_rating"] == 5 and moved[MEMBERS[1]]["calibrated_rating"] == 4
    assert moved[MEMBERS[1]]["delta"] == -1 and moved[MEMBERS[1]]["reason_codes"] == ["consistency", "scope"]
    assert moved[MEMBERS[2]]["delta"] == 1 and moved[MEMBERS[2]]["manager"]["email"] == LEAD
    assert MEMBERS[0] not in moved  # not changed: not listed as moved
    assert r["by_reason"]["consistency"] == {"changes": 1, "up": 0, "down": 1}
    assert [(c["before"], c["after"]) for c in r["changes"] if c["person"]["email"] == MEMBERS[1]] == [(5, 3), (3, 4)]
    # who changed what is the committee's decision: the facilitator and committee are never named
    for email in (HR, CEO):
        assert email not in report.text

    exported = client.get(base + ".csv", headers=hr)
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(row["email"], row["before"], row["after"], row["reason_code"]) for row in rows] == [
        (MEMBERS[1], "5", "3", "consistency"),
        (MEMBERS[2], "2", "3", "evidence"),
        (MEMBERS[1], "3", "4", "scope"),
    ]
    assert rows[1]["comment"] == "数据迁移项目按时完成且无事故"
    workbook = load_workbook(io.BytesIO(client.get(base + ".xlsx", headers=hr).content))
    sheet = workbook.active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("group", "name", "email") and len(values) == 4
    assert values[3][2] == MEMBERS[1] and values[3][8] == 1
    assert client.get(base, headers=f.token(session, MEMBERS[0])).status_code == 403
