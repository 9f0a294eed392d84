"""Reviews read as documents, in English and in Chinese: the results page opens with the final rating in a sentence,
goals are a table naming the company goal they support, self and manager ratings sit side by side with the anchor
text of each level, the 360 summary is a card per perspective (or says there were not enough answers), calibration
is a sentence with its reason in words — and no raw key, id or code shows on any of these pages."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from api.app import create_app
from engine.queries import views
from tests import factories as f
from tests.web import documents_world as w
from tests.web.test_pages import token_in
from tests.workflows.steps import LEAD

pytestmark = pytest.mark.both_dbs

LANGS = ("en", "zh-CN")
RAW = re.compile(
    r"subject_email|aligned_to|reason_code|reason code|calibrated_overall|\bTrue\b|\bFalse\b|\bNone\b|\bC?G\d+\b"
)


def visible(page: str) -> str:
    """The text a reader sees: no tags, scripts or styles, entities decoded, whitespace collapsed."""
    page = re.sub(r"<(script|style|template)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def no_raw(text: str) -> None:
    found = sorted({m.group(0) for m in RAW.finditer(text)})
    assert not found, f"raw keys or codes on the page: {found}"


@pytest.fixture
def world(db_engine, session) -> dict[str, Any]:
    info = w.build(session)
    lead = f.people.by_email(session, LEAD)
    assert lead is not None
    done = {
        t["name"]: t["id"]
        for t in views.list_tasks(session, actor=lead, status="completed")
        if (t["subject"] or {}).get("email") == w.SUBJECT
    }
    return {**info, "done_review": done["manager_assessment"], "approval": done["approve_goals"], "app": create_app()}


def client_for(app: Any, email: str, lang: str) -> Any:
    from fastapi.testclient import TestClient

    client = TestClient(app)
    client.cookies.set("rf_lang", lang)
    token = token_in(client.get("/login").text)
    r = client.post(
        "/login", data={"email": email, "password": w.PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    return client


def section(text: str, start: str, end: str | None = None) -> str:
    at = text.index(start)
    return text[at : text.index(end, at) if end else None]


def _results_open_with_the_final_rating_and_say_how_it_was_reached(world: dict[str, Any], lang: str) -> None:
    page = visible(client_for(world["app"], w.SUBJECT, lang).get("/results").text)
    zh = lang == "zh-CN"
    final = "你的最终评分是 5（远超预期）。" if zh else "Your final rating is 5 (Far exceeding expectations)."
    assert final in page
    how = (
        "经理给出的评分是 4（超出预期）；校准后为 5（远超预期），原因：团队之外的影响。"
        if zh
        else "Your manager rated 4 (Exceeding expectations); after calibration 5 (Far exceeding expectations): "
        "Impact beyond the team."
    )
    assert how in page
    assert page.index(final) < page.index(how)  # the result first, then how it was reached
    assert page.index(final) < page.index("Ship the design system")
    assert (w.COMPANY_GOAL["zh-CN"] if zh else w.COMPANY_GOAL["en"]) in page  # the company goal by its title
    assert ("同事" if zh else "Peers") in page and ("共 2 份回答" if zh else "2 answers") in page
    assert ("做得好的地方" if zh else "What they do well") in page and "Helpful always" in page
    # the employee sees their own rating of each goal beside their manager's, with the anchors' words
    ratings = section(page, "评分" if zh else "Ratings")
    assert ("自评" if zh else "Self-rating") in ratings and ("经理评分" if zh else "Manager's rating") in ratings
    no_raw(page)
    if zh:
        assert "changed" not in page and "subject" not in page and "impact" not in page


def _the_manager_review_shows_goals_self_ratings_with_anchors_and_the_360(world: dict[str, Any], lang: str) -> None:
    zh = lang == "zh-CN"
    raw = client_for(world["app"], LEAD, lang).get(f"/tasks/{world['manager_review']}").text
    page = visible(raw)
    context = visible(raw[raw.index('class="context"') : raw.index('id="task-form"')])
    assert "Ship the design system" in context and "teams adopted" in context and "50%" in context
    assert (w.COMPANY_GOAL["zh-CN"] if zh else w.COMPANY_GOAL["en"]) in context
    # the employee's self-rating of each goal with its anchor's words, of each competency by its name
    assert ("超额达成" if zh else "Exceeded") in context
    assert ("超出了目标值，比如提前完成" if zh else "Went beyond the target, for example reached it early") in context
    assert ("主人翁精神" if zh else "Ownership") in context
    assert ("稳定体现" if zh else "Consistently shown") in context
    # one peer answered and one declined: below the threshold of 2, nothing of it is shown
    assert ("回答人数不足，暂不显示" if zh else "Not enough answers to show") in context
    assert "Always helpful" not in page
    no_raw(context)
    # in the form itself, the employee's own rating stands beside each item the manager rates, in words
    form = visible(raw[raw.index('id="task-form"') :])
    own = "员工自评：" if zh else "Their own rating:"
    assert form.count(own) == 3 + 4  # three goals, four competencies (tests/web/documents_world.py)
    assert (f"{own} 4 · 超额达成" if zh else f"{own} 4 · Exceeded") in form  # a goal the employee rated 4
    if zh:
        assert "ownership" not in context and "Ownership" not in context


def _a_submitted_manager_review_shows_both_ratings_side_by_side(world: dict[str, Any], lang: str) -> None:
    zh = lang == "zh-CN"
    raw = client_for(world["app"], LEAD, lang).get(f"/tasks/{world['done_review']}").text
    context = visible(raw[raw.index('class="context"') : raw.index('class="submitted"')])
    assert ("最终评分" if zh else "final rating") not in context  # the manager's rating is not the result yet
    ratings = section(context, "评分" if zh else "Ratings")
    assert ("自评" if zh else "Self-rating") in ratings and ("经理评分" if zh else "Manager's rating") in ratings
    row = section(ratings, "Mentor two juniors")
    self_at = row.index("达成" if zh else "Met")
    manager_at = row.index("超额达成" if zh else "Exceeded")
    assert self_at < manager_at  # self 3 (Met) first, the manager's 4 (Exceeded) beside it
    no_raw(context)
    raw = client_for(world["app"], LEAD, lang).get(f"/tasks/{world['approval']}").text
    approval = visible(raw[raw.index('class="context"') : raw.index('class="submitted"')])
    assert ("已商定的目标" if zh else "Agreed goals") in approval and "Accessibility audit" in approval
    assert (w.COMPANY_GOAL["zh-CN"] if zh else w.COMPANY_GOAL["en"]) in approval
    no_raw(approval)


def _hr_reads_the_whole_review_on_the_instance_page(world: dict[str, Any], lang: str) -> None:
    zh = lang == "zh-CN"
    raw = client_for(world["app"], w.AUDITOR, lang).get(f"/instances/{world['instance']}").text
    doc = visible(raw[raw.index('id="review-document"') : raw.index('id="raters"')])
    assert ("最终评分是 5（远超预期）" if zh else "The final rating is 5 (Far exceeding expectations).") in doc
    assert ("团队之外的影响" if zh else "Impact beyond the team") in doc
    assert ("经理评分" if zh else "Manager's rating") in doc and ("提升采用率" if zh else "Grow adoption") in doc
    assert ("同事" if zh else "Peers") in doc and "Helpful always" in doc  # anonymous answers, no identities
    assert "peer1@initech.test" not in doc and "peer2@initech.test" not in doc
    no_raw(doc)


def test_results_open_with_the_final_rating_and_say_how_it_was_reached(world):
    for lang in LANGS:
        _results_open_with_the_final_rating_and_say_how_it_was_reached(world, lang)


def test_the_manager_review_shows_goals_self_ratings_with_anchors_and_the_360(world):
    for lang in LANGS:
        _the_manager_review_shows_goals_self_ratings_with_anchors_and_the_360(world, lang)


def test_a_submitted_manager_review_shows_both_ratings_side_by_side(world):
    for lang in LANGS:
        _a_submitted_manager_review_shows_both_ratings_side_by_side(world, lang)


def test_hr_reads_the_whole_review_on_the_instance_page(world):
    for lang in LANGS:
        _hr_reads_the_whole_review_on_the_instance_page(world, lang)
