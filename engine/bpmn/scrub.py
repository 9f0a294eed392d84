"""Rewrite the personal strings inside an instance's serialised workflow state (erasure): every string the
workflow or any of its tasks holds — data, messages, correlations — passes through `fix`; the structure, ids and
spec references are left alone, so the state loads as before."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

_STRUCTURE = frozenset({"typename", "spec_key", "task_spec", "id", "parent", "children", "root", "state", "spec"})


def scrub_state(state: str, fix: Callable[[str], str]) -> str:
    """The state with `fix` applied to every string value (and data key) outside the serializer's own fields;
    returns `state` itself when nothing changed."""
    if not state:
        return state
    doc = json.loads(state)
    changed = [False]

    def walk(value: Any, structural: bool) -> Any:
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                key = k if k in _STRUCTURE or not isinstance(k, str) else fix(k)
                changed[0] |= key != k
                out[key] = walk(v, k in _STRUCTURE)
            return out
        if isinstance(value, list):
            return [walk(v, structural) for v in value]
        if isinstance(value, str) and not structural:
            fixed = fix(value)
            changed[0] |= fixed != value
            return fixed
        return value

    result = walk(doc, False)
    return json.dumps(result) if changed[0] else state
