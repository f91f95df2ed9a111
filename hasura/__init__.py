"""The Hasura companion: claims in our tokens, Actions, Event Triggers and Remote Schema header trust.

Imported only when HASURA_CLAIMS is on or HASURA_ACTION_SECRET is set, so deployments without
Hasura pay nothing for it. The endpoints exist only with the secret: without it they are 404.
"""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from errors import AppError, InternalError, Unauthenticated, from_http_exception

log = logging.getLogger(__name__)
blueprint = Blueprint("hasura", __name__, url_prefix="/hasura")


def init_app(app: Flask) -> None:
    """Add what the settings ask for: claims in access tokens; with the secret, the endpoints."""
    import config

    # Checked here, not with the other settings: on Lambda the secret is read from SSM after those.
    if app.config["APP_ENV"] == "production" and not config.hasura_enabled(app.config):
        raise config.ConfigError(
            "HASURA_CLAIMS is on but HASURA_ACTION_SECRET is not set: production needs the secret Hasura sends "
            "to its Actions, Events and Remote Schema calls (see the README's Hasura section)"
        )
    if app.config["HASURA_CLAIMS"]:
        from hasura.claims import hasura_claims

        app.extensions.setdefault("access_token_claims", []).append(hasura_claims)
    if not config.hasura_enabled(app.config):
        return
    from hasura import actions, events, handlers, remote_schema  # noqa: F401  (handlers: the built-ins)

    app.extensions.setdefault("viewer_sources", []).append(remote_schema.vouched_viewer)
    app.extensions["may_introspect"] = has_valid_secret  # Hasura reads a Remote Schema's schema when adding it
    app.register_blueprint(blueprint)


def has_valid_secret() -> bool:
    """Say whether the request carries HASURA_SECRET_HEADER equal to HASURA_ACTION_SECRET."""
    expected = current_app.config["HASURA_ACTION_SECRET"]
    sent = request.headers.get(current_app.config["HASURA_SECRET_HEADER"])
    if not expected or sent is None:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


@blueprint.before_request
def require_secret() -> None:
    """Refuse every Action and Event call without the secret; log it, never the header's value."""
    if not has_valid_secret():
        header = current_app.config["HASURA_SECRET_HEADER"]
        problem = "a wrong" if header in request.headers else "no"
        log.warning("refused a call to %s with %s %s header (from %s)", request.path, problem, header,
                    request.remote_addr)
        raise Unauthenticated(f"Send the {header} header that Hasura is configured with.")


# Hasura passes a 4xx body {"message", "extensions"} through to its client; anything else becomes
# an opaque error there. Real faults are 500s, masked, with the request id that is in our log.


def hasura_error(error: AppError, headers: dict[str, str] | None = None) -> Response:
    """Render `error` in the shape Hasura passes through to its client."""
    extensions = {"code": error.code, **error.details}
    if isinstance(error, InternalError):  # a masked fault: the id finds its log line
        extensions["requestId"] = g.get("request_id")
    response = jsonify({"message": error.message, "extensions": extensions})
    response.status_code = error.status
    response.headers.update({**error.headers, **(headers or {})})
    return response


@blueprint.errorhandler(AppError)
def _app_error(error: AppError) -> Response:
    return hasura_error(error)


@blueprint.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return hasura_error(*from_http_exception(error))


@blueprint.errorhandler(Exception)
def _unexpected_error(error: Exception) -> Response:
    import faults

    fault = faults.as_app_error(error)
    if isinstance(fault, AppError):  # DynamoDB is down or throttling: logged in one line, Retry-After added
        return hasura_error(fault)
    log.error("unexpected error in %s (request %s)", request.path, g.get("request_id", "-"), exc_info=error)
    return hasura_error(InternalError())
