"""Replace a person's strings in every text and JSON column of every table (erasure): a `Scrubber` holds what to
replace (their email, their name, the free-text answers they wrote) and by what (a pseudonym, `[erased]`).

The audit chain (`audit_event`) is never rewritten — its personal values live apart, in `audit_personal`, erased by
engine/ops/erasure.py — and neither are deployed diagrams (`definition_file`). Instances' serialised workflow state
is rewritten through engine/bpmn (the only package that knows SpiffWorkflow's format)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import JSON, String, Text, select, update
from sqlalchemy.orm import Session

from engine.bpmn.scrub import scrub_state
from engine.store.all_models import metadata

_SKIP_TABLES = frozenset({"audit_event", "audit_personal", "definition_file", "alembic_version"})
_SKIP_COLUMNS = frozenset({("api_token", "token_hash"), ("account", "password_hash"), ("definition", "digest")})
STATE_COLUMNS = frozenset({("instance", "state"), ("instance_migration", "previous_state")})


class Scrubber:
    """Case-insensitive replacement of each needle (longest first) by its replacement."""

    def __init__(self, replacements: dict[str, str]) -> None:
        self.replacements = {k.casefold(): v for k, v in replacements.items() if k}
        needles = sorted(self.replacements, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(n) for n in needles), re.IGNORECASE) if needles else None

    def text(self, value: str) -> str:
        if self.pattern is None:
            return value
        return self.pattern.sub(lambda m: self.replacements[m.group(0).casefold()], value)

    def hits(self, value: str) -> bool:
        return self.pattern is not None and self.pattern.search(value) is not None

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v) for v in value]
        return value


def scrub_all(session: Session, scrubber: Scrubber) -> dict[str, int]:
    """Rewrite every row holding one of the needles; returns the number of values changed per `table.column`."""
    counts: dict[str, int] = {}
    for table in metadata.sorted_tables:
        if table.name in _SKIP_TABLES:
            continue
        key = list(table.primary_key.columns)
        for column in table.columns:
            if column.primary_key or (table.name, column.name) in _SKIP_COLUMNS:
                continue
            if not isinstance(column.type, String | Text | JSON):
                continue
            changed = 0
            rows = session.execute(select(*key, column).where(column.is_not(None))).all()
            for row in rows:
                old = row[-1]
                if (table.name, column.name) in STATE_COLUMNS:
                    new = scrub_state(old, scrubber.text)
                elif isinstance(column.type, JSON):
                    new = scrubber.json(old)
                else:
                    new = scrubber.text(old)
                if new == old:
                    continue
                where = [k == row[i] for i, k in enumerate(key)]
                values: dict[str, Any] = {column.name: new}
                if (table.name, column.name) == ("instance", "state"):  # a concurrent step must reload it (409)
                    values["version"] = table.c.version + 1
                session.execute(update(table).where(*where).values(values))
                changed += 1
            if changed:
                counts[f"{table.name}.{column.name}"] = changed
    return counts
