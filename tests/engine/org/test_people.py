"""Importing the org chart from CSV: UTF-8 (Chinese names, Excel's BOM), per-row errors next to saved rows,
management loops, re-import counts and the audit trail."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine import audit
from engine.core.errors import InvalidInput
from engine.org import people
from engine.store.models import AuditEvent, Person
from tests import factories as f

pytestmark = pytest.mark.both_dbs

HEADER = "employee_no,name,email,manager_email,department,title,locale,hr_partner_email\n"
CHINESE = ["钱明", "孔亮", "冯雪"]


def _import(session, text: str | bytes, actor: str = "hr@test") -> people.ImportResult:
    data = text.encode() if isinstance(text, str) else text
    return people.import_csv(session, data=data, actor=actor)


def _everyone(session) -> dict[str, Person]:
    session.expire_all()
    return {p.email: p for p in session.scalars(select(Person))}


def _manager_of(session, email: str) -> str | None:
    person = _everyone(session)[email]
    return person.manager.email if person.manager else None


def _errors(result: people.ImportResult) -> set[tuple[int, str]]:
    return {(e["row"], e["field"]) for e in result.errors}


# --- encodings ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["utf8", "excel-csv-utf8-bom"])
def test_chinese_names_round_trip_exactly(session, bom):
    result = _import(session, bom + f.ORG.encode("utf-8"))

    assert (result.created, result.errors) == (5, [])
    everyone = _everyone(session)
    assert [everyone[e].name for e in ("ceo@initech.test", "design.lead@initech.test", "designer1@initech.test")] == (
        CHINESE
    )
    ceo = everyone["ceo@initech.test"]
    assert (ceo.employee_no, ceo.locale, ceo.title) == ("B01", "zh-CN", "CEO")  # the BOM is not glued to column 1
    assert people.get_person(session, everyone["designer1@initech.test"].id).name == "冯雪"


def test_only_name_and_email_columns_are_enough(session):
    result = _import(session, "name,email\n欧阳娜娜,Nana@Initech.test\nJo Li, jo@initech.test \n")

    assert (result.created, result.errors) == (2, [])
    everyone = _everyone(session)
    assert set(everyone) == {"nana@initech.test", "jo@initech.test"}  # emails are trimmed and lower-cased
    nana = everyone["nana@initech.test"]
    assert (nana.name, nana.locale, nana.active) == ("欧阳娜娜", "en", True)
    assert (nana.manager_id, nana.department, nana.employee_no) == (None, None, None)


def test_gbk_file_is_refused_with_advice_to_save_as_utf8(session):
    with pytest.raises(InvalidInput) as caught:
        _import(session, f.ORG.encode("gbk"))

    assert "UTF-8" in caught.value.detail
    assert "save" in caught.value.detail.lower()
    assert _everyone(session) == {}


def test_unknown_column_is_refused_by_name(session):
    with pytest.raises(InvalidInput) as caught:
        _import(session, "name,email,phone\nJo,jo@initech.test,555\n")

    assert "phone" in caught.value.detail
    assert _everyone(session) == {}


def test_missing_required_column_is_refused_by_name(session):
    with pytest.raises(InvalidInput) as caught:
        _import(session, "name,manager_email\nJo,boss@initech.test\n")

    assert "email" in caught.value.detail.replace("manager_email", "")


# --- per-row errors -----------------------------------------------------------------------------------------


def test_bad_rows_are_reported_by_row_and_field_and_good_rows_are_saved(session):
    result = _import(
        session,
        HEADER
        + "E1,好人,good@initech.test,,Ops,,zh-CN,\n"  # row 2: fine
        + "E2,无邮箱,,,Ops,,,\n"  # row 3: missing email
        + "E3,Bad Mail,not-an-email,,Ops,,,\n"  # row 4: bad email
        + "E4,Twin,GOOD@initech.test,,Ops,,,\n"  # row 5: same email as row 2
        + "E5,Lost,lost@initech.test,ghost@initech.test,Ops,,,\n"  # row 6: manager nowhere
        + "E6,Self,self@initech.test,self@initech.test,Ops,,,\n"  # row 7: own manager
        + "E7,Klingon,tlh@initech.test,,Ops,,tlh,\n"  # row 8: locale not offered
        + "E8,下属,report@initech.test,good@initech.test,Ops,,en,\n",  # row 9: fine, reports to row 2
    )

    assert _errors(result) == {
        (3, "email"),
        (4, "email"),
        (5, "email"),
        (6, "manager_email"),
        (7, "manager_email"),
        (8, "locale"),
    }
    by_row = {e["row"]: e["message"] for e in result.errors}
    assert "line 2" in by_row[5]
    assert "ghost@initech.test" in by_row[6]
    assert "zh-CN" in by_row[8]  # tells which locales exist
    assert result.created == 2
    assert set(_everyone(session)) == {"good@initech.test", "report@initech.test"}
    assert _manager_of(session, "report@initech.test") == "good@initech.test"


def test_row_whose_manager_row_is_refused_is_reported_too(session):
    result = _import(
        session,
        HEADER
        + "E1,Lead,lead@initech.test,ghost@initech.test,Ops,,,\n"  # row 2: refused (unknown manager)
        + "E2,Member,member@initech.test,lead@initech.test,Ops,,,\n",  # row 3: its manager was refused
    )

    # row 3 must be reported too (refused, or saved with a warning): never saved without its manager in silence
    assert _errors(result) == {(2, "manager_email"), (3, "manager_email")}
    assert "lead@initech.test" in {e["message"] for e in result.errors if e["row"] == 3}.pop()


# --- management loops ---------------------------------------------------------------------------------------


def test_loop_in_one_file_is_refused_for_the_row_that_closes_it(session):
    result = _import(session, HEADER + "A,A,a@initech.test,b@initech.test,,,,\nB,B,b@initech.test,a@initech.test,,,,\n")

    # row 3 closes the loop and is refused; row 2 then names a manager who was not saved, so it is reported too
    assert _errors(result) == {(2, "manager_email"), (3, "manager_email")}
    by_row = {e["row"]: e["message"] for e in result.errors}
    assert "loop" in by_row[3] and "b@initech.test" in by_row[2]
    assert "a@initech.test" not in _everyone(session) and "b@initech.test" not in _everyone(session)


def test_loop_across_two_imports_is_refused_and_the_row_changes_nothing(session):
    _import(
        session,
        HEADER
        + "A,Ann,a@initech.test,b@initech.test,,,,\n"
        + "B,Bo,b@initech.test,c@initech.test,,,,\n"
        + "C,Cy,c@initech.test,,,,,\n",
    )

    result = _import(session, HEADER + "B,Bo Renamed,b@initech.test,a@initech.test,,,,\n")

    assert _errors(result) == {(2, "manager_email")}
    assert "a@initech.test" in result.errors[0]["message"]
    assert _manager_of(session, "a@initech.test") == "b@initech.test"
    # the refused row is left out, like every other row with a problem: Bo keeps the manager he had
    assert _manager_of(session, "b@initech.test") == "c@initech.test"
    assert _everyone(session)["b@initech.test"].name == "Bo"
    assert (result.created, result.updated) == (0, 0)


# --- re-import ----------------------------------------------------------------------------------------------


def _edited_org() -> str:
    """The ORG with the CEO renamed and designer2 moved to another department."""
    lead = "designer2@initech.test,design.lead@initech.test,"
    return f.ORG.replace("B01,钱明,", "B01,钱明远,").replace(lead + "Design", lead + "Research")


def test_reimport_updates_name_and_department_and_counts_updated(session):
    _import(session, f.ORG)

    result = _import(session, _edited_org())

    assert (result.created, result.updated, result.unchanged, result.errors) == (0, 2, 3, [])
    everyone = _everyone(session)
    assert everyone["ceo@initech.test"].name == "钱明远"
    assert everyone["designer2@initech.test"].department == "Research"


def test_reimport_with_a_new_manager_moves_the_person_and_counts_one_update(session):
    _import(session, f.ORG)

    moved = f.ORG.replace(
        "designer1@initech.test,design.lead@initech.test", "designer1@initech.test,people@initech.test"
    )
    result = _import(session, moved)

    assert _manager_of(session, "designer1@initech.test") == "people@initech.test"
    assert (result.created, result.updated, result.unchanged) == (0, 1, 4)


def test_reimport_giving_a_manager_to_someone_who_had_none_counts_as_updated(session):
    _import(session, HEADER + "A,Ann,a@initech.test,,,,,\nB,Bo,b@initech.test,,,,,\n")

    result = _import(session, HEADER + "A,Ann,a@initech.test,b@initech.test,,,,\nB,Bo,b@initech.test,,,,,\n")

    assert _manager_of(session, "a@initech.test") == "b@initech.test"
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)


def test_identical_reimport_counts_unchanged(session):
    _import(session, f.ORG)

    result = _import(session, f.ORG)

    assert (result.created, result.updated, result.unchanged, result.errors) == (0, 0, 5, [])
    assert _manager_of(session, "designer1@initech.test") == "design.lead@initech.test"


# --- audit --------------------------------------------------------------------------------------------------


def test_import_writes_a_people_imported_audit_event(session):
    _import(session, f.ORG + "X,,x@initech.test,,,,,\n", actor="people@initech.test")

    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "people.imported")).all()
    assert len(events) == 1
    assert audit.opened(session, events[0]).actor == "people@initech.test"
    payload = json.loads(events[0].payload)
    assert (payload["created"], payload["errors"]) == (5, 1)
