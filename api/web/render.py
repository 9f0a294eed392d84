"""Jinja2 templates (autoescape on) with the page context every template needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from api.web import formkit, outline, session, zones
from api.web.i18n import Text, action_label, action_summary, actor_label, context_label, locale_for, status_label
from api.web.session import Viewer
from engine.org import policy

HERE = Path(__file__).parent
env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html", "xml"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals.update(kind=formkit.kind, option_value=formkit.option_value, field_id=formkit.field_id)
env.globals["outline_sections"] = outline.sections


def _tojson(value: Any) -> Markup:
    """JSON safe inside <script> and HTML attributes."""
    text = json.dumps(value, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")
    return Markup(text)


env.filters["tojson"] = _tojson
env.filters["pretty"] = lambda value: json.dumps(value, ensure_ascii=False, indent=2)


def page(request: Request, template: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    person: Viewer | None = getattr(request.state, "viewer", None)
    zone = zones.zone_for(request, person.time_zone if person else None)  # the person's choice, else the browser's
    text = Text(locale_for(request, person.locale if person else None), zone)
    roles = set(person.roles) if person else set()
    html = env.get_template(template).render(
        request=request,
        person=person,
        roles=roles,
        is_hr=policy.allows(roles, policy.MANAGE),
        is_reader=policy.allows(roles, policy.READ_ALL),
        is_deployer=policy.allows(roles, policy.DEPLOY),
        can_read_definitions=policy.allows(roles, policy.READ_DEFINITIONS),
        csrf=session.csrf_token(request),
        csrf_field=session.CSRF_FIELD,
        tr=text,
        ctx_label=lambda key: context_label(text, key),
        status_text=lambda value: status_label(text, value),
        action_label=lambda action: action_label(text, action),
        actor_text=lambda actor: actor_label(text, actor),
        action_summary=lambda payload: action_summary(text, payload),
        t=text.t,
        lang=text.locale,
        path=request.url.path,
        **ctx,
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers["X-Frame-Options"] = "DENY"  # no clickjacking of forms inside another site's frame
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"  # review answers do not stay in shared caches
    session.persist_if_changed(request, response)
    return response
