"""Local stand-ins for services that cannot run here: an OAuth2 token endpoint and a Hasura-like GraphQL server.

They answer as the documented services do: the token endpoint as RFC 6749's client
credentials grant (Cognito's /oauth2/token), the GraphQL server as Hasura answers a JWT
it refuses (HTTP 200 with an `invalid-jwt` error).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

CLIENT_ID = "service-client"
CLIENT_SECRET = "service-secret-value"
HASURA_EXPIRED = {"extensions": {"path": "$", "code": "invalid-jwt"}, "message": "Could not verify JWT: JWTExpired"}


class IdentityProvider:
    """An OAuth2 token endpoint at /oauth2/token and a Hasura-like GraphQL endpoint at /v1/graphql."""

    def __init__(
        self, expires_in: int = 3600, refusal: dict[str, Any] | None = None, mint: Callable[[], str] | None = None
    ) -> None:
        self.expires_in = expires_in
        self.mint = mint  # makes the access tokens, e.g. JWTs another server accepts
        self.refusal = refusal or HASURA_EXPIRED
        self.valid: set[str] = set()
        self.token_forms: list[dict[str, str]] = []
        self.graphql_tokens: list[str | None] = []
        self.graphql_headers: list[dict[str, str]] = []
        self.graphql_bodies: list[Any] = []
        self.delay = 0.0  # seconds /v1/graphql waits before it answers
        self.token_delay = 0.0  # seconds /oauth2/token waits before it answers
        self.token_requests_at_once = 0  # the most token requests served at the same time
        self._token_requests_now = 0
        self._lock = threading.Lock()

    def expire_all(self) -> None:
        """Make every token issued so far invalid, as its expiry would."""
        with self._lock:
            self.valid.clear()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/oauth2/token":
            response = self._token(request)
        elif request.path == "/v1/graphql":
            response = self._graphql(request)
        else:
            response = Response("not found", status=404)
        return response(environ, start_response)

    def _token(self, request: Request) -> Response:
        with self._lock:
            self._token_requests_now += 1
            self.token_requests_at_once = max(self.token_requests_at_once, self._token_requests_now)
        try:
            time.sleep(self.token_delay)
            return self._issue(request)
        finally:
            with self._lock:
                self._token_requests_now -= 1

    def _issue(self, request: Request) -> Response:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        with self._lock:
            self.token_forms.append(dict(request.form))
            if request.headers.get("Authorization") != expected:
                return _json({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
            if request.form.get("grant_type") != "client_credentials":
                return _json({"error": "unsupported_grant_type"}, 400)
            token = self.mint() if self.mint else f"token-{len(self.token_forms)}"
            self.valid.add(token)
        return _json({"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"})

    def _graphql(self, request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        with self._lock:
            self.graphql_tokens.append(token)
            self.graphql_headers.append({key.lower(): value for key, value in request.headers.items()})
            self.graphql_bodies.append(request.get_json(silent=True))
            valid = token in self.valid or "x-hasura-admin-secret" in request.headers
        if self.delay:
            time.sleep(self.delay)
        if not valid:
            return _json({"errors": [self.refusal]})  # Hasura: 200, not 401
        return _json({"data": {"token": token}})


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


class Canned:
    """A server that answers every request with one canned response, after `delay`; it records the requests."""

    def __init__(self, status: int = 200, body: Any = None, content_type: str = "application/json") -> None:
        self.status = status
        self.body = body if isinstance(body, str) else json.dumps(body if body is not None else {"data": {}})
        self.content_type = content_type
        self.delay = 0.0
        self.headers: list[dict[str, str]] = []
        self.bodies: list[Any] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.headers.append({key.lower(): value for key, value in request.headers.items()})
        self.bodies.append(request.get_json(silent=True))
        if self.delay:
            time.sleep(self.delay)
        return Response(self.body, status=self.status, content_type=self.content_type)(environ, start_response)
