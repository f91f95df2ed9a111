"""Auth providers for the GraphQL client, each an `httpx.Auth`: they also plug into httpx and gql.

A token provider obtains a token before the first request, refreshes it shortly before it
expires, and after a refusal (a 401, or a 200 whose errors carry an authentication code, as
Hasura answers an expired JWT) refreshes once and resends once. Callers in threads and
asyncio tasks share one provider: one lock admits one token request at a time, and a caller
that waited for it uses the token the other one fetched.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any
from urllib.parse import quote_plus

import httpx

from client_errors import AuthenticationError, HTTPError

# Error codes that mean "this token is not good (any more)": ours, then Hasura's.
AUTH_ERROR_CODES = frozenset({"UNAUTHENTICATED", "TOKEN_EXPIRED", "INVALID_TOKEN", "TOKEN_REVOKED", "invalid-jwt"})
# Hasura says access-denied for many reasons; only an expired or refused token is worth a refresh.
_EXPIRED_TOKEN = re.compile(r"expired|JWT|authentication hook", re.IGNORECASE)
MAX_REFRESH_MARGIN = 30.0  # seconds before expiry that a token is replaced, at most a tenth of its life
_ASYNC_LOCK_POLL = 0.005


def graphql_errors(response: httpx.Response) -> list[dict[str, Any]]:
    """Return the GraphQL errors in `response`'s JSON body, or [] if it has none."""
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [error for error in errors if isinstance(error, dict)] if isinstance(errors, list) else []


def is_auth_failure(response: httpx.Response) -> bool:
    """Say whether `response` refuses the request's credentials (a 401, or Hasura's 200 with invalid-jwt)."""
    if response.status_code == 401:
        return True
    if response.status_code != 200:
        return False
    for error in graphql_errors(response):
        code = (error.get("extensions") or {}).get("code")
        if code in AUTH_ERROR_CODES:
            return True
        if code == "access-denied" and _EXPIRED_TOKEN.search(str(error.get("message", ""))):
            return True
    return False


class StaticTokenAuth(httpx.Auth):
    """Send a fixed token as `Authorization: <scheme> <token>`."""

    def __init__(self, token: str, scheme: str = "Bearer") -> None:
        self._header = f"{scheme} {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


class HasuraAdminSecretAuth(httpx.Auth):
    """Send Hasura's admin secret in `x-hasura-admin-secret`."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["x-hasura-admin-secret"] = self._secret
        yield request


class TokenAuth(httpx.Auth):
    """Base of providers that fetch their own bearer token: subclasses write `_token_flow`."""

    requires_response_body = True

    def __init__(self, *, refresh_margin: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._token: str | None = None
        self._refresh_at = 0.0

    def _token_flow(self) -> Generator[httpx.Request, httpx.Response, None]:
        """Yield the token requests, receive their responses, and end with `_keep_token` called."""
        raise NotImplementedError
        yield  # pragma: no cover

    def _keep_token(self, token: str, expires_in: Any = None) -> None:
        """Keep `token` until shortly before it expires (its `exp` claim, else `expires_in`)."""
        lifetime = _lifetime(token, expires_in)
        self._token = token
        if lifetime is None:
            self._refresh_at = float("inf")  # no expiry known: replaced only when refused
            return
        margin = self._refresh_margin if self._refresh_margin is not None else min(MAX_REFRESH_MARGIN, lifetime / 10)
        self._refresh_at = self._clock() + lifetime - margin

    def _usable(self, stale: str | None) -> str | None:
        """Return the current token unless it is missing, about to expire, or the one refused."""
        token = self._token
        if token is None or token == stale or self._clock() >= self._refresh_at:
            return None
        return token

    def _authorize(self, request: httpx.Request, token: str) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {token}"
        return request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        refused = None
        for attempt in range(2):
            token = self._usable(refused)
            if token is None:
                # Held across the token requests: other threads wait, then use the new token.
                with self._lock:
                    token = self._usable(refused)
                    if token is None:
                        flow = self._token_flow()
                        token_request = next(flow)
                        while token_request is not None:
                            response = yield token_request
                            response.read()
                            token_request = _advance(flow, response)
                        token = self._current_token()
            response = yield self._authorize(request, token)
            response.read()
            if attempt or not is_auth_failure(response):
                return
            refused = token

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        refused = None
        for attempt in range(2):
            token = self._usable(refused)
            if token is None:
                await self._acquire_without_blocking()
                try:
                    token = self._usable(refused)
                    if token is None:
                        flow = self._token_flow()
                        token_request = next(flow)
                        while token_request is not None:
                            response = yield token_request
                            await response.aread()
                            token_request = _advance(flow, response)
                        token = self._current_token()
                finally:
                    self._lock.release()
            response = yield self._authorize(request, token)
            await response.aread()
            if attempt or not is_auth_failure(response):
                return
            refused = token

    async def _acquire_without_blocking(self) -> None:
        """Take the lock that threads take too, without blocking the event loop while another holds it."""
        import anyio  # httpx's own dependency; works on asyncio and trio

        while not self._lock.acquire(blocking=False):
            await anyio.sleep(_ASYNC_LOCK_POLL)

    def _current_token(self) -> str:
        assert self._token is not None, "_token_flow must end with _keep_token"
        return self._token


def _advance(flow: Generator[httpx.Request, httpx.Response, None], response: httpx.Response) -> httpx.Request | None:
    """Send `response` into a token flow; return its next request, or None when it is done."""
    try:
        return flow.send(response)
    except StopIteration:
        return None


def _lifetime(token: str, expires_in: Any) -> float | None:
    """Return the seconds `token` lives: `exp - iat` of a JWT (immune to clock skew), else `expires_in`."""
    claims = _jwt_claims(token)
    exp, iat = claims.get("exp"), claims.get("iat")
    if isinstance(exp, int | float) and isinstance(iat, int | float):
        return max(0.0, float(exp - iat))
    if isinstance(exp, int | float):
        return max(0.0, exp - time.time())
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
        return max(0.0, float(expires_in))
    return None


def _jwt_claims(token: str) -> dict[str, Any]:
    """Return a JWT's claims without verifying it (only to read its lifetime), or {} if it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


class PasswordAuth(TokenAuth):
    """Log in at our `/login` with an email and password, then keep the access token fresh with `/refresh`.

    When the server refuses the refresh token (expired, revoked), it logs in again. When
    `/refresh` also answers a new refresh token (rotation), that one is kept.
    """

    def __init__(self, base_url: str, email: str, password: str, **options: Any) -> None:
        super().__init__(**options)
        self._base_url = base_url.rstrip("/")
        self._email = email
        self._password = password
        self._refresh_token: str | None = None

    def _token_flow(self) -> Generator[httpx.Request, httpx.Response, None]:
        if self._refresh_token is not None:
            response = yield httpx.Request(
                "POST", f"{self._base_url}/refresh", headers={"Authorization": f"Bearer {self._refresh_token}"}
            )
            if response.status_code == 200:
                self._keep_tokens(response, "/refresh")
                return
            if not _refused(response):
                raise _token_failure("/refresh", response)
            self._refresh_token = None  # expired or revoked: log in again
        response = yield httpx.Request(
            "POST", f"{self._base_url}/login", json={"email": self._email, "password": self._password}
        )
        if response.status_code != 200:
            raise _token_failure("/login", response)
        self._keep_tokens(response, "/login")

    def _keep_tokens(self, response: httpx.Response, endpoint: str) -> None:
        body = _json_object(response)
        token = body.get("access_token")
        if not isinstance(token, str):
            # A server in cookie mode (AUTH_COOKIES) keeps tokens out of bodies.
            raise AuthenticationError(f"{endpoint} answered no access_token (is the server in cookie mode?)", 200)
        if isinstance(body.get("refresh_token"), str):
            self._refresh_token = body["refresh_token"]
        self._keep_token(token, body.get("expires_in"))


class ClientCredentialsAuth(TokenAuth):
    """Fetch tokens with the OAuth2 client credentials grant (RFC 6749 4.4), e.g. at Cognito's `/oauth2/token`.

    The client authenticates with HTTP Basic; the grant has no refresh token, so a new access
    token is fetched shortly before the current one expires.
    """

    def __init__(
        self, token_url: str, client_id: str, client_secret: str, scope: str | None = None, **options: Any
    ) -> None:
        super().__init__(**options)
        self._token_url = token_url
        # RFC 6749 2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
        credentials = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
        self._basic = "Basic " + base64.b64encode(credentials).decode()
        self._form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}

    def _token_flow(self) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield httpx.Request(
            "POST",
            self._token_url,
            data=self._form,
            headers={"Authorization": self._basic, "Accept": "application/json"},
        )
        if response.status_code != 200:
            raise _token_failure("the token endpoint", response)
        body = _json_object(response)
        token = body.get("access_token")
        if not isinstance(token, str):
            raise AuthenticationError("The token endpoint answered no access_token.", 200)
        self._keep_token(token, body.get("expires_in"))


def _refused(response: httpx.Response) -> bool:
    """Say whether a token endpoint refused the credentials (as opposed to failing)."""
    return 400 <= response.status_code < 500 and response.status_code not in (408, 429)


def _token_failure(endpoint: str, response: httpx.Response) -> Exception:
    """Describe a failed token request by its status and error code, never by the credentials sent."""
    body = _json_object(response)
    reason = body.get("error") or body.get("code")
    detail = body.get("error_description") or body.get("message")
    said = ": ".join(str(part) for part in (reason, detail) if part)
    message = f"{endpoint} answered {response.status_code}" + (f" ({said})" if said else "")
    if _refused(response):
        return AuthenticationError(message, response.status_code)
    return HTTPError(message, response.status_code)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
