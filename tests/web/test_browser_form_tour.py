"""A tour of every shipped form as its assignee meets it, in real Chromium: the world of tests/web/world_forms.py has
an open task for each form at once. Each page, in English and Chinese (and the Chinese one on a 390 px phone), is
screenshotted to test-artifacts/web/form-<name>-<lang>[-phone].png, must not scroll sideways on the phone, must have
no serious or critical axe-core violation and must speak the reader's language only. So does the results page of a
released review (form-tour-results-*.png). A shipped form with no open task in the world fails the tour."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import ARTIFACTS, serve, sign_in
from tests.web.test_accessibility import _violations
from tests.web.test_one_language import _typed_by_people, stray

SCHEMAS = Path(__file__).resolve().parents[2] / "forms" / "schemas"
SHIPPED = sorted(p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json"))
UNREACHABLE: dict[str, str] = {}  # a shipped form the tour cannot open, and why (none today)
LANGS = ("en", "zh-CN")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TEXT = """() => { const c = document.body.cloneNode(true);
   c.querySelectorAll('script,style,code,pre').forEach(e => e.remove());
   const parts = [];
   const walk = document.createTreeWalker(c, NodeFilter.SHOW_TEXT);
   while (walk.nextNode()) parts.push(walk.currentNode.nodeValue);
   c.querySelectorAll('[title],[aria-label],[placeholder],[alt]').forEach(e => parts.push(
     ['title', 'aria-label', 'placeholder', 'alt'].map(a => e.getAttribute(a) || '').join(' ')));
   return parts.join(' '); }"""
SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture(scope="module")
def tour_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with serve(tmp_path_factory, "tests.web.world_forms") as server:
        yield server


class Findings:
    """What the tour found, page by page; reported all at once so one run shows every problem."""

    def __init__(self, allowed: set[str]) -> None:
        self.allowed = allowed
        self.axe: dict[str, Any] = {}
        self.words: dict[str, list[str]] = {}
        self.sideways: dict[str, int] = {}
        self.visited: set[str] = set()

    def check(self, page: Any, name: str, lang: str, *, phone: bool = False) -> None:
        """Screenshot; axe-core on the English desktop page and the Chinese phone one (the Chinese desktop page differs
        from them only in width or in words, which the one-language check reads); sideways scroll on the phone."""
        label = f"{name}-{lang}" + ("-phone" if phone else "")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)  # the names as they are, zh-CN in its capitals
        page.screenshot(path=str(ARTIFACTS / f"form-{'tour-' if name == 'results' else ''}{label}.png"), full_page=True)
        if phone or lang == "en":
            bad = _violations(page)
            if bad:
                self.axe[label] = bad
        if phone:
            extra = page.evaluate(SIDEWAYS)
            if extra > 1:
                self.sideways[label] = extra
        else:
            words = stray(page.evaluate(TEXT), lang, self.allowed)
            if words:
                self.words[label] = words


def _visit(page: Any, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url}: {response and response.status}"


def test_every_shipped_form_in_both_languages_and_on_a_phone(browser: Any, tour_server: dict[str, Any]) -> None:
    forms: dict[str, dict[str, Any]] = tour_server["forms"]
    expected = [name for name in SHIPPED if name not in UNREACHABLE]
    assert sorted(forms) == expected, "the tour's world has no open task for some shipped form (or an unknown one)"
    found = Findings(_typed_by_people(tour_server["database"]))
    by_person: dict[str, list[str]] = {}
    for form, where in forms.items():
        by_person.setdefault(where["who"], []).append(form)
    by_person.setdefault(tour_server["released"], [])
    for who, names in by_person.items():
        urls = [(n, f"/tasks/{forms[n]['task']}") for n in names]
        if who == tour_server["released"]:
            urls.append(("results", "/results"))
        signed_in: Any = None
        for lang in LANGS:  # one context per reader and language; the second starts signed in with the first's cookie
            context = browser.new_context(
                base_url=tour_server["base"], viewport=DESKTOP, bypass_csp=True, storage_state=signed_in
            )
            context.set_default_timeout(15_000)
            page = context.new_page()
            if signed_in is None:
                sign_in(page, who, tour_server["password"])
                signed_in = context.storage_state()
            for i, (name, url) in enumerate(urls):
                page.set_viewport_size(DESKTOP)
                _visit(page, f"/lang/{lang}?next={url}" if i == 0 else url)
                shown = page.locator("main section.card" if name == "results" else "#task-form").count()
                assert shown >= 1, f"{url} shows no form to fill (or no released result)"
                found.check(page, name, lang)
                if lang == "zh-CN":
                    page.set_viewport_size(PHONE)
                    found.check(page, name, lang, phone=True)
                found.visited.add(name)
            context.close()
    assert sorted(found.visited) == sorted([*expected, "results"]), "the tour missed a page"
    report = json.dumps({"axe": found.axe, "words": found.words}, indent=1, ensure_ascii=False)
    assert not found.axe and not found.words, f"problems on the tour:\n{report}"
    assert not found.sideways, f"pages that scroll sideways at 390 px (extra px): {found.sideways}"
