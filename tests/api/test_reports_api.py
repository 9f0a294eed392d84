"""Reports over HTTP: JSON shapes, CSV for spreadsheets (BOM, Chinese intact, formulas neutralised), who may read,
and nothing of who gave 360 feedback or what they wrote."""

from __future__ import annotations

import codecs
import csv
import io
import json

import pytest

from engine.org import accounts
from engine.store.models import Person, ReviewRecord
from tests import factories as f
from tests.engine.reports.test_reports import seed_cycle
from tests.workflows.steps import PEERS, drive_to_release

pytestmark = pytest.mark.both_dbs

AUDITOR = "auditor@initech.test"
EVIL = '=HYPERLINK("http://evil.test","click")'
NAMES = (
    "completion",
    "distribution",
    "leniency",
    "goal-alignment",
    "participation",
    "guidance",
    "nine-box",
    "calibration-deltas",  # answers for every cycle: empty when the cycle calibrates nobody
)


@pytest.fixture
def world(client, session):
    cycle, people = seed_cycle(session, {"孔经理": ("设计部", [3, 4]), EVIL: ("@ops", [2, 2, 5])})
    goal = {"cycle_id": cycle.id, "kind": "goal", "dimension": "goal:0"}
    member = session.query(Person).filter_by(manager_id=people["孔经理"].id).first()
    inst_id = session.query(ReviewRecord).filter_by(subject_id=member.id).first().instance_id
    session.add(ReviewRecord(**goal, instance_id=inst_id, subject_id=member.id, data={"aligned_to": "G1"}))
    session.add(ReviewRecord(**goal, instance_id=inst_id, subject_id=member.id, data={"aligned_to": "  "}))
    session.commit()
    accounts.create_account(session, email=AUDITOR, roles=["auditor"], password=None, actor="test")
    headers = {e: f.token(session, e) for e in (f.HR, AUDITOR, "designer1@initech.test", "design.lead@initech.test")}
    return {"cycle": cycle.id, "headers": headers}


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_json_reports_have_their_shape(client, world):
    h, base = world["headers"][f.HR], f"/api/cycles/{world['cycle']}/reports"
    got = {name: client.get(f"{base}/{name}", headers=h) for name in NAMES}
    assert {n: r.status_code for n, r in got.items()} == dict.fromkeys(NAMES, 200)
    body = {n: r.json() for n, r in got.items()}
    assert set(body["completion"]) >= {"by_phase", "by_department", "by_manager", "slowest_steps", "as_of"}
    assert body["distribution"]["overall"]["before"] == {"2": 2, "3": 1, "4": 1, "5": 1}
    assert {g["group"] for g in body["distribution"]["groups"]} == {"设计部", "@ops"}
    by_manager = client.get(f"{base}/distribution?by=manager", headers=h).json()
    assert {g["manager"]["name"] for g in by_manager["groups"]} == {"孔经理", EVIL}
    assert [m["flag"] for m in body["leniency"]["managers"]] == ["too_small_to_tell"] * 2
    assert body["goal-alignment"]["goals"] == 2 and body["goal-alignment"]["aligned"] == 1
    assert [p["perspective"] for p in body["participation"]["perspectives"]] == ["peer", "direct_report"]
    bad = client.get(f"{base}/distribution?by=title", headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "by"


def test_an_unknown_report_is_404_and_lists_the_names(client, world):
    for suffix in ("", ".csv"):
        r = client.get(f"/api/cycles/{world['cycle']}/reports/salaries{suffix}", headers=world["headers"][f.HR])
        assert r.status_code == 404
        assert r.json()["error"] == "not_found" and r.json()["errors"][0]["allowed"] == sorted(NAMES)


def test_csv_has_a_bom_one_header_chinese_intact_and_no_live_formulas(client, world):
    h, base = world["headers"][AUDITOR], f"/api/cycles/{world['cycle']}/reports"
    rows = rows_of(client.get(f"{base}/distribution.csv?by=manager", headers=h))
    assert rows[0] == ["manager", "rating", "before", "after"]
    assert sum(1 for r in rows if r[:2] == ["manager", "rating"]) == 1
    labels = {r[0] for r in rows[1:]}
    assert "孔经理 <m0@seed.test>" in labels
    assert "'" + EVIL + " <m1@seed.test>" in labels
    assert ["(all)", "2", "2", "2"] in rows
    departments = rows_of(client.get(f"{base}/distribution.csv", headers=h))
    assert {r[0] for r in departments[1:]} == {"(all)", "设计部", "'@ops"}
    for name in NAMES:
        table = rows_of(client.get(f"{base}/{name}.csv", headers=h))
        assert len({len(r) for r in table}) == 1, name  # every row as wide as the header
        assert not [c for r in table[1:] for c in r if c[:1] in ("=", "+", "@")], name
    leniency = rows_of(client.get(f"{base}/leniency.csv", headers=h))
    assert leniency[0][0] == "manager" and {r[0] for r in leniency[1:]} == {"孔经理", "'" + EVIL}


def test_only_readers_get_reports(client, world):
    base = f"/api/cycles/{world['cycle']}/reports"
    for email, status in (
        ("designer1@initech.test", 403),
        ("design.lead@initech.test", 403),
        (AUDITOR, 200),
        (f.HR, 200),
    ):
        for path in (f"{base}/leniency", f"{base}/leniency.csv"):
            assert client.get(path, headers=world["headers"][email]).status_code == status, (email, path)
    assert client.get(f"{base}/leniency").status_code == 401


def test_no_report_names_a_rater_or_quotes_a_comment(client, session):
    cycle = drive_to_release(session, overall=2)  # two peers answered with comments; a third was nominated
    h = f.token(session, f.HR)
    base = f"/api/cycles/{cycle.id}/reports"
    part = client.get(f"{base}/participation", headers=h).json()
    assert part["perspectives"][0] == {
        **part["perspectives"][0],
        "perspective": "peer",
        "requested": 2,
        "answered": 2,
    }
    blobs = []
    for name in NAMES:
        for query in ("", "?by=manager"):
            for suffix in ("", ".csv"):
                r = client.get(f"{base}/{name}{suffix}{query}", headers=h)
                assert r.status_code == 200, (name, suffix, query)
                blobs.append(r.content.decode("utf-8-sig"))
    text = "\n".join(blobs)
    assert json.loads(blobs[0])["by_phase"]  # the reports are not empty
    for secret in [*PEERS, "peer0", "Peer 0", "Peer 1", "Helpful always", "Plan further ahead", "rebuild trust"]:
        assert secret not in text, secret


def test_guidance_report_compares_each_group_with_the_cycle_guidance(client, world):
    h, base = world["headers"][f.HR], f"/api/cycles/{world['cycle']}/reports/guidance"
    body = client.get(f"{base}?by=department&stage=after", headers=h).json()
    assert body["stage"] == "after" and [b["band"] for b in body["overall"]["bands"]] == ["top", "middle", "bottom"]
    assert sum(b["count"] for b in body["overall"]["bands"]) == body["overall"]["n"] > 0
    assert all(isinstance(b["move"], int) for g in body["groups"] for b in g["bands"])
    assert client.get(f"{base}?stage=sideways", headers=h).status_code == 422
    rows = rows_of(client.get(f"{base}.csv", headers=h))
    assert rows[0] == ["group", "band", "count", "share", "target", "allowed_min", "allowed_max", "move"]
    assert [r[1] for r in rows[1:4]] == ["top", "middle", "bottom"]


def test_xlsx_opens_with_the_same_table_and_no_formulas(client, world):
    import io

    from openpyxl import load_workbook

    h, base = world["headers"][AUDITOR], f"/api/cycles/{world['cycle']}/reports"
    r = client.get(f"{base}/distribution.xlsx?by=manager", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content)).active
    table = [[c.value for c in row] for row in sheet.iter_rows()]
    csv_rows = rows_of(client.get(f"{base}/distribution.csv?by=manager", headers=h))
    assert [str(v) if v is not None else "" for v in table[0]] == csv_rows[0]
    assert len(table) == len(csv_rows)
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert (
        client.get(f"{base}/distribution.xlsx", headers=world["headers"]["designer1@initech.test"]).status_code == 403
    )
