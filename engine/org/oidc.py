"""Sign-in through the company's identity provider (OpenID Connect): the provider's discovery document and signing
keys, the ID-token checks, whom a token names (its verified email, matched to the org chart; nobody is created) and
the roles its groups map to. The browser half (authorization-code flow with PKCE, state, the page session) is
api/web/oidc_pages.py.

Replays: the `state` of a sign-in is used once (the pages), and a nonce is accepted once (here) — both are kept in
this process's memory until the token could no longer pass anyway; the provider itself accepts a code once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.core import clock
from engine.core.errors import Forbidden, InvalidInput, Unauthorized
from engine.core.settings import get_settings
from engine.org import accounts, tokens
from engine.org.people import normalize_email
from engine.org.policy import ROLES
from engine.store.models import Person
from engine.store.transaction import transact

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
LEEWAY_S = 60  # clock skew allowed between the provider and us
METADATA_TTL = timedelta(hours=1)
HTTP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Config:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    display_name: str
    email_claim: str
    require_verified_email: bool
    groups_claim: str | None
    group_roles: dict[str, list[str]] = field(default_factory=dict)


def config() -> Config | None:
    """The provider configured in the settings (REVIEWFLOW_OIDC_*), or None when sign-in through one is off."""
    s = get_settings()
    if not s.oidc_issuer or not s.oidc_client_id:
        return None
    bad = sorted({r for roles in s.oidc_group_roles.values() for r in roles} - set(ROLES))
    if bad:
        raise InvalidInput(f"REVIEWFLOW_OIDC_GROUP_ROLES names unknown roles {', '.join(bad)}; use {', '.join(ROLES)}.")
    return Config(
        issuer=s.oidc_issuer.rstrip("/"),
        client_id=s.oidc_client_id,
        client_secret=s.oidc_client_secret.get_secret_value() if s.oidc_client_secret else "",
        scopes=s.oidc_scopes,
        display_name=s.oidc_display_name,
        email_claim=s.oidc_email_claim,
        require_verified_email=s.oidc_require_verified_email,
        groups_claim=s.oidc_groups_claim,
        group_roles=dict(s.oidc_group_roles),
    )


class Provider:
    """The provider's discovery document and its published keys (JWKS), fetched over HTTP and cached; a token signed
    with a key id not in the cached set makes it fetch the set again once (the provider rotated its keys)."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.metadata: dict[str, Any] = {}
        self.keys = KeySet([])
        self.fetched_at: datetime | None = None
        self._lock = threading.Lock()

    def _get(self, url: str) -> dict[str, Any]:
        try:
            answer = httpx.get(url, timeout=HTTP_TIMEOUT_S, follow_redirects=True)
            answer.raise_for_status()
            data = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Unauthorized(
                f"The identity provider could not be reached at {url} ({exc.__class__.__name__}); try again later.",
                detail_zh="无法连接身份提供方，请稍后重试。",
            ) from exc
        if not isinstance(data, dict):
            raise Unauthorized(f"The identity provider answered {url} with no JSON object.")
        return data

    def load(self) -> Provider:
        with self._lock:
            if self.fetched_at is None or clock.now() - self.fetched_at > METADATA_TTL:
                metadata = self._get(self.issuer + "/.well-known/openid-configuration")
                if str(metadata.get("issuer", "")).rstrip("/") != self.issuer:
                    raise Unauthorized(
                        f"The discovery document names issuer {metadata.get('issuer')!r}, not {self.issuer!r}: "
                        "check REVIEWFLOW_OIDC_ISSUER."
                    )
                self.metadata = metadata
                self.keys = KeySet.import_key_set(self._get(str(metadata["jwks_uri"])))  # type: ignore[arg-type]
                self.fetched_at = clock.now()
        return self

    def refetch_keys(self) -> None:
        with self._lock:
            self.keys = KeySet.import_key_set(self._get(str(self.metadata["jwks_uri"])))  # type: ignore[arg-type]

    def has_key(self, kid: str | None) -> bool:
        return any(k.kid == kid for k in self.keys.keys) if kid else bool(self.keys.keys)


_providers: dict[str, Provider] = {}
_used_nonces: dict[str, datetime] = {}
_memory_lock = threading.Lock()


def provider(cfg: Config) -> Provider:
    with _memory_lock:
        found = _providers.setdefault(cfg.issuer, Provider(cfg.issuer))
    return found.load()


def forget_providers() -> None:
    """Drop cached discovery documents and keys (tests; a changed configuration)."""
    with _memory_lock:
        _providers.clear()
        _used_nonces.clear()


def _use_nonce(nonce: str, until: datetime) -> None:
    now = clock.now()
    with _memory_lock:
        for old in [n for n, t in _used_nonces.items() if t < now]:
            del _used_nonces[old]
        if nonce in _used_nonces:
            raise Unauthorized("This sign-in was already used (a replayed ID token); sign in again.")
        _used_nonces[nonce] = until


def validate_id_token(cfg: Config, raw: str, *, nonce: str) -> dict[str, Any]:
    """The claims of an ID token, after checking its signature against the provider's keys, issuer, audience,
    expiry and nonce (accepted once). Unauthorized naming what failed."""
    prov = provider(cfg)
    try:
        kid = jws.extract_compact(raw.encode()).headers().get("kid")
    except (JoseError, ValueError) as exc:
        raise Unauthorized("The identity provider sent an ID token that is not a JWT.") from exc
    if not prov.has_key(kid):
        prov.refetch_keys()
        if not prov.has_key(kid):
            raise Unauthorized(f"The ID token is signed with a key ({kid}) the identity provider does not publish.")
    try:
        token = jwt.decode(raw, prov.keys, algorithms=ALGORITHMS)
    except BadSignatureError as exc:
        raise Unauthorized("The ID token's signature does not match the identity provider's keys.") from exc
    except (JoseError, ValueError) as exc:
        raise Unauthorized(f"The ID token could not be read ({exc.__class__.__name__}).") from exc
    claims = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        now=int(clock.now().timestamp()),
        leeway=LEEWAY_S,
        iss={"essential": True, "value": cfg.issuer},
        sub={"essential": True},
        exp={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise Unauthorized("The ID token has expired; sign in again (or check this server's clock).") from exc
    except (MissingClaimError, InvalidClaimError, InvalidTokenError) as exc:
        raise Unauthorized(f"The ID token was refused: {exc.description}.") from exc
    audiences = claims.get("aud")
    audiences = [audiences] if isinstance(audiences, str) else list(audiences or [])
    if cfg.client_id not in audiences or (len(audiences) > 1 and claims.get("azp") not in (None, cfg.client_id)):
        raise Unauthorized("The ID token was issued for another application (audience), not for Reviewflow.")
    _use_nonce(nonce, clock.now() + timedelta(seconds=max(0, int(claims["exp"]) - int(clock.now().timestamp()))))
    return claims


REFUSALS = {
    "no_email": (
        "Your identity provider did not tell us your email address, so we cannot tell who you are.",
        "身份提供方没有提供您的邮箱地址，无法确认您的身份。",
    ),
    "unverified": (
        "Your identity provider has not verified your email address; Reviewflow signs in verified addresses only.",
        "身份提供方尚未验证您的邮箱地址；Reviewflow 只接受已验证的邮箱登录。",
    ),
    "not_in_org_chart": (
        "Your email address is not in Reviewflow's org chart. Ask HR to add you; nobody is added by signing in.",
        "您的邮箱不在 Reviewflow 的组织架构中。请联系 HR 添加；登录不会自动创建人员。",
    ),
    "inactive": (
        "This account has been deactivated. Ask HR to reactivate it.",
        "此账号已停用。请联系 HR 重新启用。",
    ),
}


def _refuse(session: Session, cfg: Config, reason: str, email: str) -> Forbidden:
    def work() -> None:
        audit.record(
            session,
            actor=actor(cfg),
            action="sign_in.refused",
            payload={"email": email, "reason": reason, "via": "oidc", "issuer": cfg.issuer},
        )

    transact(session, work)
    english, chinese = REFUSALS[reason]
    return Forbidden(english, detail_zh=chinese)


def actor(cfg: Config) -> str:
    return f"oidc:{cfg.issuer}"[:320]


def groups_of(cfg: Config, claims: dict[str, Any]) -> list[str]:
    value = claims.get(cfg.groups_claim) if cfg.groups_claim else None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def mapped_roles(cfg: Config, groups: list[str]) -> tuple[set[str], set[str]]:
    """(the roles the mapping manages, those of them these groups grant)."""
    managed = {r for roles in cfg.group_roles.values() for r in roles}
    granted = {r for g in groups for r in cfg.group_roles.get(g, [])}
    return managed, granted


def _apply_roles(session: Session, cfg: Config, person: Person, claims: dict[str, Any]) -> None:
    """Roles the mapping manages follow the groups in the token; other roles (granted by HR) are left alone."""
    if not cfg.groups_claim or not cfg.group_roles:
        return
    managed, granted = mapped_roles(cfg, groups_of(cfg, claims))
    current = accounts.roles_of(person)
    add, remove = sorted(granted - current), sorted((current & managed) - granted)
    if person.account is None and add:
        accounts.create_account(session, email=person.email, roles=add, password=None, actor=actor(cfg))
    elif add or remove:
        accounts.set_roles(session, email=person.email, add=add, remove=remove, actor=actor(cfg))
    session.refresh(person)


def sign_in(session: Session, cfg: Config, claims: dict[str, Any]) -> str:
    """The person the validated claims name (verified email → the org chart), their mapped roles applied: the secret
    of a new page session. Forbidden (audited) when the email is missing, unverified, unknown or deactivated."""
    email = normalize_email(str(claims.get(cfg.email_claim) or ""))
    if not email:
        raise _refuse(session, cfg, "no_email", str(claims.get("sub", "")))
    verified = claims.get("email_verified")
    if verified in (False, "false") or (verified is None and cfg.require_verified_email):
        raise _refuse(session, cfg, "unverified", email)
    person = session.scalar(select(Person).where(Person.email == email))
    if person is None:
        raise _refuse(session, cfg, "not_in_org_chart", email)
    if not person.active:
        raise _refuse(session, cfg, "inactive", email)
    _apply_roles(session, cfg, person, claims)
    found = person
    hours = get_settings().token_hours

    def work() -> str:
        label = f"sign-in via {cfg.display_name}"
        return tokens.issue(session, person=found, hours=hours, label=label, kind="session", actor=found.email).raw

    return transact(session, work)
