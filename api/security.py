"""Response hardening: uploaded XML is served inert, and every response carries the browser security headers.

A diagram is code the uploader wrote. Served inline as `application/xml`, an XHTML `<script>` inside it would run in
the reader's session, so raw XML goes out as a plain-text attachment that browsers may not sniff and that runs in a
sandbox with nothing allowed (the pages' own viewer fetches it with `fetch()`, which ignores all three).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The pages load scripts, styles, fonts and images from /static only. Inline `style` attributes and the two
# `<style>` blocks (and bpmn-js, which sets styles from script) need 'unsafe-inline' for styles; scripts get none:
# the inline `<script type="application/json">` data blocks are never executed, so CSP does not apply to them.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc load Swagger UI / ReDoc from jsDelivr and start them with an inline script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' data: https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
INERT_CSP = "default-src 'none'; sandbox"
DOCS_PATHS = ("/docs", "/redoc")

_COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def inert_xml(xml: str, filename: str, media_type: str = "text/plain; charset=utf-8") -> Response:
    """Uploaded XML as a download that no browser renders or runs (text/plain, nosniff, sandboxed, attachment).

    The JSON API keeps `application/xml` for its clients: it takes only bearer tokens, which a browser never sends
    on its own, and the sandbox CSP and attachment keep a browser from running anything in it anyway.
    """
    safe_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename) or "diagram.bpmn"
    return Response(
        xml,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{safe_name}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": INERT_CSP,
        },
    )


class SecurityHeaders:
    """Add CSP, nosniff, Referrer-Policy and X-Frame-Options to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope.get("path", "").startswith(DOCS_PATHS) else PAGE_CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in {**_COMMON, "content-security-policy": csp}.items():
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)
