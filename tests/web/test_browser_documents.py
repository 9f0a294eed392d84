"""In headless Chromium: the employee's results and the manager's review read as documents, in English and Chinese.
Screenshots: test-artifacts/web/results-*.png and manager-review-*.png. The server runs in a subprocess on its own
SQLite database seeded with tests/web/documents_world.py (tests/web/conftest.py `serve`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web import documents_world as w
from tests.web.conftest import ARTIFACTS, serve, shot, sign_in
from tests.web.test_review_documents import RAW
from tests.workflows.steps import LEAD


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with serve(tmp_path_factory, "tests.web.documents_world") as server:
        yield server


@pytest.fixture
def open_page(browser: Any, docs_server: dict[str, Any]) -> Iterator[Any]:
    contexts = []

    def make(locale: str, width: int = 1280, height: int = 900) -> Any:
        context = browser.new_context(
            base_url=docs_server["base"], locale=locale, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for c in contexts:
        c.close()


def _as(open_page: Any, email: str, lang: str) -> Any:
    page = open_page("zh-CN" if lang == "zh-CN" else "en-GB")
    sign_in(page, email, w.PASSWORD)
    page.goto(f"/lang/{lang}?next=/inbox")
    return page


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_the_employee_reads_their_final_rating_first(open_page: Any, lang: str) -> None:
    page = _as(open_page, w.SUBJECT, lang)
    page.goto("/results")
    zh = lang == "zh-CN"
    first = page.locator(".card .final-rating").first
    expect(first).to_have_text(
        "你的最终评分是 5（远超预期）。" if zh else "Your final rating is 5 (Far exceeding expectations)."
    )
    expect(page.locator(".doc-result .how")).to_contain_text("团队之外的影响" if zh else "Impact beyond the team")
    expect(page.locator(".doc-goals tbody tr")).to_have_count(3)
    expect(page.locator(".doc-goals")).to_contain_text("提升采用率" if zh else "Grow adoption")
    expect(page.locator(".doc-360 .doc-card")).to_contain_text("共 2 份回答" if zh else "2 answers")
    text = page.locator("main").inner_text()
    assert not RAW.search(text), RAW.findall(text)
    shot(page, f"results-{lang}")


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_the_manager_reads_goals_self_ratings_and_the_360_before_rating(
    open_page: Any, docs_server: dict[str, Any], lang: str
) -> None:
    page = _as(open_page, LEAD, lang)
    page.goto(f"/tasks/{docs_server['manager_review']}")
    zh = lang == "zh-CN"
    context = page.locator("section.context")
    expect(context.locator(".doc-goals tbody tr")).to_have_count(3)
    expect(context.locator(".doc-goals")).to_contain_text("提升采用率" if zh else "Grow adoption")
    row = context.locator(".doc-ratings tr", has_text="Ship the design system")
    expect(row).to_contain_text("超额达成" if zh else "Exceeded")  # the self-rating's anchor, in words
    expect(context.locator(".doc-360 .not-enough")).to_contain_text("回答人数不足" if zh else "Not enough answers")
    text = context.inner_text()
    assert not RAW.search(text), RAW.findall(text)
    shot(page, f"manager-review-{lang}")
    context.screenshot(path=str(ARTIFACTS / f"manager-review-context-{lang.lower()}.png"))  # the part to read
