"""End to end in headless Chromium against a live server: what each role does on the pages."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import shot, sign_in
from tests.web.world import AUDITOR, DONE, EMPLOYEE, HR, LEAD


def test_employee_fixes_an_error_and_submits_the_self_review(new_page: Any, live_server: dict[str, Any]) -> None:
    page = new_page()
    sign_in(page, EMPLOYEE, live_server["password"])
    task = page.locator("#inbox li", has_text="撰写自评")  # 冯雪 reads Chinese
    expect(task).to_have_count(1)
    shot(page, "employee-inbox")
    task.locator("a").click()
    page.wait_for_url(re.compile(r"/tasks/\d+$"))
    task_url = page.url
    shot(page, "employee-task-form")
    page.fill("[name=achievements]", "Too short")
    expect(page.locator("h1")).to_contain_text("撰写自评")  # the page speaks the person's language (zh-CN)
    page.locator("label.anchor", has_text="超出预期").click()
    page.click("button[value=submit]")
    # The server refuses it: the error sits beside the field, and nothing typed is lost.
    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.locator(".field-error").first).to_contain_text("请至少填写 20 个字符")
    expect(page.locator("[name=achievements]")).to_have_value("Too short")
    expect(page.locator("input[name=self_rating][value='4']")).to_be_checked()
    shot(page, "employee-form-error")
    page.fill("[name=achievements]", "Shipped the icon set and ran the accessibility review for every screen.")
    page.fill("[name='development_wishes/0']", "公开演讲")
    page.click("[data-add-row]")
    page.fill("[name='development_wishes/1']", "This row is removed again")
    page.locator("[data-row]").last.locator("[data-remove-row]").click()
    expect(page.locator("[name='development_wishes/1']")).to_have_count(0)
    page.click("button[value=submit]")
    page.wait_for_url(re.compile(r"/inbox\?done="))
    expect(page.locator("[role=status]")).to_contain_text("已提交")
    expect(page.locator("#inbox li", has_text="撰写自评")).to_have_count(0)
    shot(page, "employee-inbox-after")
    page.goto(task_url)
    expect(page.locator("button[value=submit]")).to_have_count(0)  # done: read-only now


def test_pages_speak_chinese(new_page: Any, live_server: dict[str, Any]) -> None:
    page = new_page(locale="zh-CN", width=390, height=844)
    sign_in(page, HR, live_server["password"])
    page.goto(f"/lang/zh-CN?next=/cycles/{live_server['cycle_id']}")
    expect(page.locator("h2", has_text="各阶段完成情况")).to_be_visible()
    shot(page, "hr-cycle-dashboard-zh-phone")


def test_hr_edits_a_diagram_in_the_modeler_and_deploys_a_new_version(
    new_page: Any, live_server: dict[str, Any]
) -> None:
    page = new_page(locale="en-GB")
    sign_in(page, HR, live_server["password"])
    page.goto("/definitions")
    row = page.locator("#definitions tr[data-key=feedback_360]")
    expect(row.locator(".latest-version")).to_contain_text("v1")
    row.get_by_role("link", name="Open in modeler").click()
    canvas = page.locator("#canvas[data-ready=true]")
    expect(canvas).to_be_visible()
    # A broken edit is refused, and the problem is marked on the diagram element it concerns.
    page.locator(".djs-element.djs-shape[data-element-id=start]").click()
    page.keyboard.press("Delete")  # the start event and its flow go: the first task is left unconnected
    page.click("#deploy")
    expect(page.locator("#problems")).to_contain_text("nominate_peers")
    expect(page.locator(".djs-element.deploy-error[data-element-id=nominate_peers]")).to_have_count(1)
    shot(page, "hr-modeler-deploy-error")
    page.keyboard.press("Control+z")
    # Rename a task and deploy: a new version appears, and the 360 loop variables survived the round trip.
    page.locator("[data-element-id=approve_peers]").first.click()
    page.fill("#label-input", "Approve the peers / 批准同事名单")
    page.click("#deploy")
    expect(page.locator("#deployed-link")).to_contain_text("feedback_360 v2")
    shot(page, "hr-modeler-deployed")
    page.click("#deployed-link")
    expect(page.locator("#definitions tr[data-key=feedback_360] .latest-version")).to_contain_text("v2")
    xml = page.request.get("/definitions/feedback_360/versions/2/diagram.xml").text()
    assert "Approve the peers / 批准同事名单" in xml
    assert "<bpmn:loopDataInputRef>peers</bpmn:loopDataInputRef>" in xml
    assert "<bpmn:loopDataOutputRef>peer_feedback</bpmn:loopDataOutputRef>" in xml


def test_auditor_sees_the_path_a_completed_review_took(new_page: Any, live_server: dict[str, Any]) -> None:
    page = new_page(locale="en-GB")
    sign_in(page, AUDITOR, live_server["password"])
    page.goto("/audit")
    expect(page.locator("#verify")).to_contain_text("intact")
    page.locator(f"#instances tr[data-instance='{live_server['completed_instance']}'] a").click()
    expect(page.locator("#instance-status")).to_have_text("Completed")
    expect(page.locator("#canvas[data-ready=true]")).to_be_visible()
    for element in ("self_review", "manager_review", "acknowledge"):
        expect(page.locator(f".djs-element.path-taken[data-element-id={element}]")).to_have_count(1)
    expect(page.locator(".djs-element.path-taken[data-element-id=hr_review]")).to_have_count(0)  # not taken
    page.locator("[data-element-id=manager_review]").first.hover()
    expect(page.locator("#hover-tip")).to_contain_text("Completed")
    expect(page.locator("#timeline li", has_text="task.completed")).to_have_count(3)
    shot(page, "auditor-instance")
    # Readers read: no form to submit anywhere on the page.
    expect(page.locator("form button[type=submit]:not(.link)")).to_have_count(0)


def test_hr_creates_checks_and_launches_a_cycle(new_page: Any, live_server: dict[str, Any]) -> None:
    page = new_page(locale="en-GB")
    sign_in(page, HR, live_server["password"])
    page.goto("/cycles/new")
    page.click("button.primary")  # nothing filled in: the problem is named, the form stays
    expect(page.locator("[role=alert]")).to_contain_text("name")
    page.fill("#name", "Design mid-year / 设计部年中评估")
    page.select_option("#definition", "simple_review")
    page.check("input[name=mode][value=departments]")
    page.check("input[name=departments][value=Design]")
    shot(page, "hr-cycle-new")
    page.click("button.primary")
    page.wait_for_url(re.compile(r"/cycles/\d+$"))
    expect(page.locator("#cycle-status")).to_have_attribute("data-status", "draft")
    page.get_by_role("button", name="Check before launch").click()
    expect(page.locator("#preflight")).to_contain_text("3 / 3 ready to launch")
    page.get_by_role("button", name="Launch now").click()
    expect(page.locator("#cycle-status")).to_have_text("Active")
    expect(page.locator("#instances tbody tr")).to_have_count(3)
    expect(page.locator("svg.chart").first).to_be_visible()
    shot(page, "hr-cycle-dashboard")


def test_goals_form_rows_context_and_a_rule_across_rows(new_page: Any, live_server: dict[str, Any]) -> None:
    page = new_page(locale="en-GB")
    sign_in(page, LEAD, live_server["password"])  # 孔亮 reads Chinese
    page.locator("#inbox li a").first.click()
    expect(page.locator(".context")).to_contain_text("新增 30 家企业客户")  # company goals shown for reference
    for i in range(3):
        if i:
            page.click("[data-add-row]")
        page.fill(f"[name='goals/{i}/title']", f"目标 {i + 1}")
        page.fill(f"[name='goals/{i}/description']", "把新员工入职流程做完")
        page.fill(f"[name='goals/{i}/metric']", "完成率")
        page.fill(f"[name='goals/{i}/target']", "90%")
        page.fill(f"[name='goals/{i}/due_date']", "2026-12-31")
        page.fill(f"[name='goals/{i}/weight']", "30")
    page.select_option("[name='goals/0/aligned_to']", "CG1")
    page.click("button[value=submit]")
    expect(page.locator("#form-errors")).to_be_visible()  # 30 + 30 + 30 is not 100
    expect(page.locator("[name='goals/2/title']")).to_have_value("目标 3")
    expect(page.locator("[name='goals/0/aligned_to']")).to_have_value("CG1")
    shot(page, "manager-goals-error")
    page.fill("[name='goals/2/weight']", "40")
    page.click("button[value=submit]")
    page.wait_for_url(re.compile(r"/inbox\?done="))


def test_an_employee_finds_their_acknowledged_results(new_page: Any, live_server: dict[str, Any]) -> None:
    page = new_page(locale="en-GB")
    sign_in(page, DONE, live_server["password"])  # Jonas Berg, whose review ran to the end
    page.get_by_role("link", name="My results").click()
    expect(page.locator(".card", has_text="Review 2026")).to_contain_text("Acknowledged")
    expect(page.locator(".card", has_text="Review 2026")).to_contain_text("Thank you / 谢谢")
    shot(page, "employee-results")
