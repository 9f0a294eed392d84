"""Sign-in through the company's identity provider: the browser half of OpenID Connect's authorization-code flow
with PKCE (authlib's client). The checks of the ID token, whom it names and the roles its groups map to are
engine/org/oidc.py; the session it starts is the one the password sign-in starts (api/web/session.py).

The pending sign-in (state, nonce, PKCE verifier, where to go next) rides in the signed session cookie; each state is
accepted once (remembered in this process until it expires), so a replayed callback is refused.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import SessionDep
from api.errors import status_for
from api.web import session
from api.web.render import page
from engine.core.errors import NotFound, ReviewflowError, Unauthorized
from engine.core.settings import get_settings
from engine.org import oidc

router = APIRouter(include_in_schema=False)
PENDING = "oidc"  # the session cookie's key for a sign-in under way
PENDING_SECONDS = 600  # a sign-in must come back from the provider within this long
_used_states: dict[str, float] = {}
_lock = threading.Lock()


def callback_url() -> str:
    """The redirect URI to register at the provider."""
    return get_settings().base_url.rstrip("/") + "/login/oidc/callback"


def configured() -> oidc.Config:
    cfg = oidc.config()
    if cfg is None:
        raise NotFound(
            "Sign-in through an identity provider is not set up here "
            "(REVIEWFLOW_OIDC_ISSUER, REVIEWFLOW_OIDC_CLIENT_ID).",
            detail_zh="此处未配置通过身份提供方登录。",
        )
    return cfg


def _client(cfg: oidc.Config) -> OAuth2Client:
    return OAuth2Client(
        client_id=cfg.client_id,
        client_secret=cfg.client_secret or None,
        scope=cfg.scopes,
        redirect_uri=callback_url(),
        code_challenge_method="S256",
        timeout=oidc.HTTP_TIMEOUT_S,
    )


def _use_state(state: str) -> bool:
    """True the first time a state comes back; False for a replay."""
    now = time.monotonic()
    with _lock:
        for old in [s for s, t in _used_states.items() if t < now]:
            del _used_states[old]
        if state in _used_states:
            return False
        _used_states[state] = now + PENDING_SECONDS
        return True


@router.get("/login/oidc")
def begin(request: Request, next: str = "/") -> Response:
    """Send the browser to the identity provider (authorization code, PKCE S256, state and nonce)."""
    cfg = configured()
    provider = oidc.provider(cfg)
    verifier = secrets.token_urlsafe(48)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    with _client(cfg) as client:
        url, _ = client.create_authorization_url(
            str(provider.metadata["authorization_endpoint"]), state=state, nonce=nonce, code_verifier=verifier
        )
    data = session.read(request)
    target = session.safe_next(next)
    data[PENDING] = {"state": state, "nonce": nonce, "verifier": verifier, "next": target, "at": time.time()}
    request.state.rf_session_dirty = True
    response = RedirectResponse(url, status_code=303)
    session.persist_if_changed(request, response)
    return response


def refused(request: Request, exc: ReviewflowError, status: int | None = None) -> Response:
    """The bilingual "could not sign you in" page (the refusal itself is audited by engine/org/oidc.py)."""
    code = status or status_for(exc)
    return page(request, "signin_refused.html", status_code=code, detail=exc.detail, detail_zh=exc.detail_zh or "")


@router.get("/login/oidc/callback")
def callback(request: Request, db: SessionDep) -> Response:
    """Back from the provider: check the state, exchange the code (with the PKCE verifier), validate the ID token,
    match the person and start our session."""
    cfg = configured()
    data = session.read(request)
    pending: dict[str, Any] = data.pop(PENDING, None) or {}
    request.state.rf_session_dirty = True
    state = request.query_params.get("state") or ""
    fresh = time.time() - float(pending.get("at") or 0) < PENDING_SECONDS
    if not state or not secrets.compare_digest(state, str(pending.get("state") or "")) or not fresh:
        return refused(request, Unauthorized(STALE, detail_zh=STALE_ZH), 400)
    if not _use_state(state):
        return refused(request, Unauthorized(STALE, detail_zh=STALE_ZH), 400)
    if request.query_params.get("error"):
        said = request.query_params.get("error_description") or request.query_params["error"]
        return refused(request, Unauthorized(f"The identity provider did not sign you in: {said}."), 401)
    try:
        provider = oidc.provider(cfg)
        with _client(cfg) as client:
            token = client.fetch_token(
                str(provider.metadata["token_endpoint"]),
                code=request.query_params.get("code") or "",
                code_verifier=str(pending["verifier"]),
            )
        raw = token.get("id_token")
        if not isinstance(raw, str):
            raise Unauthorized("The identity provider sent no ID token; check that the scopes include `openid`.")
        claims = oidc.validate_id_token(cfg, raw, nonce=str(pending["nonce"]))
        sid = oidc.sign_in(db, cfg, claims)
    except OAuthError as exc:
        return refused(request, Unauthorized(f"The identity provider refused the sign-in: {exc.description}."), 401)
    except (httpx.HTTPStatusError, ValueError) as exc:  # e.g. 400 for a code it no longer knows
        detail = f"The identity provider refused the sign-in ({exc.__class__.__name__}); sign in again."
        return refused(request, Unauthorized(detail, detail_zh="身份提供方拒绝了此次登录，请重新登录。"), 401)
    except httpx.HTTPError as exc:
        detail = f"The identity provider could not be reached ({exc.__class__.__name__}); try again later."
        return refused(request, Unauthorized(detail, detail_zh="无法连接身份提供方，请稍后重试。"), 502)
    except ReviewflowError as exc:
        return refused(request, exc)
    redirect = RedirectResponse(str(pending.get("next") or "/"), status_code=303)
    session.start(redirect, request, sid, via="oidc")
    return redirect


STALE = "This sign-in has expired or was already used. Start again from the sign-in page."
STALE_ZH = "此次登录已过期或已被使用。请从登录页面重新开始。"


def logout_target(request: Request) -> str:
    """Where signing out sends the browser: the provider's end-session endpoint when the session came from it and it
    advertises one (RP-initiated logout, back to our sign-in page afterwards), else our sign-in page."""
    cfg = oidc.config()
    if cfg is None or session.read(request).get("via") != "oidc":
        return "/login"
    try:
        endpoint = oidc.provider(cfg).metadata.get("end_session_endpoint")
    except ReviewflowError:
        return "/login"
    if not endpoint:
        return "/login"
    back = get_settings().base_url.rstrip("/") + "/login"
    query = urlencode({"client_id": cfg.client_id, "post_logout_redirect_uri": back})
    return f"{endpoint}{'&' if '?' in str(endpoint) else '?'}{query}"
