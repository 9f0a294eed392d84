"""HR's live operations in headless Chromium (issue 12, part 7): a reassignment previewed, then confirmed, in English
and in Chinese. The task goes to another person and back again, so the shared live world ends as it began (whichever
step designer1's review has reached when this runs)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import shot, sign_in
from tests.web.world import DONE, HR


def _open_task(page: Any, instance: str) -> Any:
    page.goto(instance)
    return page.locator("#hr-actions details.hr-task[data-status=open]").first


def _reassign(page: Any, instance: str, to: str, reason: str) -> None:
    task = _open_task(page, instance)
    task.locator("summary").click()
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
    task = _open_task(page, instance)
    title, holder = task.locator(".task-title").inner_text(), task.locator(".task-holder").inner_text()
    assert holder != DONE

    _reassign(page, instance, "nobody@initech.test", "Covering a leave")  # a rule refused, what was typed kept
    expect(page.locator("#hr-actions [role=alert]")).to_contain_text("is not in the org chart")
    expect(page.locator("#hr-actions details[open] input[name=to]")).to_have_value("nobody@initech.test")

    _reassign(page, instance, DONE, "Covering a leave")
    preview = page.locator("#hr-preview")
    expect(preview).to_contain_text(f"‘{title}’ moves from {holder} to {DONE}.")
    here = page.locator("#hr-actions details.hr-task[data-status=open] .task-holder").first
    expect(here).to_have_text(holder)  # the preview page shows the task where it still is: nothing changed
    shot(page, "hr-reassign-preview")
    page.locator("#hr-confirm button").click()
    page.wait_for_url(instance)
    expect(page.locator("#hr-preview")).to_have_count(0)
    expect(_open_task(page, instance).locator(".task-holder")).to_have_text(DONE)
    expect(page.locator("#timeline")).to_contain_text("Task reassigned")
    expect(page.locator("#timeline")).to_contain_text("Covering a leave")
    shot(page, "hr-reassign-done")

    # The same in Chinese, giving the task back.
    page.goto("/lang/zh-CN?next=/inbox")
    expect(_open_task(page, instance).locator("xpath=ancestor::section[@id='hr-actions']/h2")).to_have_text("HR 操作")
    title_zh = _open_task(page, instance).locator(".task-title").inner_text()
    _reassign(page, instance, holder, "休假结束")
    expect(page.locator("#hr-preview")).to_contain_text(f"“{title_zh}”将从 {DONE} 转交给 {holder}。")
    shot(page, "hr-reassign-preview-zh")
    page.locator("#hr-confirm button").click()
    page.wait_for_url(instance)
    expect(page.locator("#timeline")).to_contain_text("休假结束")
    expect(_open_task(page, instance).locator(".task-holder")).to_have_text(holder)
