"""In headless Chromium: the inbox by cycle and stage in the browser's time zone, a manager's team page, and a long
form whose outline counts the answers and whose draft saves itself and is there after a reload. Its own live server
and world (tests/web/world_inbox.py): the shared one's tasks are moved on by the other browser tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import serve, shot, sign_in
from tests.web.world import EMPLOYEE, LEAD

SAVED_ZH = re.compile(r"草稿(刚刚已保存|已于 \d+ 秒前保存)")
SAVED_EN = re.compile(r"Draft saved (just now|\d+ s ago)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with serve(tmp_path_factory, "tests.web.world_inbox") as live:
        yield live


@pytest.fixture
def open_page(browser: Any, server: dict[str, Any]) -> Iterator[Any]:
    contexts = []

    def make(locale: str = "en-GB", width: int = 1280, height: int = 900, zone: str = "Asia/Shanghai") -> Any:
        context = browser.new_context(
            base_url=server["base"], locale=locale, timezone_id=zone, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: print(f"[console.{msg.type}] {msg.text}"))
        page.on("pageerror", lambda exc: print(f"[pageerror] {exc}"))
        return page

    yield make
    for c in contexts:
        c.close()


def no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_the_managers_inbox_and_team_in_both_languages(open_page: Any, server: dict[str, Any]) -> None:
    page = open_page()
    sign_in(page, LEAD, server["password"])  # 孔亮 reads Chinese
    expect(page.locator("#tz-name")).to_have_text("Asia/Shanghai")  # taken from the browser
    headings = page.locator("#inbox h2")
    expect(headings).to_have_text(["2026 年度评估", "第一季度沟通"])  # the overdue review first
    jonas = page.locator("#inbox li", has_text="Jonas Berg")
    expect(jonas).to_contain_text("关于: Jonas Berg")
    expect(jonas).to_contain_text("已逾期")
    expect(jonas).to_contain_text("Asia/Shanghai")
    expect(page.locator("#inbox li", has_text="Write your check-in")).not_to_contain_text("关于")
    shot(page, "inbox-manager-zh-CN")
    page.get_by_role("link", name="我的团队").click()
    expect(page.locator("#waiting-on-me li")).to_have_count(1)
    expect(page.locator("#waiting-on-me")).to_contain_text("Jonas Berg")
    expect(page.locator("#team tr.overdue")).to_contain_text("Jonas Berg")
    expect(page.locator("#team")).to_contain_text("冯雪")
    shot(page, "team-zh-CN")
    page.goto("/lang/en?next=/team")
    expect(page.locator("h1")).to_have_text("My team")
    expect(page.locator("#waiting-on-me")).to_contain_text("Overdue")
    shot(page, "team-en")
    page.goto("/inbox")
    expect(page.locator("#inbox h2")).to_have_text(["Review 2026", "Q1 check-in"])
    expect(page.locator("#inbox li", has_text="Jonas Berg")).to_contain_text("About: Jonas Berg")
    shot(page, "inbox-manager-en")
    phone = open_page(width=390, height=844)
    sign_in(phone, LEAD, server["password"])
    no_sideways_scroll(phone)
    shot(phone, "inbox-manager-zh-CN-phone")
    phone.goto("/team")
    no_sideways_scroll(phone)
    shot(phone, "team-zh-CN-phone")


def test_a_long_form_counts_answers_saves_itself_and_survives_a_reload(open_page: Any, server: dict[str, Any]) -> None:
    page = open_page()
    sign_in(page, EMPLOYEE, server["password"])  # 冯雪 reads Chinese
    expect(page.locator("#inbox li", has_text="关于")).to_have_count(0)  # her own review: no "About: me"
    shot(page, "inbox-employee-zh-CN")
    page.locator("#inbox li a", has_text="撰写自评").click()
    page.wait_for_url(re.compile(r"/tasks/\d+$"))
    progress = page.locator("#form-progress")
    expect(progress).to_have_text(re.compile(r"已回答\s*0\s*/\s*4 项"))
    page.locator("[name=achievements]").press_sequentially("完成了设计系统，并带了两位新同事。")
    expect(progress).to_have_text(re.compile(r"已回答\s*1\s*/\s*4 项"))  # counted as she types
    expect(page.locator("#form-outline li.done")).to_have_count(1)
    expect(page.locator("#autosave-status")).to_have_text(SAVED_ZH)
    shot(page, "form-autosave-zh-CN")
    page.reload()
    expect(page.locator("[name=achievements]")).to_have_value("完成了设计系统，并带了两位新同事。")
    expect(progress).to_have_text(re.compile(r"已回答\s*1\s*/\s*4 项"))
    page.goto("/lang/en?next=" + page.url.split(server["base"])[1])
    page.locator("label.anchor", has_text="Exceeding expectations").first.click()
    expect(page.locator("#form-progress")).to_have_text(re.compile(r"2\s+of 4 answered"))
    expect(page.locator("#autosave-status")).to_have_text(SAVED_EN)
    shot(page, "form-autosave-en")
    page.reload()
    expect(page.locator("input[name=self_rating][value='4']")).to_be_checked()
    phone = open_page(locale="zh-CN", width=390, height=844)
    sign_in(phone, EMPLOYEE, server["password"])
    phone.goto(page.url.split(server["base"])[1])
    phone.locator("[name=challenges]").fill("跨团队沟通需要更多时间。")
    expect(phone.locator("#form-progress")).to_have_text(re.compile(r"已回答\s*3\s*/\s*4 项"))
    expect(phone.locator("#autosave-status")).to_have_text(SAVED_ZH)
    expect(phone.locator("#form-outline")).to_be_in_viewport()
    phone.mouse.wheel(0, 1500)
    expect(phone.locator("#form-outline")).to_be_in_viewport()  # sticky: the progress stays in sight
    no_sideways_scroll(phone)
    shot(phone, "form-autosave-zh-CN-phone")
