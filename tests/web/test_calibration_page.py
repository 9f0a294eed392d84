"""The calibration session in the web pages: the facilitator sees manager and calibrated ratings side by side with
the distribution against the guidance, submits a reason-coded change from the page, and the committee member's
sign-off page shows the change — in English and in Chinese."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from api.app import create_app
from engine.org import accounts
from engine.store.models import ReviewRecord
from tests.web.test_pages import PASSWORD, sign_in, token_in
from tests.workflows.calibration_steps import CEO, HR, MEMBERS, calibration_cycle, make_group, to_manager_rating
from tests.workflows.steps import open_task


@pytest.fixture
def session_open(db_engine, session):
    cycle = calibration_cycle(session)
    for email, role in ((HR, "hr_admin"), (CEO, "designer")):
        accounts.create_account(session, email=email, roles=[role], password=PASSWORD, actor="test")
    make_group(session, cycle)
    for subject in MEMBERS:
        to_manager_rating(session, subject)  # 4, 5 and 2: one in the top band, one in the bottom band
    return {"app": create_app(), "task": open_task(session, HR, "calibrate")["id"]}


def test_the_facilitator_calibrates_from_the_page_and_the_committee_sees_it(session_open, session):
    app = session_open["app"]
    hr = sign_in(app, HR)
    url = f"/tasks/{session_open['task']}"
    page = hr.get(url).text
    assert "Manager&#39;s rating and calibrated rating, side by side" in page
    assert "Distribution against the cycle&#39;s guidance" in page
    assert page.count("not yet rated") == 0 and "Within the guidance" in page
    assert '<option value="designer2@initech.test"' in page  # the person to change is chosen from the group
    form = {
        "csrf_token": token_in(page),
        "action": "submit",
        "changes/0/person": MEMBERS[1],
        "changes/0/rating": "4",
        "changes/0/reason_code": "consistency",
        "changes/0/comment": "Consistent with the senior designers' ratings",
        "calibration_decision": "sign_off",
    }
    short = hr.post(url, data={**form, "changes/0/comment": "ok"})
    assert short.status_code == 422 and ">ok</textarea>" in short.text  # refused, and what was typed is kept
    session.rollback()
    assert not session.scalars(select(ReviewRecord).where(ReviewRecord.source == "calibration")).all()
    done = hr.post(url, data=form, follow_redirects=False)
    assert done.status_code == 303, done.text

    sign_off = open_task(session, CEO, "sign_off")["id"]
    ceo = sign_in(app, CEO, lang="zh-CN")
    page = ceo.get(f"/tasks/{sign_off}").text
    assert "经理评分与校准后评分对照" in page and "已调整" in page
    row = page[page.index(MEMBERS[1]) :]
    assert row.index("<td>5</td>") < row.index("<strong>4</strong>")  # manager's 5 first, then the calibrated 4
    assert "5 → 4 · <code>consistency</code> · Consistent with the senior designers&#39; ratings" in page
