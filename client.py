"""A GraphQL client on httpx that manages its own tokens: `GraphQLClient` and `AsyncGraphQLClient`.

    client = GraphQLClient("http://127.0.0.1:5000/graphql", auth=PasswordAuth("http://127.0.0.1:5000", email, pw))
    data = client.execute("{ viewer { email } }")

Retries are bounded, with exponential backoff and jitter: connection failures, 502/503/504
and 429 (after its Retry-After) are retried for queries; a mutation is resent only when it
provably never reached the server (the connection failed, or only a token request failed).
Run `python client.py --help` for the command line.
"""

from __future__ import annotations

import email.utils
import functools
import random
import time
from collections.abc import Mapping
from typing import Any

import httpx

import client_limits
from client_auth import (
    ClientCredentialsAuth,
    HasuraAdminSecretAuth,
    PasswordAuth,
    StaticTokenAuth,
    TokenAuth,
    graphql_errors,
    is_auth_failure,
)
from client_errors import (
    AuthenticationError,
    GraphQLClientError,
    GraphQLResponseError,
    HTTPError,
    ResponseTooLarge,
    TransportError,
)

__all__ = [
    "AsyncGraphQLClient",
    "AuthenticationError",
    "ClientCredentialsAuth",
    "GraphQLClient",
    "GraphQLClientError",
    "GraphQLResponseError",
    "HTTPError",
    "HasuraAdminSecretAuth",
    "PasswordAuth",
    "ResponseTooLarge",
    "StaticTokenAuth",
    "TokenAuth",
    "TransportError",
]

ACCEPT = "application/graphql-response+json, application/json;q=0.9"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Failures after which the request cannot have reached the server: safe to resend anything.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures worth another try for a query (a read or a broken exchange may have executed it).
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class _Calls:
    """What both clients share: the request, the retry rules and the reading of the answer."""

    def __init__(
        self, url: str, max_retries: int, backoff: float, max_backoff: float, retry_budget: float | None
    ) -> None:
        self.url = url
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.retry_budget = retry_budget

    @staticmethod
    def payload(query: str, variables: Mapping[str, Any] | None, operation_name: str | None) -> dict[str, Any]:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = dict(variables)
        if operation_name is not None:
            payload["operationName"] = operation_name
        return payload

    def retry_delay(
        self,
        attempt: int,
        started: float,
        payload: Mapping[str, Any],
        request: httpx.Request,
        *,
        response: httpx.Response | None = None,
        error: Exception | None = None,
    ) -> float | None:
        """Return how long to wait before resending, or None to give up."""
        if attempt >= self.max_retries:
            return None
        delay = self._backoff(attempt)
        if error is not None:
            if not (_never_sent(error, request) or (isinstance(error, _TRANSIENT) and _is_query(payload))):
                return None
        elif response is None or response.status_code not in RETRY_STATUSES or not _is_query(payload):
            return None
        else:
            retry_after = _retry_after(response)
            if retry_after is not None:
                delay = retry_after
        if self.retry_budget is not None and time.monotonic() - started + delay > self.retry_budget:
            return None
        return delay

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.max_backoff, self.backoff * 2**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # jitter: callers that failed together spread out

    def transport_error(self, error: httpx.HTTPError) -> TransportError:
        return TransportError(f"{type(error).__name__} talking to {_origin(error)}: {error}")

    def result(self, response: httpx.Response) -> Any:
        """Return the `data` of a GraphQL answer; raise the matching error for anything else."""
        errors = graphql_errors(response)
        if is_auth_failure(response):
            raise AuthenticationError(_describe(response, errors), response.status_code, errors)
        try:
            body = response.json()
        except ValueError:
            body = None
        is_graphql = isinstance(body, dict) and ("data" in body or "errors" in body)
        if is_graphql and response.status_code < 500:
            if errors:
                raise GraphQLResponseError(errors, body.get("data"))
            if response.is_success:
                return body.get("data")
        raise HTTPError(_describe(response, errors), response.status_code, errors)


class _Client:
    """What both clients are made of: the request rules (`_Calls`) and an httpx client of `_http_class`."""

    _http_class: type[httpx.Client] | type[httpx.AsyncClient]

    def __init__(
        self,
        url: str,
        auth: httpx.Auth | None = None,
        timeout: float | httpx.Timeout = 10,
        *,
        headers: Mapping[str, str] | None = None,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        retry_budget: float | None = 60.0,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        max_response_bytes: int | None = None,
    ) -> None:
        self._calls = _Calls(url, max_retries, backoff, max_backoff, retry_budget)
        limited = max_response_bytes is not None
        self._http: Any = self._http_class(
            auth=auth,
            timeout=timeout,
            headers={"Accept": ACCEPT, **(client_limits.REQUEST_HEADERS if limited else {}), **(headers or {})},
            transport=transport,
            event_hooks={"response": [
                client_limits.response_hook(max_response_bytes, self._http_class is httpx.AsyncClient)
            ]} if limited else None,
        )


class GraphQLClient(_Client):
    """Send GraphQL operations over HTTP with `auth` (an httpx.Auth, e.g. PasswordAuth); thread safe."""

    _http_class = httpx.Client

    def execute(
        self, query: str, variables: Mapping[str, Any] | None = None, operation_name: str | None = None
    ) -> Any:
        """Run one operation and return its `data`; raise GraphQLResponseError if it has errors."""
        return self._calls.result(self.send(self._calls.payload(query, variables, operation_name)))

    def send(self, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> httpx.Response:
        """POST a GraphQL request body, with auth and retries, and return the final HTTP response."""
        started = time.monotonic()
        attempt = 0
        while True:
            request = self._http.build_request("POST", self._calls.url, json=payload, headers=headers)
            try:
                response = self._http.send(request)
            except httpx.HTTPError as error:
                delay = self._calls.retry_delay(attempt, started, payload, request, error=error)
                if delay is None:
                    raise self._calls.transport_error(error) from error
            else:
                delay = self._calls.retry_delay(attempt, started, payload, request, response=response)
                if delay is None:
                    return response
            time.sleep(delay)
            attempt += 1

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GraphQLClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class AsyncGraphQLClient(_Client):
    """The asyncio twin of GraphQLClient, with the same arguments and methods (safe to share across tasks)."""

    _http_class = httpx.AsyncClient

    async def execute(
        self, query: str, variables: Mapping[str, Any] | None = None, operation_name: str | None = None
    ) -> Any:
        """Run one operation and return its `data`; raise GraphQLResponseError if it has errors."""
        return self._calls.result(await self.send(self._calls.payload(query, variables, operation_name)))

    async def send(self, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> httpx.Response:
        """POST a GraphQL request body, with auth and retries, and return the final HTTP response."""
        import anyio

        started = time.monotonic()
        attempt = 0
        while True:
            request = self._http.build_request("POST", self._calls.url, json=payload, headers=headers)
            try:
                response = await self._http.send(request)
            except httpx.HTTPError as error:
                delay = self._calls.retry_delay(attempt, started, payload, request, error=error)
                if delay is None:
                    raise self._calls.transport_error(error) from error
            else:
                delay = self._calls.retry_delay(attempt, started, payload, request, response=response)
                if delay is None:
                    return response
            await anyio.sleep(delay)
            attempt += 1

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncGraphQLClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()


def _never_sent(error: Exception, request: httpx.Request) -> bool:
    """Say whether `error` proves the GraphQL request was not executed."""
    if isinstance(error, _NEVER_SENT):
        return True
    # A failed token request: the operation was not sent yet, or was refused unexecuted.
    failed = _failed_request(error)
    return isinstance(error, httpx.TransportError) and failed is not None and failed is not request


def _is_query(payload: Mapping[str, Any]) -> bool:
    return _operation_type(str(payload.get("query", "")), payload.get("operationName")) == "query"


@functools.lru_cache(maxsize=256)
def _operation_type(query: str, operation_name: str | None) -> str | None:
    """Return query, mutation or subscription for the operation to run, or None if it is unclear."""
    from graphql import GraphQLError, OperationDefinitionNode, parse

    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        return None
    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [node for node in operations if node.name is not None and node.name.value == operation_name]
    return operations[0].operation.value if len(operations) == 1 else None


def _retry_after(response: httpx.Response) -> float | None:
    """Return Retry-After in seconds (given as seconds or as an HTTP date), or None."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _describe(response: httpx.Response, errors: list[dict[str, Any]]) -> str:
    said = ""
    if errors:
        first = errors[0]
        code = (first.get("extensions") or {}).get("code")
        said = f": {code + ': ' if code else ''}{first.get('message', '')}"
    return f"{response.request.url.copy_with(query=None)} answered {response.status_code}{said}"


def _failed_request(error: httpx.HTTPError) -> httpx.Request | None:
    try:
        return error.request
    except RuntimeError:  # httpx raises this when the error has no request
        return None


def _origin(error: httpx.HTTPError) -> str:
    request = _failed_request(error)
    return str(request.url.copy_with(query=None)) if request is not None else "the server"


if __name__ == "__main__":
    import sys

    from client_cli import main

    sys.exit(main())
