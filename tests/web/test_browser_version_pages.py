"""Diagram versions and the org-change preview in headless Chromium (issue 12), in English and in Chinese: HR checks
which running reviews can move to version 2 of the review diagram, moves them, tries version 2 on the finished
review (nothing saved), and moves them back to version 1; then previews a people import in which designer1 is
leaving (their review would be cancelled) and leaves without importing. The shared live world ends as it began:
the reviews and the cycle are on version 1 again and the org chart is unchanged."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from playwright.sync_api import expect

from tests import factories as f
from tests.web.conftest import shot, sign_in
from tests.web.world import EMPLOYEE, HR


def _deploy_v2(page: Any) -> None:
    """Version 2 of the review diagram: the self-review's instructions reworded (set up through the modeler's
    deploy endpoint, as the modeler page does)."""
    if page.locator("#migrate-version option[value='2']").count():
        return
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    xml = page.request.get("/definitions/simple_review/versions/1/diagram.xml").text()
    edited = xml.replace("Take your time and tell us,", "Take your time and tell us plainly,")
    assert edited != xml
    r = page.request.post(
        "/modeler/deploy",
        data=json.dumps({"source": {"key": "simple_review", "version": 1}, "xml": edited}),
        headers={"Content-Type": "application/json", "X-CSRF-Token": token},
    )
    assert r.status == 201, r.text()
    page.reload()


def _check(page: Any, version: str) -> Any:
    page.select_option("#migrate-version", version)
    page.locator("#migrate-form button[type=submit]").click()
    return page.locator("#migrate-preview")


def test_hr_moves_running_reviews_to_another_version_and_back(new_page: Any, live_server: dict[str, Any]) -> None:
    page = new_page(locale="en-GB")
    sign_in(page, HR, live_server["password"])
    cycle = f"/cycles/{live_server['cycle_id']}"
    page.goto(f"/lang/en?next={cycle}")
    _deploy_v2(page)
    expect(page.locator("#versions h2")).to_have_text("Diagram versions")

    preview = _check(page, "2")
    expect(preview.locator("#migrate-summary")).to_have_text("1 can move to version 2, 1 cannot, 0 already there.")
    expect(preview.locator("tr[data-can=no] .why")).to_have_text("the review is completed")
    expect(preview.locator("#migrate-confirm button")).to_have_text("Move the 1 that can")
    shot(page, "hr-migrate-check-en")
    preview.locator("#migrate-confirm button").click()
    page.wait_for_url(re.compile(r"moved=1&to=2"))
    expect(page.locator("#migrate-done")).to_contain_text("Reviews moved to version 2: 1.")
    shot(page, "hr-migrate-done-en")

    page.select_option("#replay-version", "2")
    page.locator("#replay-form button[type=submit]").click()
    report = page.locator("#replay-report")
    expect(report.locator("h4")).to_have_text("What-if with version 2 — nothing was saved")
    expect(report.locator("#replay-summary")).to_contain_text("1 finished reviews")
    shot(page, "hr-migrate-replay-en")

    # In Chinese, back to version 1 (the cycle and the review as they were).
    page.goto(f"/lang/zh-CN?next={cycle}")
    preview = _check(page, "1")
    expect(preview.locator("#migrate-summary")).to_have_text("1 份可以迁移到版本 1，0 份不能迁移，1 份已在该版本。")
    expect(preview.locator("tr[data-can=no] .why")).to_have_text("已在版本 1")
    shot(page, "hr-migrate-check-zh")
    preview.locator("#migrate-confirm button").click()
    page.wait_for_url(re.compile(r"moved=1&to=1"))
    expect(page.locator("#migrate-done")).to_contain_text("已迁移到版本 1 的评估：1 份。")
    expect(page.locator("#versions .muted").first).to_contain_text("第 1 版")
    shot(page, "hr-migrate-done-zh")


def _org(*, leaving: str | None = None) -> bytes:
    return "".join(line + "\n" for line in f.ORG.splitlines() if not leaving or leaving not in line).encode()


def _absent(live_server: dict[str, Any], data: bytes) -> int:
    """Active employees of the live server's org chart who are not in `data`."""
    listed = {line.split(",")[2].strip().lower() for line in data.decode().splitlines()[1:] if line.count(",") >= 2}
    with sqlite3.connect(live_server["database"]) as db:
        emails = [row[0] for row in db.execute("SELECT email FROM person WHERE active AND employee")]
    return sum(1 for email in emails if email.lower() not in listed)


def _preview(page: Any, data: bytes, *, deactivate: bool = False) -> Any:
    page.set_input_files("#file", files=[{"name": "org.csv", "mimeType": "text/csv", "buffer": data}])
    # the page keeps the last preview's choice: set it either way
    page.set_checked("#import-form input[type=checkbox][name=deactivate_missing]", deactivate)
    page.locator("#import-form button[type=submit]").click()
    return page.locator("#import-preview")


def test_hr_previews_the_effects_of_a_people_import(new_page: Any, live_server: dict[str, Any]) -> None:
    page = new_page(locale="en-GB")
    sign_in(page, HR, live_server["password"])
    page.goto("/lang/en?next=/people")
    preview = _preview(page, _org(leaving=EMPLOYEE), deactivate=True)  # designer1 left the company
    expect(preview.locator("h3")).to_have_text("Preview — nothing has changed yet")
    # everyone active and absent from the file is deactivated: designer1, and whoever other tests added
    expect(preview.locator("#preview-counts")).to_contain_text(
        f"deactivate {_absent(live_server, _org(leaving=EMPLOYEE))}"
    )
    cancelled = preview.locator("#preview-effects tr[data-action=cancel_instance]").first  # (one per review they have)
    expect(cancelled.locator("td").nth(1)).to_have_text("Review cancelled (kept read only)")
    expect(cancelled.locator(".why")).to_have_text(
        f"{EMPLOYEE} is no longer active: their review is cancelled and kept read only."
    )
    shot(page, "people-import-preview-en")
    preview.get_by_role("link", name="Cancel, change nothing").click()
    expect(page.locator("#import-preview")).to_have_count(0)

    page.goto("/lang/zh-CN?next=/people")
    with sqlite3.connect(live_server["database"]) as db:
        [(active,)] = db.execute("SELECT count(*) FROM person WHERE active AND employee").fetchall()
    preview = _preview(page, _org(leaving=EMPLOYEE), deactivate=True)
    expect(preview.locator("h3")).to_have_text("预览——尚未做任何改动")
    expect(preview.locator("#preview-effects .why").first).to_have_text(
        f"{EMPLOYEE} 已不在职：其评估将被取消，并以只读方式保留。"
    )
    shot(page, "people-import-preview-zh")

    # Confirming the org chart as it is (nobody deactivated) changes nobody and no review.
    preview = _preview(page, _org())
    expect(preview.locator("#no-effects")).to_have_text("没有进行中的评估受到影响。")
    preview.locator("#import-confirm button").click()
    expect(page.locator("#import-result")).to_contain_text("新增 0 · 更新 0")
    expect(page.locator("#import-effects")).to_contain_text("没有进行中的评估受到影响。")
    page.goto("/people")
    expect(page.locator("main .muted").first).to_contain_text(f"{active} ")  # as many active people as before
