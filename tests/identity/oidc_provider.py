"""A small, real OpenID Connect provider for the tests, served on loopback by a thread.

It speaks the authorisation-code flow over real HTTP: discovery, a JWKS with an RSA key,
an authorisation endpoint (which signs in `user` at once, as if they had typed their
password at the provider), a token endpoint issuing RS256-signed ID tokens with the nonce it
was given, and userinfo. Knobs let a test make it misbehave (a token signed with another key,
a refusal).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    claims: dict[str, Any]


@dataclass
class OidcProvider:
    client_id: str = "joinedup-test"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    user: dict[str, Any] = field(default_factory=dict)
    #: Misbehaviours a test can switch on.
    sign_with_wrong_key: bool = False
    refuse: bool = False
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"})
        self.wrong_key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"})
        self.grants: dict[str, Grant] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                provider.requests.append(f"GET {urlsplit(self.path).path}")
                provider.handle_get(self)

            def do_POST(self) -> None:
                provider.requests.append(f"POST {urlsplit(self.path).path}")
                provider.handle_post(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OidcProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    # --- HTTP ----------------------------------------------------------------------------

    @staticmethod
    def _json(handler: BaseHTTPRequestHandler, body: dict, status: int = 200) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    @staticmethod
    def _redirect(handler: BaseHTTPRequestHandler, location: str) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "email", "profile"],
        }

    def handle_get(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/.well-known/openid-configuration":
            return self._json(handler, self.discovery())
        if url.path == "/jwks":
            public = self.key.as_dict(private=False)
            return self._json(handler, {"keys": [{**public, "alg": "RS256"}]})
        if url.path == "/authorize":
            return self.authorize(handler, query)
        if url.path == "/userinfo":
            token = handler.headers.get("Authorization", "").removeprefix("Bearer ")
            claims = self.access_tokens.get(token)
            if claims is None:
                return self._json(handler, {"error": "invalid_token"}, 401)
            return self._json(handler, claims)
        return self._json(handler, {"error": "not_found"}, 404)

    def authorize(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or not redirect_uri:
            return self._json(handler, {"error": "invalid_client"}, 400)
        if query.get("response_type") != "code" or "openid" not in query.get("scope", ""):
            return self._json(handler, {"error": "invalid_request"}, 400)
        state = {"state": query["state"]} if "state" in query else {}
        if self.refuse:
            return self._redirect(
                handler, f"{redirect_uri}?{urlencode({'error': 'access_denied', **state})}"
            )
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(self.client_id, redirect_uri, query.get("nonce"), dict(self.user))
        return self._redirect(handler, f"{redirect_uri}?{urlencode({'code': code, **state})}")

    def _client_ok(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> bool:
        header = handler.headers.get("Authorization", "")
        if header.startswith("Basic "):
            client_id, _sep, secret = base64.b64decode(header[6:]).decode().partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return client_id == self.client_id and secrets.compare_digest(secret, self.client_secret)

    def handle_post(self, handler: BaseHTTPRequestHandler) -> None:
        if urlsplit(handler.path).path != "/token":
            return self._json(handler, {"error": "not_found"}, 404)
        length = int(handler.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(handler.rfile.read(length).decode()).items()}
        if not self._client_ok(handler, form):
            return self._json(handler, {"error": "invalid_client"}, 401)
        grant = self.grants.pop(form.get("code", ""), None)
        if (
            grant is None
            or form.get("grant_type") != "authorization_code"
            or form.get("redirect_uri") != grant.redirect_uri
        ):
            return self._json(handler, {"error": "invalid_grant"}, 400)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
            **grant.claims,
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        key = self.wrong_key if self.sign_with_wrong_key else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, key)
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = dict(grant.claims)
        return self._json(
            handler,
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            },
        )
