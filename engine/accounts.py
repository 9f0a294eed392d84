"""Accounts, roles, password hashing and bearer tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.errors import InvalidInput, NotFound, Unauthorized
from engine.models import Account, ApiToken, Person
from engine.people import normalize_email
from engine.transaction import transactional

# hr_partner: an HR business partner, who reads cycle reports over the people partnered to them (engine/scope.py)
ROLES = ("hr_admin", "hr_partner", "auditor", "admin", "designer")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), dklen=32, **_SCRYPT)
    return hmac.compare_digest(candidate.hex(), digest)


def roles_of(person: Person | None) -> set[str]:
    return set(person.account.roles or []) if person is not None and person.account is not None else set()


@transactional
def create_account(session: Session, *, email: str, roles: list[str], password: str | None, actor: str) -> Account:
    """Create or update the login of a person; an unknown email becomes an account-only person (e.g. an auditor)."""
    email = normalize_email(email)
    problems = []
    if not email:
        problems.append({"path": "email", "message": "An account needs a valid email address."})
    bad = [r for r in roles if r not in ROLES]
    if bad:
        problems.append({"path": "role", "message": f"Unknown role {', '.join(bad)}; choose from {', '.join(ROLES)}."})
    if password is not None and len(password) < 8:
        problems.append({"path": "password", "message": "The password must have at least 8 characters."})
    if problems:
        raise InvalidInput(" ".join(p["message"] for p in problems), errors=problems)
    person = session.scalar(select(Person).where(Person.email == email))
    if person is None:
        person = Person(email=email, name=email.split("@")[0], employee=False, locale="en")
        session.add(person)
        session.flush()
    account = person.account
    if account is None:
        account = Account(person_id=person.id, roles=[])
        session.add(account)
        person.account = account
    account.roles = sorted(set(account.roles or []) | set(roles))
    if password is not None:
        account.password_hash = hash_password(password)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="account.saved",
        payload={"email": email, "roles": account.roles, "password_set": password is not None},
    )
    return account


@transactional
def issue_token(session: Session, *, email: str, hours: int | None, label: str, actor: str) -> str:
    """A new bearer token for the person with this email (stored only as a hash)."""
    person = session.scalar(select(Person).where(Person.email == normalize_email(email)))
    if person is None or not person.active:
        raise NotFound(f"No active person with email {email}. Import the org chart or create an account first.")
    raw = "rf_" + secrets.token_urlsafe(32)
    expires = clock.now() + timedelta(hours=hours) if hours else None
    session.add(ApiToken(person_id=person.id, token_hash=_token_hash(raw), label=label, expires_at=expires))
    audit.record(session, actor=actor, action="token.issued", payload={"email": person.email, "label": label})
    return raw


def login(session: Session, *, email: str, password: str, hours: int) -> str:
    person = session.scalar(select(Person).where(Person.email == normalize_email(email)))
    ok = (
        person is not None
        and person.active
        and person.account is not None
        and check_password(password, person.account.password_hash)
    )
    if not ok:
        raise Unauthorized("Email or password is not correct.")
    assert person is not None
    return issue_token(session, email=person.email, hours=hours, label="login", actor=person.email)


def person_for_token(session: Session, raw: str) -> Person:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(raw)))
    if token is None:
        raise Unauthorized("The bearer token is not valid.")
    expires = clock.as_utc(token.expires_at)
    if expires is not None and expires <= clock.now():
        raise Unauthorized("The bearer token has expired; sign in again.")
    person = session.get(Person, token.person_id)
    if person is None or not person.active:
        raise Unauthorized("This person is no longer active.")
    return person


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
