"""Webhooks: each notification is POSTed as JSON to every configured hook, the exact body signed with HMAC-SHA256
(`X-Reviewflow-Signature: sha256=<hex>`), in the payload shape the receiver takes (generic, or the incoming-webhook
shapes of Slack, Feishu, DingTalk and WeCom). A failed POST raises; the job retries with backoff."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from engine.core.settings import Webhook, get_settings

SIGNATURE_HEADER = "X-Reviewflow-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver does: recompute the signature over the raw body and compare in constant time."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header or "")


def _line(event: dict[str, Any]) -> str:
    due = f" (due {event['due']})" if event.get("due") else ""
    return f"{event.get('title', 'Reviewflow')}{due} — {event.get('link', '')}".strip()


def shape(fmt: str, event: dict[str, Any]) -> dict[str, Any]:
    """The body for one receiver format."""
    text = _line(event)
    if fmt == "slack":
        return {"text": text}
    if fmt == "feishu":
        return {"msg_type": "text", "content": {"text": text}}
    if fmt in ("dingtalk", "wecom"):
        return {"msgtype": "text", "text": {"content": text}}
    return {"event": event.get("kind"), "data": event}


def hook_named(name: str) -> Webhook:
    for hook in get_settings().webhooks:
        if hook.name == name:
            return hook
    raise LookupError(f"webhook {name!r} is no longer configured")


def deliver(payload: dict[str, Any]) -> None:
    hook = hook_named(str(payload.get("hook")))
    event = payload.get("event") or {}
    body = json.dumps(shape(hook.format, event), ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: sign(hook.secret.get_secret_value(), body),
        "X-Reviewflow-Event": str(event.get("kind", "")),
    }
    response = httpx.post(hook.url, content=body, headers=headers, timeout=10.0)
    if response.status_code >= 300:
        raise RuntimeError(f"webhook {hook.name} answered {response.status_code}: {response.text[:200]}")
