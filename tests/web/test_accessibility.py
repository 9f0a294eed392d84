"""Every page, as each reader meets it, checked in real Chromium by axe-core (vendored in tests/web/vendor/axe-core,
injected into the page; the product never serves it): no serious or critical violation, in English and Chinese, on
a desktop and on a 390 px phone, where nothing may scroll sideways."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import shot, sign_in
from tests.web.world import AUDITOR, EMPLOYEE, HR, LEAD

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")

# (who signs in, the page, a name for the screenshot); None = signed out.
PAGES: list[tuple[str | None, str, str]] = [
    (None, "/login", "login"),
    (EMPLOYEE, "/inbox", "inbox"),
    (EMPLOYEE, "{open_task}", "task-form"),
    (EMPLOYEE, "/results", "results"),
    (LEAD, "/team", "team"),
    (HR, "/cycles", "cycles"),
    (HR, "/cycles/new", "cycle-new"),
    (HR, "/cycles/{cycle_id}", "cycle-dashboard"),
    (HR, "/people", "people"),
    (HR, "/definitions", "definitions"),
    (HR, "/modeler?key=feedback_360", "modeler"),
    (HR, "/instances/{completed_instance}", "instance-hr"),
    (AUDITOR, "/audit", "audit"),
    (AUDITOR, "/instances/{completed_instance}", "instance-auditor"),
]
# A page the test world does not reach by a link but every reader can meet.
MISSING = (EMPLOYEE, "/tasks/999999", "not-found")


def _violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
        }"""
    )
    return [v for v in result if v["impact"] in SERIOUS]


def _open_task(page: Any) -> str:
    page.goto("/inbox")
    link = page.locator("#inbox li a").first
    href = link.get_attribute("href")
    assert href, "the employee has an open task in the test world"
    return str(href)


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
@pytest.mark.parametrize("width", [1280, 390])
def test_no_serious_accessibility_violation_and_no_sideways_scroll(
    browser: Any, live_server: dict[str, Any], locale: str, width: int
) -> None:
    found: dict[str, list[dict[str, Any]]] = {}
    overflow: dict[str, int] = {}
    lang = "zh-CN" if locale == "zh-CN" else "en"
    for who in dict.fromkeys(w for w, _, _ in PAGES):  # one signed-in context per reader, in the order listed
        # The pages' Content-Security-Policy forbids injected scripts; only this test's contexts may inject axe.
        context = browser.new_context(
            base_url=live_server["base"],
            locale=locale,
            viewport={"width": width, "height": 844 if width < 500 else 900},
            bypass_csp=True,
        )
        page = context.new_page()
        if who is not None:
            sign_in(page, who, live_server["password"])
            page.goto(f"/lang/{lang}?next=/inbox")
        for _, path, name in [p for p in PAGES if p[0] == who]:
            url = _open_task(page) if path == "{open_task}" else path.format(**live_server)
            response = page.goto(url)
            assert response is not None and response.status == 200, f"{url}: {response and response.status}"
            if path.startswith("/modeler"):
                page.wait_for_selector("#canvas[data-ready=true]")  # the diagram is drawn by script
            bad = _violations(page)
            if bad:
                found[url] = bad
            sideways = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if width < 500 and sideways > 1:
                overflow[url] = sideways
            shot(page, f"a11y-{name}-{lang}-{width}")
        context.close()
    assert not found, "axe-core found serious or critical violations:\n" + json.dumps(
        found, indent=1, ensure_ascii=False
    )
    assert not overflow, f"pages that scroll sideways at {width} px (extra px): {overflow}"


def test_the_checker_sees_a_violation_when_there_is_one(browser: Any, live_server: dict[str, Any]) -> None:
    """The checks above can fail: an unlabelled image and an unnamed button are reported as serious or worse."""
    context = browser.new_context(base_url=live_server["base"], bypass_csp=True)
    page = context.new_page()
    page.goto("/login")
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', "
        "'<img src=\"/static/none.png\"><button></button>')"
    )
    ids = {v["id"] for v in _violations(page)}
    context.close()
    assert {"image-alt", "button-name"} <= ids


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
def test_the_not_found_page_is_accessible_too(browser: Any, live_server: dict[str, Any], locale: str) -> None:
    who, url, name = MISSING
    context = browser.new_context(base_url=live_server["base"], locale=locale, bypass_csp=True)
    page = context.new_page()
    sign_in(page, who, live_server["password"])
    response = page.goto(url)
    assert response is not None and response.status == 404
    bad = _violations(page)
    shot(page, f"a11y-{name}-{locale}")
    context.close()
    assert not bad, json.dumps(bad, indent=1, ensure_ascii=False)
