"""Refuse request bodies over a size limit with 413 before reading them (or as soon as they pass it): uploads
(multipart) up to `max_bytes`, every other body (JSON, web forms) up to `max_plain_bytes`."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, max_plain_bytes: int | None = None) -> None:
        self.app, self.max_upload, self.max_plain = app, max_bytes, max_plain_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        upload = (headers.get(b"content-type") or b"").lower().startswith(b"multipart/")
        limit = self.max_upload if upload else self.max_plain
        length = headers.get(b"content-length")
        # (a length of 19 digits or more is over any limit; int() of thousands of digits would itself raise)
        if length is not None and length.isdigit() and (len(length) > 18 or int(length) > limit):
            await self._refuse(send, limit)
            return
        seen = 0
        refused = False

        async def limited() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    refused = True
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(send, limit)
        except Exception:
            if refused:
                await self._refuse(send, limit)
            else:
                raise

    async def _refuse(self, send: Send, limit: int) -> None:
        size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
        detail = f"The request is larger than {size}. / 请求内容超过 {size}。"
        payload: dict[str, Any] = {"error": "too_large", "detail": detail, "errors": []}
        raw = json.dumps(payload, ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(raw)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": raw})


class _TooLarge(Exception):
    pass
