"""What every `reviewflow` command shares: a session on an initialised database and the person it acts as."""

from __future__ import annotations

import typer
from sqlalchemy.orm import Session

from api.cli.errors import err, require_initialised
from engine.org import people, policy
from engine.store import db
from engine.store.models import Account, Person


def session() -> Session:
    """A session on the configured database; refused (exit 2) when `reviewflow init` never ran on it."""
    require_initialised()
    return db.new_session()


def actor_for(s: Session, email: str | None) -> Person:
    """The person `--as EMAIL` names, else the first active account the CLI may act as (an admin or designer)."""
    if email:
        person = people.by_email(s, email)
        if person is None:
            err.print(f"[red]Error:[/red] no person {email}")
            raise typer.Exit(2)
        return person
    candidates = s.query(Person).join(Account).filter(Person.active).order_by(Person.id).all()
    admins = [p for p in candidates if policy.allows(p, policy.CLI_ACTOR)]
    if not admins:
        err.print("[red]Error:[/red] create an admin or designer account first, or pass --as EMAIL")
        raise typer.Exit(2)
    return admins[0]
