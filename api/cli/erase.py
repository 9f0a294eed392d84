"""`reviewflow people erase EMAIL --reason R --as HR1 --approved-by HR2`: ask for and approve an erasure in one go
(two different HR admins, as the API requires); each refusal is one line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from api.cli.ops import As, _hr, _run
from engine.core.errors import InvalidInput, NotFound
from engine.ops import erasure
from engine.org import people

out = Console()


def people_erase(
    email: Annotated[str, typer.Argument(help="the person to erase")],
    reason: Annotated[str, typer.Option(help="why (e.g. the person's request and its date); kept with the request")],
    approved_by: Annotated[str, typer.Option("--approved-by", help="the second HR admin, who approves")],
    as_: As = None,
) -> None:
    """Erase a person (PIPL / GDPR): name, email and free-text answers replaced everywhere by a pseudonym; scores
    and counts stay; the audit chain still verifies."""

    def call(s: Session) -> str:
        asker = _hr(s, as_)
        approver = _hr(s, approved_by)
        person = people.by_email(s, email)
        if person is None:
            raise NotFound(f"No person {email}.")
        if approver.id == asker.id:
            raise InvalidInput("--approved-by must name a second HR admin, not the one who asks (--as).")
        asked = erasure.request(s, actor=asker, person_id=person.id, reason=reason)
        done = erasure.approve(s, actor=approver, request_id=asked["id"])
        changed = sum((done["report"] or {}).get("changed", {}).values())
        return f"erased person {person.id} (request {done['id']}): {changed} values replaced"

    _run(call)
