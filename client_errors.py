"""The errors the GraphQL client raises: one small hierarchy, safe to log (no token or secret in any)."""

from __future__ import annotations

from typing import Any


class GraphQLClientError(Exception):
    """Base of every error the GraphQL client raises."""


class TransportError(GraphQLClientError):
    """The request did not complete: no connection, a timeout, or a broken HTTP exchange."""


class HTTPError(GraphQLClientError):
    """The server answered with a status or a body that is not a GraphQL result."""

    def __init__(self, message: str, status_code: int, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.errors = errors or []


class AuthenticationError(GraphQLClientError):
    """Credentials or a token were refused, also after one refresh and resend."""

    def __init__(self, message: str, status_code: int | None = None, errors: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.errors = errors or []


class GraphQLResponseError(GraphQLClientError):
    """The server answered with GraphQL errors; `data` holds any partial result."""

    def __init__(self, errors: list[dict[str, Any]], data: dict[str, Any] | None = None) -> None:
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        code = (first.get("extensions") or {}).get("code")
        message = str(first.get("message", "GraphQL error"))
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{code}: {message}{more}" if code else f"{message}{more}")
        self.errors = errors
        self.data = data


class ResponseTooLarge(TransportError):
    """The answer is longer than the client's `max_response_bytes`: it was not read, its connection closed."""
