"""Every refusal of HR's live operations (engine/ops) and of acting on a task (engine/process/refusals.py) has its
Chinese text: a page in zh-CN shows it instead of the English one. A guard over the source with `ast`: an error
raised or built there without `detail_zh`, or a field problem without `message_zh`, fails this test."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from engine.core import errors

ROOT = Path(__file__).resolve().parents[2]
GUARDED = [*sorted((ROOT / "engine" / "ops").glob("*.py")), ROOT / "engine" / "process" / "refusals.py"]
ERRORS = {
    name for name, obj in vars(errors).items() if inspect.isclass(obj) and issubclass(obj, errors.ReviewflowError)
}


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _chinese(node: ast.expr) -> bool:
    """False only for text written out that has no Chinese in it (or None); a name or a call is trusted."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and any("\u2e80" <= c <= "\u9fff" for c in node.value)
    if isinstance(node, ast.JoinedStr):
        return any(_chinese(v) for v in node.values if isinstance(v, ast.Constant))
    return True


def _field_problems(node: ast.expr) -> list[ast.expr]:
    """The items of an `errors=[...]` argument (a list, or a comprehension's element)."""
    if isinstance(node, ast.List):
        return list(node.elts)
    if isinstance(node, ast.ListComp):
        return [node.elt]
    return []


def problems(source: str, where: str, helpers: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _name(node.func) in ERRORS:
            at = f"{where}:{node.lineno}"
            zh = next((k.value for k in node.keywords if k.arg == "detail_zh"), None)
            if zh is None or not _chinese(zh):
                found.append(f"{at}: {_name(node.func)}(...) without a Chinese detail_zh")
            for kw in (k for k in node.keywords if k.arg == "errors"):
                for item in _field_problems(kw.value):
                    if isinstance(item, ast.Dict):
                        keys = {k.value for k in item.keys if isinstance(k, ast.Constant)}
                        if "message_zh" not in keys:
                            found.append(f"{at}: a field problem without message_zh")
                    elif not (isinstance(item, ast.Call) and _name(item.func) == "field_error"):
                        found.append(f"{at}: a field problem that is neither a dict nor field_error(...)")
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            called = _name(node.exc.func)
            if called not in ERRORS and called not in helpers:
                found.append(f"{where}:{node.lineno}: raises {called}(...), which this guard cannot see into")
    return found


def _helpers() -> set[str]:
    """Functions of the guarded modules: raising what they return is fine, as their own bodies are checked."""
    return {
        node.name
        for path in GUARDED
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef)
    }


def test_every_refusal_of_the_live_operations_has_its_chinese_text():
    helpers = _helpers()
    found = [p for path in GUARDED for p in problems(path.read_text("utf-8"), path.name, helpers)]
    assert found == []


def test_the_guard_sees_what_it_guards():
    raises = sum(
        isinstance(node, ast.Raise) for path in GUARDED for node in ast.walk(ast.parse(path.read_text("utf-8")))
    )
    assert raises >= 30  # the ops modules and the task refusals, not an empty folder
    bad = [
        'raise Conflict("This task is already done.")',
        'raise NotFound("No task.", detail_zh=None)',
        'raise NotFound("No task.", detail_zh="No task, in English only.")',
        'raise InvalidInput("x", detail_zh="请填写", errors=[{"path": "to", "message": "required"}])',
        'raise InvalidInput("x", detail_zh="请填写", errors=[str(e) for e in found])',
        "raise somewhere.else_made()",
    ]
    for line in bad:
        assert problems(line, "snippet", {"_rule"}), line
    good = [
        'raise Conflict("This task is already done.", detail_zh="该任务已完成。")',
        'raise InvalidInput(en, detail_zh=zh, errors=[field_error("to", en, zh, "code")])',
        'raise InvalidInput("x", detail_zh=f"{n} 个", errors=[{"path": "a", "message": "m", "message_zh": "中"}])',
        'raise _rule("x", "中文", "code")',
        "raise",
    ]
    for line in good:
        assert problems(line, "snippet", {"_rule"}) == [], line
