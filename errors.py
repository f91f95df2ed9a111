"""Errors that reach clients, and their two renderings: HTTP JSON bodies and GraphQL errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Response
    from werkzeug.exceptions import HTTPException

# Endpoints that speak GraphQL over HTTP: their errors are GraphQL errors, `{"errors": [...]}`.
GRAPHQL_ENDPOINTS = frozenset({"graphql", "execute_graphql"})


class AppError(Exception):
    """An error a client may see: a stable `code`, an HTTP `status` and a safe `message`."""

    code = "BAD_REQUEST"
    status = 400
    message = "The request is not valid."
    headers: Mapping[str, str] = {}  # sent with the HTTP answer, e.g. Retry-After

    def __init__(self, message: str | None = None, *, code: str | None = None, **details: Any) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.details = details
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON body of this error for a plain HTTP endpoint."""
        return {"code": self.code, "message": self.message, **self.details}

    def to_graphql(self) -> dict[str, Any]:
        """Return this error as a GraphQL response error."""
        return {"message": self.message, "extensions": {"code": self.code, **self.details}}


class MalformedJSON(AppError):
    code = "MALFORMED_JSON"
    status = 400
    message = "The request body is not valid JSON."


class UnsupportedMediaType(AppError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    status = 415
    message = "Send a JSON body with Content-Type: application/json."


class BadEncoding(AppError):
    code = "BAD_ENCODING"
    status = 400
    message = "The request body is not valid utf-8."


class JSONTooDeep(AppError):
    code = "JSON_TOO_DEEP"
    status = 400
    message = "The request body is nested too deeply."


class RequestTimeout(AppError):
    code = "REQUEST_TIMEOUT"
    status = 408
    message = "The request body did not arrive in time."


class ValidationFailed(AppError):
    code = "VALIDATION_FAILED"
    status = 400
    message = "The input is not valid."


class Unauthenticated(AppError):
    code = "UNAUTHENTICATED"
    status = 401
    message = "Authentication is required."


class Forbidden(AppError):
    code = "FORBIDDEN"
    status = 403
    message = "You may not do this."


class NotFound(AppError):
    code = "NOT_FOUND"
    status = 404
    message = "Not found."


class Conflict(AppError):
    code = "CONFLICT"
    status = 409
    message = "This conflicts with existing data."


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"
    message = "A user with this email already exists."


class UpstreamUnavailable(AppError):
    code = "UPSTREAM_UNAVAILABLE"
    status = 502
    message = "The upstream GraphQL service cannot be reached; try again later."


class UpstreamTimeout(UpstreamUnavailable):
    code = "UPSTREAM_TIMEOUT"
    status = 504
    message = "The upstream GraphQL service did not answer in time."


class ServiceUnavailable(AppError):
    """DynamoDB cannot serve the request right now; the client should retry after `retry_after` seconds."""

    code = "SERVICE_UNAVAILABLE"
    status = 503
    message = "The database is unavailable right now; try again shortly."
    retry_after = 5

    @property
    def headers(self) -> Mapping[str, str]:  # type: ignore[override]
        return {"Retry-After": str(self.retry_after)}


class TooManyAttempts(AppError):
    code = "TOO_MANY_ATTEMPTS"
    status = 429
    message = "Too many attempts."

    def __init__(self, retry_after: int) -> None:
        unit = "second" if retry_after == 1 else "seconds"
        super().__init__(f"Too many attempts; try again in {retry_after} {unit}.")
        self.headers = {"Retry-After": str(retry_after)}


class InternalError(AppError):
    code = "INTERNAL_SERVER_ERROR"
    status = 500
    message = "Internal server error."


def error_response(error: AppError, headers: dict[str, str] | None = None) -> Response:
    """Render `error` for the current request: GraphQL-shaped on /graphql, plain JSON elsewhere."""
    from flask import g, jsonify, request

    body = {"errors": [error.to_graphql()]} if request.endpoint in GRAPHQL_ENDPOINTS else error.to_dict()
    if error.status >= 500:
        body_error = body["errors"][0]["extensions"] if "errors" in body else body
        body_error["requestId"] = getattr(g, "request_id", None)
    response = jsonify(body)
    response.status_code = error.status
    response.headers.update({**error.headers, **(headers or {})})
    return response


# The codes of the HTTP errors werkzeug raises (routing, body size, methods).
HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    408: "REQUEST_TIMEOUT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
}


def from_http_exception(error: HTTPException) -> tuple[AppError, dict[str, str]]:
    """Return werkzeug's HTTP error as our error with its status and code, and the headers to keep."""
    status = error.code or 500
    converted = AppError(
        error.description, code=HTTP_CODES.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL_SERVER_ERROR")
    )
    converted.status = status
    return converted, {k: v for k, v in error.get_headers() if k.lower() in ("allow", "retry-after")}
