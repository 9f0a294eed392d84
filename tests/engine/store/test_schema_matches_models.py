"""The migrations and the models describe the same schema: Alembic's comparison of a freshly migrated database with
the metadata `env.py` uses finds nothing to change, on SQLite and PostgreSQL — so autogenerate would propose no
spurious drops, and a model change without its migration (or the reverse) fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, Index, Table

import engine
from engine.store import all_models

ENGINE_DIR = Path(engine.__file__).parent


def _modules_declaring_tables() -> set[str]:
    """Modules of engine/ with a class deriving from `Base`, found by reading the source (importing every module
    here would hide a module the list forgot)."""
    found = set()
    for path in ENGINE_DIR.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(isinstance(b, ast.Name) and b.id == "Base" for b in node.bases):
                name = ".".join(path.relative_to(ENGINE_DIR.parent).with_suffix("").parts)
                found.add(name)
    return found


def _describe(diff: object) -> str:
    """One line per difference: what Alembic would do, to what, and (for column changes) database -> models."""
    if isinstance(diff, list):  # column changes come grouped
        return "\n".join(_describe(d) for d in diff)
    assert isinstance(diff, tuple)
    action, *rest = diff
    if action.startswith("modify_"):
        _schema, table, column, _existing, in_db, in_models = rest
        show = [str(getattr(v, "arg", v)) if v is not None else "None" for v in (in_db, in_models)]
        return f"{action} {table}.{column}: database {show[0]} -> models {show[1]}"
    if action in ("add_column", "remove_column"):
        _schema, table, column = rest
        return f"{action} {table}.{column.name} {column.type}"
    target = rest[0]
    if isinstance(target, Index):
        columns = ", ".join(c.name for c in target.columns)
        return f"{action} {target.name} on {target.table.name if target.table is not None else '?'}({columns})"
    if isinstance(target, Table):
        return f"{action} {target.name}"
    return f"{action} {' '.join(str(r) for r in rest)}"


def test_alembic_loads_every_module_that_declares_tables():
    loaded = {m.__name__ for m in all_models.MODULES}
    missing = _modules_declaring_tables() - loaded
    assert not missing, f"add {sorted(missing)} to engine.store.all_models.MODULES (Alembic's env.py loads that list)"


def test_env_py_takes_the_metadata_of_all_models():
    env = (ENGINE_DIR / "store" / "migrations" / "env.py").read_text(encoding="utf-8")
    assert "from engine.store.all_models import metadata" in env


@pytest.mark.both_dbs
def test_migrated_database_matches_the_models(db_engine: Engine):
    with db_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        differences = compare_metadata(context, all_models.metadata)
    lines = "\n".join(_describe(d) for d in differences)
    assert not differences, f"migrations and models differ; autogenerate would emit:\n{lines}"
