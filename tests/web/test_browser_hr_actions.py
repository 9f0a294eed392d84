"""HR's live operations in headless Chromium (issue 12, part 7): a reassignment previewed, then confirmed, in English
and in Chinese. The task goes to another person and back again, so the shared live world ends as it began."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import shot, sign_in
from tests.web.world import DONE, EMPLOYEE, HR


def _reassign(page: Any, instance: str, to: str, reason: str) -> None:
    page.goto(instance)
    task = page.locator("#hr-actions details.hr-task[data-task]").first  # designer1's review has one task
    task.locator("summary").first.click()
    task.locator("input[name=to]").fill(to)
    task.locator("input[name=reason]").fill(reason)
    task.locator("button[type=submit]").click()


def test_hr_reassigns_a_task_with_a_preview_then_confirms(new_page: Any, live_server: dict[str, Any]) -> None:
    page = new_page(locale="en-GB")
    sign_in(page, HR, live_server["password"])
    page.goto(f"/lang/en?next=/cycles/{live_server['cycle_id']}")
    page.locator("#instances a", has_text="冯雪").click()  # designer1's review, still open
    page.wait_for_url(re.compile(r"/instances/\d+$"))
    instance = page.url
    expect(page.locator("#hr-actions h2")).to_have_text("HR actions")

    _reassign(page, instance, "nobody@initech.test", "Covering a leave")  # a rule refused, what was typed kept
    expect(page.locator("#hr-actions [role=alert]")).to_contain_text("is not in the org chart")
    expect(page.locator("#hr-actions input[name=to]").first).to_have_value("nobody@initech.test")

    _reassign(page, instance, DONE, "Covering a leave")
    preview = page.locator("#hr-preview")
    expect(preview).to_contain_text(f"‘Write your self-review’ moves from {EMPLOYEE} to {DONE}.")
    shot(page, "hr-reassign-preview")
    expect(page.locator("#hr-actions summary", has_text="Write your self-review")).to_contain_text(EMPLOYEE)
    preview.locator("#hr-confirm button").click()
    page.wait_for_url(instance)
    expect(page.locator("#hr-preview")).to_have_count(0)
    expect(page.locator("#hr-actions summary", has_text="Write your self-review")).to_contain_text(DONE)
    expect(page.locator("#timeline")).to_contain_text("Task reassigned")
    expect(page.locator("#timeline")).to_contain_text("Covering a leave")
    shot(page, "hr-reassign-done")

    # The same in Chinese, giving the task back.
    page.goto("/lang/zh-CN?next=/inbox")
    page.goto(instance)
    expect(page.locator("#hr-actions h2")).to_have_text("HR 操作")
    _reassign(page, instance, EMPLOYEE, "休假结束")
    expect(page.locator("#hr-preview")).to_contain_text(f"“撰写自评”将从 {DONE} 转交给 {EMPLOYEE}。")
    shot(page, "hr-reassign-preview-zh")
    page.locator("#hr-confirm button").click()
    page.wait_for_url(instance)
    expect(page.locator("#timeline")).to_contain_text("休假结束")
    expect(page.locator("#hr-actions summary", has_text="撰写自评")).to_contain_text(EMPLOYEE)
