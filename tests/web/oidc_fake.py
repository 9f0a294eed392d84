"""A tiny OpenID provider over real HTTP for the cases a well-behaved provider never produces: an ID token signed
with a key it does not publish, issued for another audience, or signed with a rotated key. It answers the
authorization request at once (nobody to ask) and hands out the ID token `make_claims` describes."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass
class FakeProvider:
    issuer: str = ""
    published: list[RSAKey] = field(default_factory=lambda: [new_key("k1")])
    signing: RSAKey | None = None  # None: the first published key
    overrides: dict[str, Any] = field(default_factory=dict)  # claims to change (e.g. "aud"), None removes
    email: str = ""
    codes: dict[str, str] = field(default_factory=dict)  # code -> nonce
    jwks_fetches: int = 0

    def id_token(self, nonce: str, client_id: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.email,
            "aud": client_id,
            "iat": now,
            "exp": now + 600,
            "nonce": nonce,
            "email": self.email,
            "email_verified": True,
        }
        claims.update(self.overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = self.signing or self.published[0]
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def _handler(fake: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            if parts.path == "/.well-known/openid-configuration":
                self._json(
                    {
                        "issuer": fake.issuer,
                        "authorization_endpoint": fake.issuer + "/authorize",
                        "token_endpoint": fake.issuer + "/token",
                        "jwks_uri": fake.issuer + "/jwks",
                        "id_token_signing_alg_values_supported": ["RS256"],
                    }
                )
            elif parts.path == "/jwks":
                fake.jwks_fetches += 1
                self._json(KeySet(list(fake.published)).as_dict(private=False))
            elif parts.path == "/authorize":
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                code = secrets.token_urlsafe(12)
                fake.codes[code] = query.get("nonce", "")
                self.send_response(302)
                target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query.get("state", "")})
                self.send_header("Location", target)
                self.end_headers()
            else:
                self.send_error(404)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            nonce = fake.codes.pop(form.get("code", ""), None)
            if self.path != "/token" or nonce is None:
                self.send_error(400)
                return
            client_id = form.get("client_id") or "reviewflow"
            self._json({"access_token": "at", "token_type": "Bearer", "id_token": fake.id_token(nonce, client_id)})

    return Handler


@contextmanager
def running() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.issuer = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
