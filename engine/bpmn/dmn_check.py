"""Deploy-time check of DMN decision tables: every cell is Python that SpiffWorkflow evaluates, so each is checked
with the same restricted compile check as BPMN scripts and conditions (`sandbox.check`), in the exact form the
engine evaluates it (read with lxml alone, before SpiffWorkflow sees the file).

How SpiffWorkflow 3.2 (`dmn/engine/DMNEngine.py`) evaluates a rule's cells:
- an input entry of exactly `-`, or an empty one, matches anything and is not evaluated;
- a `?` outside quotes stands for the input: `3 <= ? < 4` is evaluated with `?` bound to the input expression's
  value (which is evaluated on its own);
- otherwise a cell that parses as Python on its own (`"low"`, `1,2`, `3`) is compared for equality:
  `(input) == (cell)`; one that does not (`> 3`, `<= 2.5`) is appended to the input expression: `input> 3`;
- an output entry is evaluated as an expression.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from lxml import etree

from engine.bpmn import sandbox

# the same pattern the engine uses to find a `?` outside quotes
_QUESTION = re.compile(r'(\?)(?=(?:[^\'"]|[\'"][^\'"]*[\'"])*$)')
_INPUT_NAME = "dmninputexpr"  # what the engine binds the input's value to
_PLACEHOLDER = "dmn_input"  # stands for an input without its own expression (the engine falls back to data)


def _local(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _children(el: Any, local: str) -> list[Any]:
    return [c for c in el if _local(c) == local]


def _text(el: Any) -> tuple[str | None, int | None]:
    """The `<text>` of a DMN element as SpiffWorkflow reads it (`.text`, not stripped), with its line."""
    found = _children(el, "text")
    return (found[0].text, found[0].sourceline) if found else (None, el.sourceline)


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


def input_cell_expression(input_expression: str, cell: str) -> str | None:
    """The Python the engine evaluates for an input cell; None when the engine cannot make one (a syntax error)."""
    if _QUESTION.search(cell):
        return _QUESTION.sub(_INPUT_NAME, cell)
    if _parses(cell):
        return f"({input_expression}) == ({cell})"
    if _parses(f"v {cell}"):
        return input_expression + cell
    return None


def problems(name: str, root: Any) -> list[dict[str, Any]]:
    """Every refused cell of every decision table in one DMN file, as {"file","element","line","message"}."""
    found: list[dict[str, Any]] = []

    def refuse(element: str | None, line: int | None, where: str, reasons: list[str]) -> None:
        for reason in reasons:
            found.append({"file": name, "element": element, "line": line, "message": f"{where}: refused, {reason}."})

    for decision in root.iter():
        if _local(decision) != "decision":
            continue
        decision_name = f"decision '{decision.get('id')}'" + (
            f" ({decision.get('name')})" if decision.get("name") else ""
        )
        for table in _children(decision, "decisionTable"):
            inputs: list[tuple[str, str]] = []  # (label, expression the cells compare against)
            for column in _children(table, "input"):
                label = column.get("label") or column.get("name") or column.get("id") or "?"
                expression_el = _children(column, "inputExpression")
                source, line = _text(expression_el[0]) if expression_el else (None, column.sourceline)
                usable = _PLACEHOLDER
                if source is not None and source.strip():
                    reasons = sandbox.check(source.strip(), mode="eval")
                    refuse(column.get("id"), line, f"{name}, {decision_name}, input '{label}' expression", reasons)
                    usable = _PLACEHOLDER if reasons else source
                inputs.append((label, usable))
            outputs = [c.get("name") or c.get("label") or c.get("id") or "?" for c in _children(table, "output")]
            for row, rule in enumerate(_children(table, "rule"), start=1):
                where = f"{name}, {decision_name}, rule {row} ('{rule.get('id')}')"
                for index, entry in enumerate(_children(rule, "inputEntry")):
                    cell, line = _text(entry)
                    if cell is None or cell == "-":
                        continue
                    label, expression = inputs[index] if index < len(inputs) else ("?", _PLACEHOLDER)
                    at = f"{where}, input '{label}' cell '{cell}'"
                    code = input_cell_expression(expression, cell)
                    if code is None:
                        refuse(rule.get("id"), line, at, ["not a value, a comparison like '> 3' or a test with '?'"])
                    else:
                        refuse(rule.get("id"), line, at, sandbox.check(code.strip(), mode="eval"))
                for index, entry in enumerate(_children(rule, "outputEntry")):
                    cell, line = _text(entry)
                    if not cell:
                        continue
                    label = outputs[index] if index < len(outputs) else "?"
                    at = f"{where}, output '{label}' cell '{cell}'"
                    refuse(rule.get("id"), line, at, sandbox.check(cell.strip(), mode="eval"))
    return found
