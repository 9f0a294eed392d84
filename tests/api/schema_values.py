"""Values generated from a JSON Schema, as a schema-driven client would send them: `from_schema` of
hypothesis-jsonschema. Version 0.23 draws object properties through Hypothesis' private `many(...).more()`, which
newer Hypothesis replaced by `with many(...) as elements: for _ in elements:`; `_Many` gives the new class the old
face (test-only; harmless once hypothesis-jsonschema follows Hypothesis)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import hypothesis_jsonschema._from_schema as _impl
from hypothesis.internal.conjecture import utils as _cu
from hypothesis_jsonschema import from_schema

__all__ = ["from_schema"]


class _Many:
    def __init__(self, data: Any, **sizes: Any) -> None:
        self._many = _cu.many(data, **sizes)
        self._many.__enter__()
        self._steps = iter(self._many)

    def more(self) -> bool:
        try:
            next(self._steps)
        except StopIteration:
            self._many.__exit__(None, None, None)
            return False
        return True

    def reject(self, why: str | None = None) -> None:
        self._many.reject(why)


if not hasattr(_cu.many, "more"):
    _impl.cu = SimpleNamespace(many=_Many)  # type: ignore[assignment]
