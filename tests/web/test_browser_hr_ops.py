"""HR's live operations in headless Chromium (issue 12, part 7), each previewed then confirmed, in English and in
Chinese: reopen a completed task (the assignee gets it back with their answers), cancel a review (its open tasks leave
the inboxes; the page is read only) and add people to a running cycle (the new person gets a first task). They act on
the Operations cycle of tests/web/world_ops.py, so the rest of the shared live world is left as it was."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import shot, sign_in
from tests.web.world import HR
from tests.web.world_ops import ADD_EN, ADD_ZH, CANCEL_EN, CANCEL_ZH, CEO, NAMES, REOPEN_EN, REOPEN_ZH, SELF


def _hr(new_page: Any, live: dict[str, Any], lang: str) -> Any:
    page = new_page(locale="en-GB" if lang == "en" else "zh-CN")
    sign_in(page, HR, live["password"])
    page.goto(f"/lang/{lang}?next=/cycles/{live['ops_cycle_id']}")
    return page


def _review_of(page: Any, email: str) -> str:
    """From the cycle dashboard to the review of `email`; returns its URL."""
    page.locator("#instances a", has_text=NAMES[email]).click()
    page.wait_for_url(re.compile(r"/instances/\d+$"))
    return str(page.url)


def _as(new_page: Any, live: dict[str, Any], email: str) -> Any:
    page = new_page(locale="en-GB")
    sign_in(page, email, live["password"])
    return page


def _reopen(page: Any, reason: str) -> None:
    task = page.locator("#hr-actions details.hr-task[data-status=completed]", has=page.locator("[id^=reopen-]"))
    self_review = task.filter(has_text=re.compile("Write your self-review|撰写自评"))
    self_review.locator("summary").click()
    self_review.locator("input[name=reason]").fill(reason)
    self_review.locator("button[type=submit]").click()


def test_hr_reopens_a_completed_task_and_the_assignee_gets_it_back(new_page: Any, live_server: dict[str, Any]) -> None:
    page = _hr(new_page, live_server, "en")
    review = _review_of(page, REOPEN_EN)
    _reopen(page, "Wrong quarter entered")
    preview = page.locator("#hr-preview")
    expect(preview).to_contain_text(
        f"‘Write your self-review’ goes back to {REOPEN_EN} with the previous answers prefilled."
    )
    expect(page.locator("#preview-reset li")).to_have_text(["Review and rate"])
    expect(page.locator("#preview-superseded")).to_have_text("No review record is superseded.")  # no x-record forms
    expect(preview).to_contain_text("Reason: Wrong quarter entered")
    open_now = page.locator("#hr-actions details.hr-task[data-status=open] .task-title")
    expect(open_now).to_have_text(["Read and acknowledge your review"])  # a preview changes nothing
    shot(page, "hr-reopen-preview")
    page.locator("#hr-confirm button").click()
    page.wait_for_url(review)
    expect(page.locator("#hr-preview")).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text("Task reopened")
    expect(page.locator("#timeline")).to_contain_text("Wrong quarter entered")
    expect(open_now).to_have_text(["Write your self-review"])  # the later steps were reset
    shot(page, "hr-reopen-done")

    assignee = _as(new_page, live_server, REOPEN_EN)
    assignee.locator("#inbox li", has_text="Write your self-review").locator("a").click()
    expect(assignee.locator("[name=achievements]")).to_have_value(SELF["achievements"])  # their answers, prefilled
    expect(assignee.locator("input[name=self_rating][value='4']")).to_be_checked()
    expect(assignee.locator("button[value=submit]")).to_be_visible()
    shot(assignee, "hr-reopen-assignee")

    page = _hr(new_page, live_server, "zh-CN")
    _review_of(page, REOPEN_ZH)
    _reopen(page, "填错了季度")
    expect(page.locator("#hr-preview")).to_contain_text(f"“撰写自评”将退回给 {REOPEN_ZH}，并预填之前的答案。")
    expect(page.locator("#preview-reset li")).to_have_text(["经理评估"])
    expect(page.locator("#preview-superseded")).to_have_text("没有评估记录会被取代。")
    shot(page, "hr-reopen-preview-zh")
    page.locator("#hr-confirm button").click()
    expect(page.locator("#timeline")).to_contain_text("任务已重新打开")
    expect(page.locator("#timeline")).to_contain_text("填错了季度")
    shot(page, "hr-reopen-done-zh")


def _cancel(page: Any, reason: str) -> None:
    page.locator("#hr-actions details", has=page.locator("#cancel-form")).locator("summary").click()
    page.fill("#reason-cancel", reason)
    page.locator("#cancel-form button").click()


def test_hr_cancels_a_review_and_its_open_tasks_leave_the_inboxes(new_page: Any, live_server: dict[str, Any]) -> None:
    assignee = _as(new_page, live_server, CANCEL_EN)
    expect(assignee.locator("#inbox li", has_text="Write your self-review")).to_have_count(1)

    page = _hr(new_page, live_server, "en")
    review = _review_of(page, CANCEL_EN)
    _cancel(page, "Left the company in May")
    preview = page.locator("#hr-preview")
    expect(preview).to_contain_text("This review will be cancelled and kept read only.")
    expect(page.locator("#preview-withdrawn li")).to_have_text([f"Write your self-review ({CANCEL_EN})"])
    expect(page.locator("#instance-status")).not_to_have_text("Cancelled")  # a preview changes nothing
    shot(page, "hr-cancel-preview")
    page.locator("#hr-confirm button").click()
    page.wait_for_url(review)
    expect(page.locator("#instance-status")).to_have_text("Cancelled")
    expect(page.locator("#timeline")).to_contain_text("Review cancelled")
    expect(page.locator("#timeline")).to_contain_text("Left the company in May")
    expect(page.locator("#hr-actions form")).to_have_count(0)  # read only: nothing left to act on
    shot(page, "hr-cancel-done")
    assignee.goto("/inbox")
    expect(assignee.locator("#inbox-empty")).to_be_visible()  # the withdrawn task is gone from the inbox

    page = _hr(new_page, live_server, "zh-CN")
    _review_of(page, CANCEL_ZH)  # self-review done, the CEO's manager review open
    _cancel(page, "调往子公司")
    expect(page.locator("#hr-preview")).to_contain_text("该评估将被取消，并以只读方式保留。")
    expect(page.locator("#preview-withdrawn li")).to_have_text([f"经理评估 ({CEO})"])
    shot(page, "hr-cancel-preview-zh")
    page.locator("#hr-confirm button").click()
    expect(page.locator("#instance-status")).to_have_text("已取消")
    expect(page.locator("#timeline")).to_contain_text("评估已取消")
    expect(page.locator("#hr-actions form")).to_have_count(0)  # the completed self-review offers no reopen either
    shot(page, "hr-cancel-done-zh")


def _add(page: Any, emails: list[str]) -> None:
    page.fill("#emails", "\n".join(emails))
    page.locator("#add-form button").click()


def test_hr_adds_people_to_a_running_cycle_and_they_get_a_first_task(
    new_page: Any, live_server: dict[str, Any]
) -> None:
    page = _hr(new_page, live_server, "en")
    dashboard = str(page.url)
    _add(page, [ADD_EN, REOPEN_EN, "ghost@initech.test"])
    expect(page.locator("#would-add")).to_have_text(ADD_EN)
    expect(page.locator("#already-in")).to_have_text(REOPEN_EN)
    expect(page.locator("#unknown")).to_have_text("ghost@initech.test")
    expect(page.locator("#add-confirm")).to_have_count(0)  # remove the unknown first
    expect(page.locator("#emails")).to_have_value(f"{ADD_EN}\n{REOPEN_EN}\nghost@initech.test")  # what was typed
    shot(page, "hr-add-preview-unknown")
    _add(page, [ADD_EN, REOPEN_EN])
    expect(page.locator("#would-add")).to_have_text(ADD_EN)
    expect(page.locator("#instances a", has_text=NAMES[ADD_EN])).to_have_count(0)  # a preview changes nothing
    shot(page, "hr-add-preview")
    page.locator("#add-confirm button").click()
    page.wait_for_url(dashboard)
    expect(page.locator("#add-preview")).to_have_count(0)
    expect(page.locator("#instances a", has_text=NAMES[ADD_EN])).to_have_count(1)
    shot(page, "hr-add-done")
    newcomer = _as(new_page, live_server, ADD_EN)
    expect(newcomer.locator("#inbox li", has_text="Write your self-review")).to_have_count(1)
    shot(newcomer, "hr-add-newcomer-inbox")

    page = _hr(new_page, live_server, "zh-CN")
    _add(page, [ADD_ZH])
    expect(page.locator("#add-preview")).to_contain_text("将添加：")
    expect(page.locator("#would-add")).to_have_text(ADD_ZH)
    expect(page.locator("#already-in")).to_have_text("无")
    shot(page, "hr-add-preview-zh")
    page.locator("#add-confirm button").click()
    expect(page.locator("#instances a", has_text=NAMES[ADD_ZH])).to_have_count(1)
    shot(page, "hr-add-done-zh")
    newcomer = _as(new_page, live_server, ADD_ZH)
    expect(newcomer.locator("#inbox li", has_text="Write your self-review")).to_have_count(1)
