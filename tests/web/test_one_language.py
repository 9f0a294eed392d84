"""Every page and every shipped form speaks one language at a time, the reader's: on a zh-CN page no Latin word that
is not on a short allow-list (names, emails, product names, the data people typed), on an English page no stray
Chinese (except the data people typed and the language switch naming 中文 in its own script)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from api.web import formkit
from api.web.i18n import Text
from api.web.render import env
from forms import bundle

SCHEMAS = Path(__file__).resolve().parents[2] / "forms" / "schemas"

# Words a Chinese page may show in Latin script: the product, well-known abbreviations, units and formats.
ZH_ALLOWED = {"Reviewflow", "English", "HR", "UTC", "UTF", "CSV", "XLSX", "JSON", "BPMN", "PDF", "PNG", "SVG", "ID"}
ZH_ALLOWED |= {"OK", "SMART", "BARS", "PIP", "IDP", "KPI", "OKR", "CEO", "IT", "AI"}
LATIN = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
HAN = re.compile(r"[\u3400-\u9fff]+")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def stray(text: str, lang: str, allowed: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """The words of `text` in the other script than `lang`'s, minus emails and the allowed ones."""
    text = EMAIL.sub(" ", text)
    if lang == "zh-CN":
        words = {w for w in LATIN.findall(text) if w not in ZH_ALLOWED and w not in allowed}
    else:
        words = {w for w in HAN.findall(text) if w != "中文" and w not in allowed}
    return sorted(words)


FORM = env.from_string(
    "{% from '_fields.html' import field with context %}{% set req = schema.get('required', []) %}"
    "{% for name, prop in (schema.get('properties') or {}).items() %}"
    "{{ field(prop, name, name, None, name in req) }}{% endfor %}"
)


def _bundle() -> dict[str, Any]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(SCHEMAS.glob("*.schema.json"))}


def _visible(html: str) -> str:
    html = re.sub(r"<(script|style|code|pre)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"&[a-z]+;|&#\d+;", " ", html)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("name", sorted(p.name for p in SCHEMAS.glob("*.schema.json")))
def test_every_shipped_form_speaks_the_readers_language(name: str, lang: str) -> None:
    schema = bundle.embed(name, _bundle())
    tr = Text(lang)
    html = FORM.render(
        schema=schema, values={}, context={}, errors_at={}, tr=tr, t=tr.t, formkit=formkit, people=[], lang=lang
    )
    assert "<fieldset" in html or "<label" in html, "the form rendered no field"
    assert stray(_visible(html), lang) == [], f"{name} in {lang}"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _typed_by_people(database: str) -> set[str]:
    """Words people typed (names, departments, titles, cycle and group names, answers, drafts, reasons), read from
    the live server's database: a page shows what people typed as they typed it, whichever test typed it."""
    texts: list[str] = []
    with sqlite3.connect(database) as db:
        for sql in (
            "SELECT name, department, title FROM person",
            "SELECT name FROM cycle",
            "SELECT name FROM calibration_group",
        ):
            texts += [str(v) for row in db.execute(sql) for v in row if v]
        for sql in ("SELECT submitted, draft, prefill FROM task", "SELECT payload FROM audit_event"):
            for row in db.execute(sql):
                for column in row:
                    data = json.loads(column) if column else None
                    texts += _strings(data.get("reason") if sql.endswith("audit_event") and data else data)
    text = " ".join(texts)
    return set(LATIN.findall(text)) | set(HAN.findall(text))


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_every_page_speaks_the_readers_language(browser: Any, live_server: dict[str, Any], locale: str) -> None:
    from tests.web.conftest import sign_in
    from tests.web.test_accessibility import PAGES, _open_task

    lang = "zh-CN" if locale == "zh-CN" else "en"
    allowed = _typed_by_people(live_server["database"])
    found: dict[str, list[str]] = {}
    for who in dict.fromkeys(w for w, _, _ in PAGES):
        context = browser.new_context(base_url=live_server["base"], locale=locale)
        page = context.new_page()
        if who is not None:
            sign_in(page, who, live_server["password"])
            page.goto(f"/lang/{lang}?next=/inbox")
        for _, path, _name in [p for p in PAGES if p[0] == who]:
            url = _open_task(page) if path == "{open_task}" else path.format(**live_server)
            page.goto(url)
            # Everything a reader can reach on the page, collapsed parts included; not scripts, styles, code samples or
            # raw data (<code>, <pre>), not the drawn diagram (its element names are the designer's text) nor the
            # "Powered by bpmn.io" mark its licence keeps on every canvas.
            text = page.evaluate(
                """() => { const c = document.body.cloneNode(true);
                   c.querySelectorAll('script,style,code,pre,#canvas svg,.bjs-powered-by').forEach(e => e.remove());
                   const parts = [];
                   const walk = document.createTreeWalker(c, NodeFilter.SHOW_TEXT);
                   while (walk.nextNode()) parts.push(walk.currentNode.nodeValue);
                   c.querySelectorAll('[title],[aria-label],[placeholder],[alt]').forEach(e => parts.push(
                     ['title', 'aria-label', 'placeholder', 'alt'].map(a => e.getAttribute(a) || '').join(' ')));
                   return parts.join(' '); }"""
            )
            words = stray(text, lang, allowed)
            if words:
                found[f"{who} {url}"] = words
        context.close()
    report = json.dumps(found, indent=1, ensure_ascii=False)
    assert not found, f"words in the wrong language on {lang} pages:\n{report}"
