"""Task administration in headless Chromium (issue 12): the assignee of an open task in designer1's review asks
designer2 to do it (previewed, then confirmed; designer2 sees it on behalf of the assignee), in English and in
Chinese; HR moves the task's due date from the instance page, in both languages. At the end HR gives the task back
to its holder alone (a reassignment ends the delegation), so the shared live world keeps who holds what."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import shot, sign_in
from tests.web.world import DONE, HR


def _open_task(page: Any, instance: str) -> Any:
    page.goto(instance)
    return page.locator("#hr-actions details.hr-task[data-status=open]").first


def _due(page: Any, instance: str, task_id: str, due_at: str, reason: str) -> None:
    page.goto(instance)
    section = page.locator(f"#due-section-{task_id}")
    section.locator("summary").click()
    section.locator("input[name=due_at]").fill(due_at)
    section.locator("input[name=reason]").fill(reason)
    section.locator("button[type=submit]").click()


def _delegate(page: Any, task_url: str, to: str, until: str) -> None:
    page.goto(task_url)
    page.locator("#delegate-section summary").click()
    page.fill("#delegate-to", to)
    page.fill("#delegate-until", until)
    page.locator("#delegate-form button[type=submit]").click()


def test_an_assignee_delegates_and_hr_moves_the_due_date(new_page: Any, live_server: dict[str, Any]) -> None:
    hr = new_page(locale="en-GB")
    sign_in(hr, HR, live_server["password"])
    hr.goto(f"/lang/en?next=/cycles/{live_server['cycle_id']}")
    hr.locator("#instances a", has_text="冯雪").click()  # designer1's review, still open
    hr.wait_for_url(re.compile(r"/instances/\d+$"))
    instance = hr.url
    task = _open_task(hr, instance)
    task_id, holder = task.get_attribute("data-task"), task.locator(".task-holder").inner_text()
    assert task_id and holder != DONE
    task_url = f"/tasks/{task_id}"
    today = datetime.now(UTC).date()
    until, until_zh = ((today + timedelta(days=d)).isoformat() for d in (7, 14))

    # The assignee asks designer2 to do it: a preview first, then the confirm; the page lists the delegate.
    me = new_page(locale="en-GB")
    sign_in(me, holder, live_server["password"])
    me.goto(f"/lang/en?next={task_url}")
    expect(me.locator("#delegate-section")).not_to_have_attribute("open", "")  # collapsed until asked
    _delegate(me, task_url, "nobody@initech.test", until)  # refused: what was typed is kept
    expect(me.locator("#delegate-section [role=alert]")).to_contain_text("is not in the org chart")
    expect(me.locator("#delegate-to")).to_have_value("nobody@initech.test")
    expect(me.locator("#delegate-until")).to_have_value(until)
    _delegate(me, task_url, DONE, until)
    expect(me.locator("#delegate-preview")).to_contain_text(
        f"{DONE} may complete this task on your behalf until {until} 23:59 UTC; you keep it too."
    )
    expect(me.locator("#delegates")).to_have_count(0)  # nothing changed yet
    shot(me, "delegate-preview")
    me.locator("#delegate-confirm button").click()
    me.wait_for_url(re.compile(rf"{task_url}#delegation$"))
    expect(me.locator("#delegates")).to_contain_text(f"{DONE} · until {until} 23:59 UTC")
    shot(me, "delegate-done")

    # designer2 finds it in their inbox and acts on behalf of the assignee.
    them = new_page(locale="en-GB")
    sign_in(them, DONE, live_server["password"])
    them.goto("/lang/en?next=/inbox")
    them.locator(f"#inbox a[href='{task_url}']").click()
    expect(them.locator("#on-behalf")).to_contain_text(f"You act on behalf of {holder} until {until} 23:59 UTC.")
    expect(them.locator("#task-form")).to_be_visible()
    expect(them.locator("#delegate-form")).to_have_count(0)
    shot(them, "delegate-on-behalf")

    # The same in Chinese: a later end date replaces the delegation.
    me.goto(f"/lang/zh-CN?next={task_url}")
    _delegate(me, task_url, DONE, until_zh)
    expect(me.locator("#delegate-preview")).to_contain_text(
        f"{DONE} 可以代你完成此任务，截至{until_zh} 23:59 UTC；你自己也仍可完成。"
    )
    shot(me, "delegate-preview-zh")
    me.locator("#delegate-confirm button").click()
    me.wait_for_url(re.compile(rf"{task_url}#delegation$"))
    expect(me.locator("#delegates")).to_contain_text(f"{DONE} · 截至 {until_zh} 23:59 UTC")
    shot(me, "delegate-done-zh")

    # HR moves the due date: from/to and the reminders in the preview, then the confirm.
    _due(hr, instance, task_id, f"{today + timedelta(days=20)}T17:00", "Delegated while on leave")
    preview = hr.locator("#due-preview")
    expect(preview).to_contain_text(f"will be due {today + timedelta(days=20)} 17:00 UTC instead of")
    expect(hr.locator(f"#due-section-{task_id} .task-due")).not_to_contain_text(f"{today + timedelta(days=20)}")
    shot(hr, "hr-due-preview")
    hr.locator("#due-confirm button").click()
    hr.wait_for_url(instance)
    expect(hr.locator("#due-preview")).to_have_count(0)
    expect(hr.locator(f"#due-section-{task_id} .task-due")).to_have_text(f"{today + timedelta(days=20)} 17:00 UTC")
    expect(hr.locator("#timeline")).to_contain_text("Delegated while on leave")
    shot(hr, "hr-due-done")

    hr.goto("/lang/zh-CN?next=/inbox")
    _due(hr, instance, task_id, f"{today + timedelta(days=21)}T09:30", "休假延期")
    expect(hr.locator("#due-preview")).to_contain_text(
        f"的截止时间将改为 {today + timedelta(days=21)} 09:30 UTC（原为 {today + timedelta(days=20)} 17:00 UTC）。"
    )
    shot(hr, "hr-due-preview-zh")
    hr.locator("#due-confirm button").click()
    hr.wait_for_url(instance)
    expect(hr.locator(f"#due-section-{task_id} .task-due")).to_have_text(f"{today + timedelta(days=21)} 09:30 UTC")
    shot(hr, "hr-due-done-zh")

    # Back to its holder alone: the reassignment ends the delegation; designer2's inbox no longer has it.
    task = _open_task(hr, instance)
    task.locator("summary").click()
    task.locator("input[name=to]").fill(holder)
    task.locator("input[name=reason]").fill("Back from leave")
    task.locator("button[type=submit]").click()
    hr.locator("#hr-confirm button").click()
    hr.wait_for_url(instance)
    them.goto("/inbox")
    expect(them.locator(f"#inbox a[href='{task_url}']")).to_have_count(0)
