"""Accounts and roles, password hashing, signing in and deactivating people (tokens: engine/org/tokens.py; sign-in
limits: engine/org/signin.py)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.core.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from engine.core.settings import get_settings
from engine.org import signin, tokens
from engine.org.people import normalize_email
from engine.org.policy import ROLES as ROLES  # every role an account may hold (engine/org/policy.py)
from engine.org.tokens import issue_token as issue_token  # the public face keeps these names
from engine.org.tokens import person_for_token as person_for_token
from engine.store.models import Account, Person
from engine.store.transaction import transact, transactional

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
# The hash of a password nobody knows: checked for unknown emails so they cost what known ones do.
_DUMMY_HASH = "scrypt$7fcedffd7d7a619426592586522d2c73$f18381d37bac79cda6941e610fe27f4253877245f6a7f93165157511c4048632"


PASSWORD_OFF = (
    "Password sign-in is switched off here: sign in through the company's identity provider (the sign-in page), "
    "or use an API token (`reviewflow token create`)."
)
PASSWORD_OFF_ZH = "此处已关闭密码登录：请通过公司身份提供方登录（登录页面），或使用 API 令牌。"


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
def set_roles(session: Session, *, email: str, add: list[str], remove: list[str], actor: str) -> Account:
    """Add and remove roles of an existing login; takes effect on the person's next request."""
    bad = [r for r in [*add, *remove] if r not in ROLES]
    if bad:
        raise InvalidInput(f"Unknown role {', '.join(bad)}; choose from {', '.join(ROLES)}.", errors=[{"path": "role"}])
    person = session.scalar(select(Person).where(Person.email == normalize_email(email)))
    if person is None or person.account is None:
        raise NotFound(f"No account for {email}. Create one with `reviewflow account create`.")
    account = person.account
    before = sorted(account.roles or [])
    account.roles = sorted((set(before) | set(add)) - set(remove))
    session.flush()
    if account.roles != before:
        audit.record(
            session,
            actor=actor,
            action="account.roles_changed",
            payload={"email": person.email, "before": before, "after": account.roles},
        )
    return account


@transactional
def set_active(
    session: Session, *, active: bool, actor: str, person_id: int | None = None, email: str | None = None
) -> tuple[Person, int]:
    """Deactivate (ending every session and token at once; signing in is refused) or reactivate a person.
    Returns the person and how many sessions and tokens were ended."""
    person = (
        session.get(Person, person_id)
        if person_id is not None
        else session.scalar(select(Person).where(Person.email == normalize_email(email)))
    )
    if person is None:
        raise NotFound(f"No person {email if person_id is None else f'with id {person_id}'}.")
    if not active and person.email == actor:
        raise InvalidInput("You cannot deactivate yourself; ask another HR admin.")
    ended = 0 if active else tokens.revoke_all(session, person_id=person.id, actor=actor)
    if person.active != active:
        person.active = active
        audit.record(
            session,
            actor=actor,
            action="person.activated" if active else "person.deactivated",
            payload={"email": person.email, "tokens_revoked": ended},
        )
    session.flush()
    return person, ended


def login(
    session: Session,
    *,
    email: str,
    password: str,
    address: str = "unknown",
    kind: str = "api",
    hours: int | None = None,
) -> str:
    """Check email and password, within the sign-in limits (engine/org/signin.py); a new token or web session secret.

    Every attempt costs one password hash check, for unknown emails too, so timing tells nothing about who has an
    account. A deactivated person learns so only after giving the right password. Refused (Forbidden) when password
    sign-in is switched off (REVIEWFLOW_PASSWORD_SIGNIN=false): people sign in through the identity provider."""
    if not get_settings().password_signin:
        raise Forbidden(PASSWORD_OFF, detail_zh=PASSWORD_OFF_ZH)
    key = signin.key_of(email)
    attempt = signin.begin(session, email=key, address=address)
    person = session.scalar(select(Person).where(Person.email == normalize_email(email)))
    stored = person.account.password_hash if person is not None and person.account is not None else None
    right = check_password(password, stored or _DUMMY_HASH) and bool(stored)
    if not right or person is None:
        raise Unauthorized("Email or password is not correct.")
    if not person.active:
        signin.not_a_failure(session, attempt_id=attempt)
        raise Forbidden("This account has been deactivated; ask HR to reactivate it.")
    found = person

    def work() -> str:
        signin.succeeded(session, attempt_id=attempt, email=key)
        lifetime = get_settings().token_hours if hours is None else hours
        return tokens.issue(session, person=found, hours=lifetime, label="sign-in", kind=kind, actor=found.email).raw

    return transact(session, work)
