"""The org chart: import people from CSV (UTF-8, Chinese names common) and look them up."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.errors import InvalidInput, NotFound
from engine.models import Person
from engine.transaction import transactional

COLUMNS = ("employee_no", "name", "email", "manager_email", "department", "title", "locale", "hr_partner_email")
LOCALES = ("en", "zh-CN")
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
MAX_CSV_BYTES = 10 * 1024 * 1024


def normalize_email(value: str | None) -> str:
    value = (value or "").strip().lower()
    return value if _EMAIL.match(value) else ""


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged, "errors": self.errors}


def _decode(data: bytes) -> str:
    if len(data) > MAX_CSV_BYTES:
        raise InvalidInput(f"The CSV file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"The CSV file is not UTF-8 (byte {exc.start}). Save it as 'CSV UTF-8' and upload it again."
        ) from None


@transactional
def import_csv(session: Session, *, data: bytes, actor: str) -> ImportResult:
    """Create or update people by email; rows with problems are reported and left out, the rest are saved."""
    reader = csv.DictReader(io.StringIO(_decode(data)))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in ("name", "email") if c not in header]
    if missing:
        raise InvalidInput(f"The CSV header must contain {', '.join(missing)}; expected columns: {', '.join(COLUMNS)}.")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise InvalidInput(f"Unknown column(s) {', '.join(unknown)}; expected columns: {', '.join(COLUMNS)}.")
    result = ImportResult()
    rows: dict[str, tuple[int, dict[str, str]]] = {}
    for line, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        email = normalize_email(row.get("email"))
        problems = []
        if not email:
            problems.append(("email", "a valid email address is required"))
        if not row.get("name"):
            problems.append(("name", "a name is required"))
        if row.get("locale") and row["locale"] not in LOCALES:
            problems.append(("locale", f"use one of {', '.join(LOCALES)}"))
        if email and email in rows:
            problems.append(("email", f"this email is already on line {rows[email][0]}"))
        for col in ("manager_email", "hr_partner_email"):
            if row.get(col) and not normalize_email(row[col]):
                problems.append((col, "not a valid email address"))
        if email and normalize_email(row.get("manager_email")) == email:
            problems.append(("manager_email", "a person cannot be their own manager"))
        if problems:
            result.errors.extend({"row": line, "field": f, "message": m} for f, m in problems)
            continue
        rows[email] = (line, row)

    existing = {p.email: p for p in session.scalars(select(Person).where(Person.email.in_(list(rows))))}
    known = set(existing) | set(rows)
    if rows:
        refs = {normalize_email(r.get(c)) for _, r in rows.values() for c in ("manager_email", "hr_partner_email")}
        known |= set(session.scalars(select(Person.email).where(Person.email.in_([e for e in refs if e]))))
    for email, (line, row) in list(rows.items()):
        for col in ("manager_email", "hr_partner_email"):
            ref = normalize_email(row.get(col))
            if ref and ref not in known:
                result.errors.append(
                    {"row": line, "field": col, "message": f"{ref} is neither in this file nor imported"}
                )
                rows.pop(email, None)
                break

    people: dict[str, Person] = {}
    for email, (_line, row) in rows.items():
        person = existing.get(email)
        values = {
            "name": row["name"],
            "employee_no": row.get("employee_no") or None,
            "department": row.get("department") or None,
            "title": row.get("title") or None,
            "locale": row.get("locale") or "en",
        }
        if person is None:
            person = Person(email=email, active=True, employee=True, **values)
            session.add(person)
            result.created += 1
        else:
            changed = any(getattr(person, k) != v for k, v in values.items()) or not person.employee
            for k, v in values.items():
                setattr(person, k, v)
            person.employee = True
            result.updated += int(changed)
            result.unchanged += int(not changed)
        people[email] = person
    session.flush()
    lookup = {p.email: p for p in session.scalars(select(Person).where(Person.email.in_(list(known))))}
    for email, (line, row) in rows.items():
        person = people[email]
        manager = lookup.get(normalize_email(row.get("manager_email")))
        if manager is not None and _would_cycle(person, manager):
            result.errors.append(
                {
                    "row": line,
                    "field": "manager_email",
                    "message": f"{manager.email} reports (directly or not) to {email}: a loop",
                }
            )
            manager = None
        before = (person.manager_id, person.hr_partner_id)
        person.manager_id = manager.id if manager else None
        partner = lookup.get(normalize_email(row.get("hr_partner_email")))
        person.hr_partner_id = partner.id if partner else None
        if before != (person.manager_id, person.hr_partner_id) and person in existing.values():
            if before != (None, None) or result.unchanged:
                result.updated += 1 if (before[0] is not None or before[1] is not None) else 0
        session.flush()
    audit.record(
        session,
        actor=actor,
        action="people.imported",
        payload={"created": result.created, "updated": result.updated, "errors": len(result.errors)},
    )
    return result


def _would_cycle(person: Person, manager: Person) -> bool:
    seen: set[int] = set()
    current: Person | None = manager
    while current is not None and current.id not in seen:
        if current.id == person.id:
            return True
        seen.add(current.id)
        current = current.manager
    return False


def get_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"No person with id {person_id}.")
    return person


def by_email(session: Session, email: str) -> Person | None:
    return session.scalar(select(Person).where(Person.email == normalize_email(email)))


def person_ref(person: Person | None) -> dict[str, str] | None:
    return {"email": person.email, "name": person.name} if person is not None else None
