from __future__ import annotations

from fastapi import APIRouter, UploadFile

from api.deps import CurrentPerson, HRPerson, Id, SessionDep
from api.responses import ERRORS
from api.schemas import OrgImport, PersonActivation, PersonOut
from engine.core.errors import NotFound
from engine.ops import org_changes
from engine.org import accounts, people, policy

router = APIRouter(prefix="/api/people", tags=["people"], responses=ERRORS)


@router.post("/import", response_model=OrgImport)
async def import_people(
    file: UploadFile,
    session: SessionDep,
    actor: HRPerson,
    dry_run: bool = False,
    deactivate_missing: bool = False,
) -> dict:
    """Create or update people from a UTF-8 CSV (see DESIGN.md for the columns) and carry the effects into running
    reviews in the same transaction: `people` counts the people changes, `effects` lists every task moved or
    withdrawn and every review cancelled. `dry_run=true` shows the same and saves nothing; `deactivate_missing=true`
    deactivates active employees the file does not name."""
    data = await file.read(people.MAX_CSV_BYTES + 1)
    return org_changes.import_people(
        session, data=data, actor=actor.email, dry_run=dry_run, deactivate_missing=deactivate_missing
    )


@router.get("/{person_id}", response_model=PersonOut)
def get_person(person_id: Id, session: SessionDep, actor: CurrentPerson) -> dict:
    """A person's record: for themselves, their manager, and HR/auditors."""
    person = session.get(people.Person, person_id)
    allowed = person is not None and (
        person.id == actor.id or person.manager_id == actor.id or policy.allows(actor, policy.READ_ALL)
    )
    if person is None or not allowed:
        raise NotFound(f"No person with id {person_id} for you.")
    return _person(person)


@router.post("/{person_id}/deactivate", response_model=PersonActivation)
def deactivate(person_id: Id, session: SessionDep, actor: HRPerson) -> dict:
    """End every session and token of a person at once; they can no longer sign in (their record stays)."""
    person, ended = accounts.set_active(session, person_id=person_id, active=False, actor=actor.email)
    return {**_person(person), "tokens_revoked": ended}


@router.post("/{person_id}/activate", response_model=PersonActivation)
def activate(person_id: Id, session: SessionDep, actor: HRPerson) -> dict:
    """Let a deactivated person sign in again (their old sessions and tokens stay revoked)."""
    person, _ = accounts.set_active(session, person_id=person_id, active=True, actor=actor.email)
    return {**_person(person), "tokens_revoked": 0}


def _person(person: people.Person) -> dict:
    return {
        "id": person.id,
        "employee_no": person.employee_no,
        "name": person.name,
        "email": person.email,
        "department": person.department,
        "title": person.title,
        "locale": person.locale,
        "manager": people.person_ref(person.manager),
        "hr_partner": people.person_ref(person.hr_partner),
        "active": person.active,
    }
