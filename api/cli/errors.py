"""How the `reviewflow` command fails: one `Error:` line and a non-zero exit, never a traceback.

`CliGroup` is the root command class: every command runs inside its one error wrapper, so commands raise and
never catch. A `ReviewflowError` exits 2 naming what to fix; an unreadable file, a database it cannot connect to or
a bad setting exit 2 in one line; anything else exits 1 as `unexpected <ExcClass>` (REVIEWFLOW_DEBUG=1 shows the
traceback instead).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

import pydantic
import sqlalchemy
import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url
from typer.core import TyperGroup

from engine import bootstrap
from engine.core.errors import ReviewflowError
from engine.core.settings import get_settings
from engine.store import db

err = Console(stderr=True, soft_wrap=True)  # an error stays one line, whatever the terminal width
DEBUG_ENV = "REVIEWFLOW_DEBUG"


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _report(exc: ReviewflowError) -> None:
    err.print(f"[red]Error:[/red] {escape(_one_line(exc.detail))}")
    for e in exc.errors[:50]:
        where = " ".join(f"{k}={v}" for k, v in e.items() if k != "message" and v is not None)
        err.print(escape(f"  - {e.get('message')}" + (f" ({where})" if where else "")))


def fail(exc: ReviewflowError) -> NoReturn:
    """The error's detail on one line, then one indented line per listed problem (at most 50); exit 2."""
    _report(exc)
    raise typer.Exit(2)


def fail_line(exc: ReviewflowError | str) -> NoReturn:
    """One line naming every problem (for commands whose failures scripts read), then exit 2."""
    if isinstance(exc, str):
        text = exc
    else:
        problems = "; ".join(
            f"{e['path']}: {e.get('message')}" if e.get("path") else str(e.get("message")) for e in exc.errors
        )
        text = f"{exc.detail} {problems}" if problems else exc.detail
    err.print(f"[red]Error:[/red] {escape(_one_line(text))}")
    raise typer.Exit(2)


def safe_url(url: str) -> str:
    """The database URL as shown to a user: the password masked."""
    try:
        return make_url(db.normalize_url(url)).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return "(unparsable REVIEWFLOW_DATABASE_URL)"


_initialised: set[str] = set()


def require_initialised() -> None:
    """Refuse (exit 2) a database `reviewflow init` never ran on; never creates a missing SQLite file."""
    url = get_settings().database_url
    if url in _initialised:
        return
    parsed = make_url(db.normalize_url(url))
    missing = f"The database {safe_url(url)} is not initialised. Run `reviewflow init` first."
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(str(parsed.database))
        if not path.exists() or path.stat().st_size == 0:
            fail_line(missing)
    with db.get_engine().connect() as conn:
        if not sqlalchemy.inspect(conn).has_table("alembic_version"):
            fail_line(missing)
    _initialised.add(url)


def _explain(exc: Exception) -> tuple[str, int] | None:
    """The one line and exit code for a failure a user can fix, or None when it is unexpected."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"cannot read {exc.filename}: {exc.strerror or exc}", 2
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.statement is None:  # failed while connecting
        url = safe_url(get_settings().database_url)
        return f"cannot connect to the database {url}: {_one_line(exc.orig).removeprefix('connection failed: ')}", 2
    if isinstance(exc, pydantic.ValidationError) and exc.title == "Settings":
        bad = "; ".join(f"REVIEWFLOW_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        return f"invalid setting {bad}", 2
    return None


class CliGroup(TyperGroup):
    """The root command: whatever a command raises ends here as one line (see the module docstring)."""

    def invoke(self, ctx: Any) -> Any:  # Any: typer's vendored click Context is private
        bootstrap.start()
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.TyperException, typer.Abort, EOFError):
            raise  # click's own ways out: exit codes, usage errors, ^C
        except ReviewflowError as exc:
            _report(exc)
            raise typer.Exit(2) from None
        except Exception as exc:
            if os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
                raise
            known = _explain(exc)
            if known is not None:
                err.print(f"[red]Error:[/red] {escape(_one_line(known[0]))}")
                raise typer.Exit(known[1]) from None
            err.print(
                f"[red]Error:[/red] unexpected {type(exc).__name__}: {escape(_one_line(exc))} "
                f"(run with {DEBUG_ENV}=1 for the traceback)"
            )
            raise typer.Exit(1) from None
