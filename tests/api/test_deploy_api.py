"""Deploying diagrams over HTTP: versions, reading them back, and every way an upload is refused with a reason —
while the server keeps answering."""

from __future__ import annotations

import time
from typing import Any
from xml.sax.saxutils import escape

import pytest

from tests import factories as f

KEY = "quarterly_checkin"
BPMN = "quarterly_checkin.bpmn"
SCRIPTED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="x">
  <bpmn:process id="scored" name="Scored review" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="ack" name="Acknowledge">
      <bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="calc_score"><bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>c</bpmn:outgoing>
      <bpmn:script>CODE</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="e"><bpmn:incoming>c</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="ack"/>
    <bpmn:sequenceFlow id="b" sourceRef="ack" targetRef="calc_score"/>
    <bpmn:sequenceFlow id="c" sourceRef="calc_score" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""
TINY = SCRIPTED.replace("scriptTask", "manualTask").replace("<bpmn:script>CODE</bpmn:script>", "")
BROKEN_JSON = b'{"type": "object",\n  "properties": {'
CANARY = "CANARY-5f0c1e-the-server-must-never-echo-this"
LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + ']>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol9;</bpmn:definitions>'
)


@pytest.fixture
def who(session) -> dict[str, dict[str, str]]:
    f.org(session)
    return {"hr": f.token(session, f.HR), "designer": f.token(session, f.DESIGNER)}


def checkin(**replace: bytes | None) -> list[tuple[str, bytes]]:
    """The check-in files; `replace` swaps a file's content, None leaves the file out."""
    out = [(n, replace.get(n, d)) for n, d in f.files(*f.CHECKIN)]
    return [(n, d) for n, d in out if d is not None]


def deploy(client, headers, files: list[tuple[str, bytes]]):
    upload = [("files", (n, d, "application/xml")) for n, d in files]
    return client.post("/api/definitions", headers=headers, files=upload)


def refused(r, status: int, code: str) -> list[dict[str, Any]]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == code and body["detail"] and isinstance(body["errors"], list)
    return body["errors"]


def invalid(client, headers, files: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
    """Deploy, expect the 422 refusal, and make sure nothing was deployed."""
    errors = refused(deploy(client, headers, files), 422, "definition_invalid")
    assert client.get("/api/definitions", headers=headers).json() == []
    return errors


def still_answers(client, headers) -> None:
    r = client.get("/api/definitions", headers=headers)
    assert r.status_code == 200, r.text


def scripted(code: str) -> list[tuple[str, bytes]]:
    return [("scored.bpmn", SCRIPTED.replace("CODE", escape(code)).encode())]


def test_several_files_deploy_as_version_1_and_identical_files_add_nothing(client, who):
    r = deploy(client, who["hr"], checkin())
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["key"], first["version"], first["warnings"]) == (KEY, 1, [])
    assert {x["name"] for x in first["files"]} == set(f.CHECKIN)
    again = deploy(client, who["hr"], checkin())
    assert again.status_code == 200, again.text
    assert again.json()["version"] == 1 and "identical" in again.json()["warnings"][-1]["message"]
    assert client.get(f"/api/definitions/{KEY}", headers=who["hr"]).json()["versions"] == [1]


def test_a_changed_file_makes_version_2_and_every_version_stays_readable(client, who):
    assert deploy(client, who["hr"], checkin()).status_code == 201
    hr_form = (f.DATA / "checkin-hr.schema.json").read_bytes().replace(b"Action taken", b"What HR did")
    r = deploy(client, who["hr"], checkin(**{"checkin-hr.schema.json": hr_form}))
    assert r.status_code == 201 and r.json()["version"] == 2, r.text
    listing = client.get("/api/definitions", headers=who["hr"]).json()
    assert [(d["key"], d["version"]) for d in listing] == [(KEY, 1), (KEY, 2)]
    latest = client.get(f"/api/definitions/{KEY}", headers=who["hr"]).json()
    assert (latest["version"], latest["versions"]) == (2, [1, 2])
    xml = client.get(f"/api/definitions/{KEY}/versions/1/bpmn", headers=who["hr"])
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    assert xml.text == (f.DATA / BPMN).read_text()
    refused(client.get(f"/api/definitions/{KEY}/versions/3/bpmn", headers=who["hr"]), 404, "not_found")
    refused(client.get("/api/definitions/nope", headers=who["hr"]), 404, "not_found")


def test_a_missing_form_file_names_the_user_task(client, who):
    errors = invalid(client, who["hr"], checkin(**{"checkin-hr.schema.json": None}))
    [missing] = [e for e in errors if e["element"] == "hr_follow_up"]
    assert "checkin-hr.schema.json" in missing["message"]


def test_an_invalid_json_form_names_the_file(client, who):
    errors = invalid(client, who["hr"], checkin(**{"checkin-hr.schema.json": BROKEN_JSON}))
    [bad] = [e for e in errors if e["file"] == "checkin-hr.schema.json"]
    assert bad["line"] == 2 and "JSON" in bad["message"]


def test_an_invalid_json_form_is_not_reported_as_missing(client, who):
    """The file was uploaded; telling the user it was not sends them looking for the wrong mistake."""
    errors = invalid(client, who["hr"], checkin(**{"checkin-hr.schema.json": BROKEN_JSON}))
    assert [e["message"] for e in errors if "not uploaded" in e["message"]] == []


def test_a_doctype_is_refused(client, who):
    xml = (f.DATA / BPMN).read_bytes().replace(b"?>", b'?>\n<!DOCTYPE bpmn:definitions SYSTEM "bpmn.dtd">', 1)
    errors = invalid(client, who["hr"], checkin(**{BPMN: xml}))
    assert errors[0]["file"] == BPMN and errors[0]["line"] == 2 and "DOCTYPE" in errors[0]["message"]
    still_answers(client, who["hr"])


def test_xxe_never_reveals_the_file(client, who, tmp_path):
    canary = tmp_path / "canary.txt"
    canary.write_text(CANARY)
    xml = (
        (f.DATA / BPMN)
        .read_text()
        .replace("?>", f'?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{canary}">]>', 1)
        .replace('name="Quarterly check-in" isExecutable', 'name="&xxe;" isExecutable')
    )
    r = deploy(client, who["hr"], checkin(**{BPMN: xml.encode()}))
    refused(r, 422, "definition_invalid")
    assert CANARY not in r.text
    for path in ("/api/definitions", f"/api/definitions/{KEY}"):
        assert CANARY not in client.get(path, headers=who["hr"]).text


def test_billion_laughs_is_refused_quickly_and_the_server_keeps_answering(client, who):
    started = time.monotonic()
    r = deploy(client, who["hr"], [("laughs.bpmn", LAUGHS.encode())])
    assert time.monotonic() - started < 5
    refused(r, 422, "definition_invalid")
    assert "lol" * 20 not in r.text
    still_answers(client, who["hr"])


def test_a_30_mb_body_is_refused_with_413(client, who):
    r = deploy(client, who["hr"], [("huge.bpmn", b"<a>" + b" " * (30 * 1024 * 1024) + b"</a>")])
    refused(r, 413, "too_large")
    still_answers(client, who["hr"])


def test_truncated_xml_names_the_file_and_line(client, who):
    whole = (f.DATA / BPMN).read_bytes()
    cut = whole[: whole.index(b'<bpmn:userTask id="respond"')]
    errors = invalid(client, who["hr"], checkin(**{BPMN: cut}))
    assert errors[0]["file"] == BPMN
    assert isinstance(errors[0]["line"], int) and errors[0]["line"] >= cut.count(b"\n")


def test_scripts_need_the_designer_role(client, who):
    files = scripted("score = round(sum([3, 4, 5]) / 3, 1)")
    refused(deploy(client, who["hr"], files), 403, "forbidden")
    assert client.get("/api/definitions", headers=who["hr"]).json() == []
    r = deploy(client, who["designer"], files)
    assert r.status_code == 201, r.text
    assert (r.json()["key"], r.json()["version"], r.json()["has_scripts"]) == ("scored", 1, True)


def test_hr_may_deploy_a_diagram_without_scripts(client, who):
    r = deploy(client, who["hr"], [("tiny.bpmn", TINY.encode())])
    assert r.status_code == 201, r.text
    assert r.json()["has_scripts"] is False


@pytest.mark.parametrize(
    "code",
    [
        "x = ().__class__.__base__.__subclasses__()",
        "os = __import__('os')",
        "text = open('x').read()",
        "import os",
        'leak = "{0.__class__}".format(1)',
    ],
)
def test_unsafe_scripts_are_refused_naming_the_element(client, who, code):
    errors = invalid(client, who["designer"], scripted(code))
    assert {e["element"] for e in errors} == {"calc_score"}
    assert all(e["file"] == "scored.bpmn" and e["line"] for e in errors)


def test_a_dangling_sequence_flow_names_the_flow(client, who):
    xml = (
        (f.DATA / BPMN)
        .read_bytes()
        .replace(
            b'id="c5" sourceRef="hr_follow_up" targetRef="end_hr"',
            b'id="c5" sourceRef="hr_follow_up" targetRef="end_gone"',
        )
    )
    errors = invalid(client, who["hr"], checkin(**{BPMN: xml}))
    [flow] = [e for e in errors if e["element"] == "c5"]
    assert "end_gone" in flow["message"] and flow["file"] == BPMN and flow["line"]
