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
from engine.core.errors import InvalidInput, NotFound
from engine.store.models import Person as Person  # re-exported: callers use people.Person
from engine.store.transaction import transactional

COLUMNS = (
    "employee_no",
    "name",
    "email",
    "manager_email",
    "department",
    "title",
    "locale",
    "hr_partner_email",
    "active",
)
_TRUE, _FALSE = {"true", "yes", "y", "1", "是"}, {"false", "no", "n", "0", "否"}
LOCALES = ("en", "zh-CN")
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
MAX_CSV_BYTES = 10 * 1024 * 1024
MAX_FIELD_CHARS = 128 * 1024
# The csv module raises a bare csv.Error past its own field limit (128 KiB by default) without saying where. Raise
# that limit to the file limit (process-wide, only ever upwards) and refuse oversized fields ourselves, by row/column.
csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_BYTES))


def normalize_email(value: str | None) -> str:
    value = (value or "").strip().lower()
    return value if _EMAIL.match(value) else ""


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    deactivated_emails: list[str] = field(default_factory=list)  # who this import made inactive

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deactivated": self.deactivated,
            "errors": self.errors,
        }


@dataclass
class Parsed:
    """A CSV file read and checked row by row: the rows to save by email, the problems of the rows left out."""

    columns: set[str]
    rows: dict[str, tuple[int, dict[str, str]]]
    errors: list[dict[str, Any]]
    seen: set[str]  # every valid email in the file, the rows left out included


def _decode(data: bytes) -> str:
    if len(data) > MAX_CSV_BYTES:
        mb = MAX_CSV_BYTES // (1024 * 1024)
        raise InvalidInput(f"The CSV file is larger than {mb} MB.", detail_zh=f"CSV 文件超过了 {mb} MB。")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"The CSV file is not UTF-8 (byte {exc.start}). Save it as 'CSV UTF-8' and upload it again.",
            detail_zh=f"CSV 文件不是 UTF-8 编码（第 {exc.start} 个字节）。请另存为“CSV UTF-8”后重新上传。",
        ) from None


@transactional
def set_time_zone(session: Session, *, person_id: int, zone: str) -> None:
    """Remember the time zone a person chose (an IANA name the caller checked) for every device they use."""
    person = session.get(Person, person_id)
    if person is not None:
        person.time_zone = zone


def active_value(value: str | None) -> bool | None:
    """The `active` column: true/false (yes/no, 1/0, 是/否); empty leaves it as it is (a new person is active)."""
    text = (value or "").strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


@transactional
def import_csv(session: Session, *, data: bytes, actor: str, deactivate_missing: bool = False) -> ImportResult:
    """Create or update people by email; rows with problems are reported and left out, the rest are saved."""
    return save(session, parse(data), actor=actor, deactivate_missing=deactivate_missing)


def parse(data: bytes) -> Parsed:
    """Read and check the CSV (nothing is looked up or saved): a broken file raises InvalidInput, a bad row is
    reported and left out."""
    reader = csv.DictReader(io.StringIO(_decode(data)))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in ("name", "email") if c not in header]
    if missing:
        raise InvalidInput(
            f"The CSV header must contain {', '.join(missing)}; expected columns: {', '.join(COLUMNS)}.",
            detail_zh=f"CSV 表头必须包含 {', '.join(missing)}；应有的列为：{', '.join(COLUMNS)}。",
        )
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise InvalidInput(
            f"Unknown column(s) {', '.join(unknown)}; expected columns: {', '.join(COLUMNS)}.",
            detail_zh=f"无法识别的列：{', '.join(unknown)}；应有的列为：{', '.join(COLUMNS)}。",
        )
    errors: list[dict[str, Any]] = []
    rows: dict[str, tuple[int, dict[str, str]]] = {}
    seen: set[str] = set()
    for line, raw in enumerate(reader, start=2):
        _refuse_huge_fields(line, raw, header)
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        email = normalize_email(row.get("email"))
        if email:
            seen.add(email)
        problems: list[tuple[str, str, str]] = []  # (column, English, Chinese)
        if not email:
            problems.append(("email", "a valid email address is required", "需要填写有效的邮箱地址"))
        if not row.get("name"):
            problems.append(("name", "a name is required", "需要填写姓名"))
        if row.get("locale") and row["locale"] not in LOCALES:
            problems.append(("locale", f"use one of {', '.join(LOCALES)}", f"请使用以下之一：{', '.join(LOCALES)}"))
        if row.get("active") and active_value(row["active"]) is None:
            problems.append(("active", "use true or false (yes/no, 1/0, 是/否)", "请填写 是/否（true/false、1/0）"))
        if email and email in rows:
            line_before = rows[email][0]
            problems.append(
                ("email", f"this email is already on line {line_before}", f"该邮箱已出现在第 {line_before} 行")
            )
        for col in ("manager_email", "hr_partner_email"):
            if row.get(col) and not normalize_email(row[col]):
                problems.append((col, "not a valid email address", "不是有效的邮箱地址"))
        if email and normalize_email(row.get("manager_email")) == email:
            problems.append(("manager_email", "a person cannot be their own manager", "员工不能是自己的经理"))
        if problems:
            errors.extend({"row": line, "field": f, "message": m, "message_zh": zh} for f, m, zh in problems)
            continue
        rows[email] = (line, row)
    return Parsed(columns=set(header), rows=rows, errors=errors, seen=seen)


def save(session: Session, parsed: Parsed, *, actor: str, deactivate_missing: bool = False) -> ImportResult:
    """Save the parsed rows in the caller's transaction (flushed, not committed) and audit the import. With
    `deactivate_missing`, active employees the file does not name at all are deactivated (account-only logins
    are not employees and stay). Nobody deactivates themselves."""
    result = ImportResult(errors=list(parsed.errors))
    rows = dict(parsed.rows)
    org = {p.email: p for p in session.scalars(select(Person))}
    _drop_unresolvable(rows, org, parsed.columns, result)
    _save(session, rows, org, parsed.columns, result, actor=actor)
    if deactivate_missing:
        for email, person in sorted(org.items()):
            if person.active and person.employee and email not in parsed.seen:
                if email == actor:
                    result.errors.append(
                        {"row": 0, "field": "active", "message": _NOT_YOURSELF, "message_zh": _NOT_YOURSELF_ZH}
                    )
                    continue
                person.active = False
                result.deactivated_emails.append(email)
        session.flush()
    result.deactivated = len(result.deactivated_emails)
    audit.record(
        session,
        actor=actor,
        action="people.imported",
        payload={
            "created": result.created,
            "updated": result.updated,
            "deactivated": result.deactivated,
            "errors": len(result.errors),
        },
    )
    return result


_NOT_YOURSELF = "you cannot deactivate yourself; ask another HR admin"
_NOT_YOURSELF_ZH = "你不能停用自己的账号；请让另一位 HR 管理员来操作"


def _refuse_huge_fields(line: int, raw: dict[Any, Any], header: list[str]) -> None:
    """No org-chart field is anywhere near 128 KiB: one that is means a broken file (often an unclosed quote)."""
    for key, value in raw.items():
        values = value if isinstance(value, list) else [value]  # cells beyond the header come as a list
        for i, cell in enumerate(values):
            if cell is not None and len(cell) > MAX_FIELD_CHARS:
                column = key.strip() if isinstance(key, str) else f"column {len(header) + i + 1} (beyond the header)"
                message = (
                    f"Row {line}, column {column}: the value is {len(cell):,} characters long; the limit is "
                    f'{MAX_FIELD_CHARS:,}. Is a quote (") left open above it? Fix the file and upload it again.'
                )
                zh = (
                    f"第 {line} 行 {column} 列的内容长达 {len(cell):,} 个字符，上限为 {MAX_FIELD_CHARS:,}。"
                    '是不是上面有未闭合的引号（"）？请修改文件后重新上传。'
                )
                raise InvalidInput(
                    message, detail_zh=zh, errors=[{"row": line, "field": column, "message": message, "message_zh": zh}]
                )


_FIELDS = {"employee_no": "employee_no", "department": "department", "title": "title", "locale": "locale"}
_REFS = ("manager_email", "hr_partner_email")


def _drop_unresolvable(
    rows: dict[str, tuple[int, dict[str, str]]], org: dict[str, Person], columns: set[str], result: ImportResult
) -> None:
    """Leave out rows naming someone who is neither in the file nor imported, and rows that would close a
    management loop — repeatedly, since leaving out one row can strand the rows that point at it."""
    by_id = {p.id: p.email for p in org.values()}
    current = {p.email: by_id.get(p.manager_id) if p.manager_id else None for p in org.values()}

    def manager_of(email: str) -> str | None:
        if email in rows and "manager_email" in columns:
            return normalize_email(rows[email][1].get("manager_email")) or None
        return current.get(email)

    def refuse(email: str, field: str, message: str, message_zh: str) -> None:
        line, _ = rows.pop(email)
        result.errors.append({"row": line, "field": field, "message": message, "message_zh": message_zh})

    changed = True
    while changed:
        changed = False
        for email, (_line, row) in list(rows.items()):
            for col in _REFS:
                ref = normalize_email(row.get(col))
                if col in columns and ref and ref not in rows and ref not in org:
                    refuse(
                        email, col, f"{ref} is neither in this file nor imported", f"{ref} 既不在此文件中，也未导入过"
                    )
                    changed = True
                    break
        for email in reversed(list(rows)):  # the later row is the one that closes a loop
            seen, boss = {email}, manager_of(email)
            while boss and boss not in seen:
                seen.add(boss)
                boss = manager_of(boss)
            if boss == email:
                boss_of = manager_of(email)
                refuse(
                    email,
                    "manager_email",
                    f"{boss_of} reports (directly or not) to {email}: a loop",
                    f"{boss_of}（直接或间接）向 {email} 汇报：形成了循环",
                )
                changed = True
                break


def _save(
    session: Session,
    rows: dict[str, tuple[int, dict[str, str]]],
    org: dict[str, Person],
    columns: set[str],
    result: ImportResult,
    *,
    actor: str = "",
) -> None:
    """Create or update the remaining rows; a column absent from the file leaves that field as it was."""
    before: dict[str, tuple[Any, ...]] = {}
    for email, (_line, row) in rows.items():
        person = org.get(email)
        values: dict[str, str | None] = {"name": row["name"]}
        values.update({field: row.get(col) or None for col, field in _FIELDS.items() if col in columns})
        if "locale" in values:
            values["locale"] = values["locale"] or "en"
        active = active_value(row.get("active")) if "active" in columns else None
        if active is False and email == actor:
            result.errors.append(
                {"row": _line, "field": "active", "message": _NOT_YOURSELF, "message_zh": _NOT_YOURSELF_ZH}
            )
            active = None
        if person is None:
            person = Person(email=email, active=active is not False, employee=True, **values)
            session.add(person)
            org[email] = person
            result.created += 1
            continue
        before[email] = _snapshot(person)
        for key, value in values.items():
            setattr(person, key, value)
        person.employee = True
        if active is not None:
            if person.active and not active:
                result.deactivated_emails.append(email)
            person.active = active
    session.flush()
    for email, (_line, row) in rows.items():
        person = org[email]
        if "manager_email" in columns:
            manager = org.get(normalize_email(row.get("manager_email")))
            person.manager_id = manager.id if manager else None
        if "hr_partner_email" in columns:
            partner = org.get(normalize_email(row.get("hr_partner_email")))
            person.hr_partner_id = partner.id if partner else None
        if email in before:
            changed = before[email] != _snapshot(person)
            result.updated += int(changed)
            result.unchanged += int(not changed)
    session.flush()


def _snapshot(person: Person) -> tuple[Any, ...]:
    return (
        person.name,
        person.employee_no,
        person.department,
        person.title,
        person.locale,
        person.employee,
        person.manager_id,
        person.hr_partner_id,
        person.active,
    )


def get_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"No person with id {person_id}.")
    return person


def by_email(session: Session, email: str) -> Person | None:
    return session.scalar(select(Person).where(Person.email == normalize_email(email)))


def person_ref(person: Person | None) -> dict[str, str] | None:
    return {"email": person.email, "name": person.name} if person is not None else None
