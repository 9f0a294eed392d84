"""A refusal shows in the reader's language: on a zh-CN page the engine's Chinese text (and not the English one), on
an en page the English — on HR's action forms, on a task's form and on the error page. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.web import test_hr_action_pages as hr_actions
from tests.web.test_hr_action_pages import complete, post
from tests.web.test_pages import EMPLOYEE, OTHER, sign_in

world = hr_actions.world  # the fixture: an HR person, an employee with one open check-in task

pytestmark = pytest.mark.both_dbs

UNKNOWN = "nobody@initech.test"
NOT_IN_CHART = (f"{UNKNOWN} is not in the org chart.", f"组织架构中没有 {UNKNOWN}，请检查邮箱地址是否正确。")
NO_REASON = ("Give a reason; it is recorded with the change.", "请填写理由，它会随这次更改一起记录。")
ALREADY_DONE = (
    "This task is already completed; nothing was changed.",
    "该任务的状态已是“已完成”，本次没有做任何更改。",
)
LANGS = [("en", 0, 1), ("zh-CN", 1, 0)]  # the language, the index of the text shown, of the one not shown


def alert(html: str) -> str:
    """The text of the page's first error alert."""
    return html.split('role="alert">', 1)[1].split("</p>", 1)[0]


@pytest.mark.parametrize(("lang", "shown", "hidden"), LANGS)
def test_a_refused_reassignment_is_shown_in_the_readers_language(world, lang, shown, hidden):
    hr = sign_in(world["app"], f.HR, lang=lang)
    where = f"/instances/{world['instance']}"
    r = post(hr, f"{where}/tasks/{world['task']}/reassign/preview", {"to": UNKNOWN, "reason": "Away"}, where)
    assert r.status_code == 422
    assert alert(r.text) == NOT_IN_CHART[shown] and NOT_IN_CHART[hidden] not in r.text
    assert f'value="{UNKNOWN}"' in r.text  # what was typed is kept


@pytest.mark.parametrize(("lang", "shown", "hidden"), LANGS)
def test_a_refused_reopen_is_shown_in_the_readers_language(world, session, lang, shown, hidden):
    done = complete(session, EMPLOYEE, "write_checkin", {"progress": "Shipped v2", "blockers": [], "mood": 4})
    hr = sign_in(world["app"], f.HR, lang=lang)
    where = f"/instances/{world['instance']}"
    r = post(hr, f"{where}/tasks/{done}/reopen/preview", {"reason": " "}, where)
    assert r.status_code == 422
    assert alert(r.text) == NO_REASON[shown] and NO_REASON[hidden] not in r.text


@pytest.mark.parametrize(("lang", "shown", "hidden"), LANGS)
def test_a_task_submitted_twice_says_so_in_the_readers_language(world, session, lang, shown, hidden):
    employee = sign_in(world["app"], EMPLOYEE, lang=lang)
    page = f"/tasks/{world['task']}"
    token_page = employee.get(page).text  # the form, open, before the answer arrives by another way
    complete(session, EMPLOYEE, "write_checkin", {"progress": "Shipped v2", "blockers": [], "mood": 4})
    token = token_page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"progress": "Again", "mood": "4", "action": "submit", "csrf_token": token}
    r = employee.post(page, data=form, follow_redirects=False)
    assert r.status_code == 409
    assert alert(r.text) == ALREADY_DONE[shown] and ALREADY_DONE[hidden] not in r.text


@pytest.mark.parametrize(("lang", "shown", "hidden"), LANGS)
def test_the_error_page_shows_the_refusal_in_the_readers_language(world, lang, shown, hidden):
    texts = ("No task with id 999999 for you.", "没有找到编号为 999999 的任务，或你无权查看它。")
    r = sign_in(world["app"], OTHER, lang=lang).get("/tasks/999999")
    assert r.status_code == 404
    assert texts[shown] in r.text and texts[hidden] not in r.text
