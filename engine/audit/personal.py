"""Personal values of audit events, kept apart from the chain so that a person can be erased while every hash stays
valid (PIPL / GDPR).

When an event is appended, every personal value of its payload — a string under a free-text key (`data`, `reason`,
...), or any string holding an `@` (an email) — is replaced in the chained payload by `{"$pii": digest}`, where
digest = HMAC-SHA256(personal key, [seq, path, value]) and the personal key derives from the audit key. The value
itself goes to `audit_personal` (seq, path). An actor that is a person is chained as `person:<id>`; any other actor
holding an `@` is sealed the same way (path `$actor`). Reading joins the values back (`reveal`); erasing sets a
value to NULL: the chained row is unchanged, and `verify` counts the event as redacted. A value still present must
match its digest, so it cannot be edited unnoticed.

Events appended before this (revision 0010) keep their plain payloads and are verified as before."""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.anchor import AuditKey
from engine.audit.chain import canonical_json
from engine.store.models import AuditEvent, Person
from engine.store.privacy_models import AuditPersonal

PII = "$pii"
ACTOR_PATH = "$actor"
PERSON = "person:"
ERASED = "[erased]"
FREE_TEXT_KEYS = frozenset({"data", "reason", "payload", "answers", "comment", "text", "detail", "errors"})


def _personal_key(key: AuditKey) -> bytes:
    return hmac.digest(key.row_key, b"reviewflow audit personal value", "sha256")


def digest(key: AuditKey, seq: int, path: str, value: str) -> str:
    return hmac.digest(_personal_key(key), canonical_json([seq, path, value]).encode(), "sha256").hex()


def _step(path: str, name: str | int) -> str:
    part = str(name).replace("~", "~0").replace("/", "~1")
    return f"{path}/{part}" if path else part


def seal(key: AuditKey, seq: int, payload: Any) -> tuple[Any, dict[str, str]]:
    """The payload to chain (personal strings replaced by their digest) and the personal values by path."""
    values: dict[str, str] = {}

    def walk(value: Any, path: str, personal: bool) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, _step(path, k), personal or k in FREE_TEXT_KEYS) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(v, _step(path, i), personal) for i, v in enumerate(value)]
        if isinstance(value, str) and value and (personal or "@" in value):
            values[path] = value
            return {PII: digest(key, seq, path, value)}
        return value

    return walk(payload, "", False), values


def person_actor(session: Session, actor: str) -> str | None:
    """`person:<id>` when the actor is a person's email (looked up once per append), else None."""
    if "@" not in actor:
        return None
    person_id = session.scalar(select(Person.id).where(Person.email == actor))
    return f"{PERSON}{person_id}" if person_id is not None else None


def seal_actor(key: AuditKey, seq: int, actor: str, as_person: str | None) -> tuple[str, str | None]:
    """The actor to chain (`person:<id>`, a sealed digest, or a system name as it is) and a value to keep apart."""
    if as_person is not None:
        return as_person, None
    if "@" not in actor:
        return actor, None
    return f"{PII}:{digest(key, seq, ACTOR_PATH, actor)}", actor


def markers(payload: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, digest) of every sealed value in a chained payload."""
    if isinstance(payload, dict):
        if set(payload) == {PII} and isinstance(payload[PII], str):
            yield path, payload[PII]
            return
        for k, v in payload.items():
            yield from markers(v, _step(path, k))
    elif isinstance(payload, list):
        for i, v in enumerate(payload):
            yield from markers(v, _step(path, i))


def _unseal(payload: Any, values: dict[str, str | None], path: str = "") -> Any:
    if isinstance(payload, dict):
        if set(payload) == {PII}:
            found = values.get(path)
            return ERASED if found is None else found
        return {k: _unseal(v, values, _step(path, k)) for k, v in payload.items()}
    if isinstance(payload, list):
        return [_unseal(v, values, _step(path, i)) for i, v in enumerate(payload)]
    return payload


@dataclass
class Opened:
    """An audit event as people read it: the actor's email and the payload with its personal values joined back
    (`[erased]` where they were erased)."""

    row: AuditEvent
    actor: str
    payload: dict[str, Any]


def values_for(session: Session, seqs: Sequence[int]) -> dict[int, dict[str, str | None]]:
    out: dict[int, dict[str, str | None]] = {}
    for i in range(0, len(seqs), 500):
        for p in session.scalars(select(AuditPersonal).where(AuditPersonal.seq.in_(seqs[i : i + 500]))):
            out.setdefault(p.seq, {})[p.path] = p.value
    return out


def reveal(session: Session, rows: Sequence[AuditEvent]) -> list[Opened]:
    seqs = [r.seq for r in rows]
    values = values_for(session, seqs)
    ids = {int(r.actor[len(PERSON) :]) for r in rows if r.actor.startswith(PERSON) and r.actor[len(PERSON) :].isdigit()}
    emails: dict[int, str] = {}
    if ids:
        for pid, email in session.execute(select(Person.id, Person.email).where(Person.id.in_(ids))):
            emails[pid] = email
    out = []
    for row in rows:
        mine = values.get(row.seq, {})
        actor = row.actor
        if actor.startswith(PERSON) and actor[len(PERSON) :].isdigit():
            actor = emails.get(int(actor[len(PERSON) :]), actor)
        elif actor.startswith(f"{PII}:"):
            actor = mine.get(ACTOR_PATH) or ERASED
        out.append(Opened(row=row, actor=actor, payload=_unseal(json.loads(row.payload), mine)))
    return out


def opened(session: Session, row: AuditEvent) -> Opened:
    return reveal(session, [row])[0]


def actor_refs(person: Person) -> list[str]:
    """What `audit_event.actor` holds for this person: `person:<id>` (and the plain email on events from before)."""
    return [f"{PERSON}{person.id}", person.email]


def check(
    key: AuditKey, rows: Sequence[AuditEvent], values: dict[int, dict[str, str | None]]
) -> tuple[int | None, int]:
    """(the first event whose kept personal value does not match its digest, or None; how many events are redacted)."""
    redacted = 0
    for row in rows:
        mine = values.get(row.seq, {})
        sealed = list(markers(json.loads(row.payload)))
        if row.actor.startswith(f"{PII}:"):
            sealed.append((ACTOR_PATH, row.actor[len(PII) + 1 :]))
        gone = False
        for path, want in sealed:
            value = mine.get(path)
            if value is None:
                gone = True
            elif not hmac.compare_digest(digest(key, row.seq, path, value), want):
                return row.seq, redacted
        redacted += gone
    return None, redacted
