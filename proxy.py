"""POST /execute-graphql: forward a signed-in caller's GraphQL request to a fixed upstream (e.g. Hasura).

The upstream sees this service's identity (OAuth2 client credentials, or Hasura's admin
secret), never the caller's token; with UPSTREAM_FORWARD_USER the caller's user id goes
along as `x-hasura-user-id`. The upstream's answer and status come back as they are. Only
app.py imports this module, and only when UPSTREAM_GRAPHQL_URL is set: httpx stays off the
cold start of every other deployment. Request bodies are never logged.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from flask import Flask, Response, current_app

import auth
from bodies import json_body
from client import (
    AuthenticationError,
    ClientCredentialsAuth,
    GraphQLClient,
    GraphQLClientError,
    HasuraAdminSecretAuth,
    ResponseTooLarge,
    TransportError,
)
from client_auth import is_auth_failure
from errors import UpstreamTimeout, UpstreamUnavailable, ValidationFailed

log = logging.getLogger(__name__)

EXTENSION = "upstream_graphql"
CONNECT_TIMEOUT = 3.0  # a connection that takes longer is not coming; leave the time for a retry
DEADLINE = 28.0  # API Gateway ends the request at 29 s: a retry starts only if it can end before


def init_app(app: Flask) -> None:
    """Add /execute-graphql, forwarding to UPSTREAM_GRAPHQL_URL with the configured service identity."""
    settings = app.config
    timeout = settings["UPSTREAM_TIMEOUT"]
    app.extensions[EXTENSION] = GraphQLClient(
        settings["UPSTREAM_GRAPHQL_URL"],
        auth=service_identity(settings),
        timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
        headers={"Accept": "application/json"},
        # One quick retry at most, and only one that can finish within API Gateway's limit.
        max_retries=1,
        backoff=0.2,
        max_backoff=0.5,
        retry_budget=max(0.0, DEADLINE - timeout),
        max_response_bytes=settings["UPSTREAM_MAX_RESPONSE_BYTES"],
    )
    app.add_url_rule("/execute-graphql", "execute_graphql", execute_graphql, methods=["POST"])


def service_identity(settings: Any) -> httpx.Auth | None:
    """Return the auth provider the upstream sees: client credentials, the admin secret, or none (development)."""
    if settings["UPSTREAM_TOKEN_URL"]:
        return ClientCredentialsAuth(
            settings["UPSTREAM_TOKEN_URL"],
            settings["UPSTREAM_CLIENT_ID"],
            settings["UPSTREAM_CLIENT_SECRET"],
            scope=settings["UPSTREAM_SCOPE"] or None,
        )
    if settings["UPSTREAM_ADMIN_SECRET"]:
        return HasuraAdminSecretAuth(settings["UPSTREAM_ADMIN_SECRET"])
    return None


def execute_graphql() -> Response:
    """Forward `{query, variables, operationName}` upstream and answer with the upstream's answer."""
    user = auth.authenticate()
    payload = _payload(json_body())
    headers = None
    if current_app.config["UPSTREAM_FORWARD_USER"]:
        headers = {"x-hasura-user-id": user.id, "x-hasura-role": current_app.config["UPSTREAM_ROLE"]}
    upstream: GraphQLClient = current_app.extensions[EXTENSION]
    try:
        response = upstream.send(payload, headers)
    except ResponseTooLarge:
        limit = current_app.config["UPSTREAM_MAX_RESPONSE_BYTES"]
        log.warning("the upstream's answer was longer than UPSTREAM_MAX_RESPONSE_BYTES (%s): not read", limit)
        raise UpstreamUnavailable(f"The upstream GraphQL service answered with more than {limit} bytes.",
                                  code="UPSTREAM_RESPONSE_TOO_LARGE") from None
    except TransportError as error:
        cause = error.__cause__
        log.warning("upstream GraphQL request failed: %s", type(cause).__name__)
        raise (UpstreamTimeout() if isinstance(cause, httpx.TimeoutException) else UpstreamUnavailable()) from None
    except AuthenticationError as error:
        log.error("the upstream service identity was refused: %s", error)
        raise _identity_refused() from None
    except GraphQLClientError as error:  # the token endpoint failed
        log.error("no upstream service token: %s", error)
        raise UpstreamUnavailable() from None
    if is_auth_failure(response):
        log.error("the upstream refused the service identity (status %s)", response.status_code)
        raise _identity_refused()
    content_type = response.headers.get("Content-Type", "")
    if "json" not in content_type:
        log.warning("upstream answered %s with %r, not JSON", response.status_code, content_type)
        raise UpstreamUnavailable("The upstream GraphQL service answered something that is not JSON.",
                                  code="UPSTREAM_BAD_RESPONSE")
    return Response(response.content, status=response.status_code, content_type=content_type)


def _payload(body: dict[str, Any]) -> dict[str, Any]:
    """Return the GraphQL request to forward: only the three standard parameters, checked."""
    query = body.get("query")
    variables = body.get("variables")
    operation_name = body.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise ValidationFailed("query must be a non-empty string.", field="query")
    if variables is not None and not isinstance(variables, dict):
        raise ValidationFailed("variables must be an object.", field="variables")
    if operation_name is not None and not isinstance(operation_name, str):
        raise ValidationFailed("operationName must be a string.", field="operationName")
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    if operation_name is not None:
        payload["operationName"] = operation_name
    return payload


def _identity_refused() -> UpstreamUnavailable:
    # Not the caller's fault, and not a 401: the caller's client would refresh its own token.
    return UpstreamUnavailable("The upstream GraphQL service refused this service's identity.",
                               code="UPSTREAM_AUTH_FAILED")
