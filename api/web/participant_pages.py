"""Pages everyone signed in uses: sign in/out, language, inbox, a task's form (draft, submit), own results."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import Id, SessionDep, client_address
from api.errors import status_for
from api.web import documents, formkit, oidc_pages, session, zones
from api.web.i18n import COOKIE as LANG_COOKIE
from api.web.i18n import LANGS, refusal
from api.web.render import page
from api.web.session import CSRF, WebPerson
from engine.core.errors import Conflict, Forbidden, FormInvalid, TooManyAttempts, Unauthorized, WorkflowFailed
from engine.core.settings import get_settings
from engine.ops import tasks as task_admin
from engine.org import accounts, oidc, tokens
from engine.process import runtime
from engine.queries import browse, views
from engine.queries import inbox as inbox_view

router = APIRouter(include_in_schema=False)


_safe_next = session.safe_next


def _login_page(request: Request, status_code: int = 200, **ctx: Any) -> Response:
    """The sign-in page: the password form (unless switched off) and "Sign in with <provider>" when one is set up."""
    cfg = oidc.config()
    ctx.setdefault("email", "")
    ctx.setdefault("error", None)
    return page(
        request,
        "login.html",
        status_code=status_code,
        provider=cfg.display_name if cfg else None,
        password_signin=get_settings().password_signin,
        **ctx,
    )


@router.get("/")
def home(person: WebPerson) -> RedirectResponse:
    """Start page: the inbox."""
    return RedirectResponse("/inbox", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    """Sign-in form."""
    return _login_page(request, next=_safe_next(next))


@router.post("/login", dependencies=[CSRF])
async def login(request: Request, db: SessionDep) -> Response:
    """Check email and password; start a session."""
    form = await request.form()
    email, password = str(form.get("email") or ""), str(form.get("password") or "")
    target = _safe_next(str(form.get("next") or "/"))
    if not get_settings().password_signin:
        return _login_page(request, 403, next=target, error="password_off")
    try:
        sid = accounts.login(db, email=email, password=password, address=client_address(request), kind="session")
    except Unauthorized as exc:
        return _login_page(request, status_for(exc), next=target, email=email, error="mismatch")
    except Forbidden as exc:
        return _login_page(request, status_for(exc), next=target, email=email, error="inactive")
    except TooManyAttempts as exc:
        response = _login_page(
            request,
            status_for(exc),
            next=target,
            email=email,
            error="locked",
            minutes=math.ceil(exc.retry_after / 60),
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    redirect = RedirectResponse(target, status_code=303)
    session.start(redirect, request, sid)
    return redirect


@router.post("/logout", dependencies=[CSRF])
def logout(request: Request, db: SessionDep) -> Response:
    """End the session: revoked on the server, so a copy of the cookie no longer signs anyone in."""
    sid = session.session_id(request)
    target = oidc_pages.logout_target(request)  # the provider's end-session endpoint after signing in there
    if sid:
        try:
            token = tokens.authenticate(db, sid, kind="session")
            tokens.revoke(db, token_id=token.id, viewer=token.person, actor=token.person.email)
        except Unauthorized:
            pass  # already ended
    response = RedirectResponse(target, status_code=303)
    session.end(response)
    return response


@router.get("/lang/{code}")
def switch_language(code: str, next: str = "/") -> Response:
    """Remember the chosen page language in a cookie."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in LANGS:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response


@router.get("/inbox")
def inbox(request: Request, db: SessionDep, person: WebPerson) -> Response:
    """Open tasks by cycle and stage, soonest due first; after a submission, what happens next."""
    done_id = request.query_params.get("done")
    after = inbox_view.what_next(db, person=person, task_id=int(done_id)) if done_id and done_id.isdigit() else None
    done = views.list_tasks(db, actor=person, status="completed")[-10:][::-1]
    groups = inbox_view.grouped(db, person=person)
    return page(request, "inbox.html", groups=groups, done=done, flash=done_id, after=after, zones=zones.COMMON)


def _task_page(
    request: Request,
    db: SessionDep,
    person: Any,
    task_id: int,
    *,
    data: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    notice: str | None = None,
    problem: dict[str, str] | None = None,
    status_code: int = 200,
    **extra: Any,  # the delegation form's preview or error (api/web/task_admin_pages.py)
) -> Response:
    view = views.task_detail(db, actor=person, task_id=task_id)
    schema = view["form"]["schema"]
    values = data if data is not None else (view["data"] or {})
    if view["status"] != "open":
        values = view.get("submitted") or {}
    needs_people = any(
        isinstance(p, dict) and (p.get("x-person") or (p.get("items") or {}).get("format") == "email")
        for p in (schema.get("properties") or {}).values()
    )
    return page(
        request,
        "task.html",
        status_code=status_code,
        task=view,
        schema=schema,
        values=values,
        context=view.get("context") or {},
        doc=documents.for_task(view, values, lambda: documents.labels_for(db, view["instance_id"]), person.email),
        errors=errors or [],
        errors_at=formkit.errors_by_path(errors or []),
        notice=notice,
        problem=problem,
        people=browse.directory(db) if needs_people and view["can_complete"] else [],
        formkit=formkit,
        conditional=formkit.conditional(schema),
        delegation=task_admin.delegation(db, task_id=task_id, viewer=person),
        **extra,
    )


@router.get("/tasks/{task_id}")
def task_page(task_id: Id, request: Request, db: SessionDep, person: WebPerson) -> Response:
    """A task's form (or, once done, what was submitted)."""
    return _task_page(request, db, person, task_id, notice=request.query_params.get("saved"))


@router.post("/tasks/{task_id}", dependencies=[CSRF])
async def task_post(task_id: Id, request: Request, db: SessionDep, person: WebPerson) -> Response:
    """Save a draft or submit; errors come back inline with everything typed kept."""
    view = views.task_detail(db, actor=person, task_id=task_id)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    data = formkit.parse(view["form"]["schema"], fields, view.get("context") or {})
    if form.get("action") == "draft":
        runtime.save_draft(db, task_id=task_id, actor=person, data=data)
        return RedirectResponse(f"/tasks/{task_id}?saved=1", status_code=303)
    try:
        runtime.complete_task(db, task_id=task_id, actor=person, data=data)
    except FormInvalid as exc:
        db.rollback()
        return _task_page(request, db, person, task_id, data=data, errors=exc.errors, status_code=status_for(exc))
    except (WorkflowFailed, Conflict) as exc:
        db.rollback()
        return _task_page(request, db, person, task_id, data=data, problem=refusal(exc), status_code=status_for(exc))
    return RedirectResponse(f"/inbox?done={task_id}", status_code=303)


@router.get("/results")
def my_results(request: Request, db: SessionDep, person: WebPerson) -> Response:
    """The person's own released results and whether they acknowledged them."""
    results = browse.my_results(db, person=person)
    for r in results:
        r["doc"] = documents.Document(r["context"], documents.labels_for(db, r["instance_id"]))
    return page(request, "results.html", results=results)
