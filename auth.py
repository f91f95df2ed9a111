"""Issue and check tokens, and serve /signup, /login, /refresh and /logout."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    decode_token,
    get_current_user,
    get_jwt,
    set_access_cookies,
    set_refresh_cookies,
    unset_jwt_cookies,
    verify_jwt_in_request,
)
from flask_jwt_extended.exceptions import CSRFError
from jwt import PyJWTError
from pynamodb.exceptions import UpdateError

import jwt_speedups
import passwords
from errors import (
    Forbidden,
    MalformedJSON,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationFailed,
    error_response,
)
from models import RevokedToken, User, load_token_subject

jwt = JWTManager()
blueprint = Blueprint("auth", __name__)

MAX_NAME_LENGTH = 100
_SCHEME = re.compile(r"^\s*(bearer|jwt)\s+", re.IGNORECASE)


def init_app(app: Flask) -> None:
    """Configure flask-jwt-extended from our settings and add the auth endpoints."""
    cookies = app.config["AUTH_COOKIES"]
    app.config.update(
        JWT_ALGORITHM="HS256",
        JWT_DECODE_ALGORITHMS=["HS256"],
        JWT_ACCESS_TOKEN_EXPIRES=timedelta(seconds=app.config["ACCESS_TOKEN_EXPIRES"]),
        JWT_REFRESH_TOKEN_EXPIRES=timedelta(seconds=app.config["REFRESH_TOKEN_EXPIRES"]),
        JWT_TOKEN_LOCATION=["headers", "cookies"] if cookies else ["headers"],
        JWT_HEADER_TYPE="Bearer",
        JWT_REFRESH_JSON_KEY="refresh_token",
        JWT_COOKIE_SECURE=app.config["COOKIE_SECURE"],
        JWT_COOKIE_SAMESITE="Lax",
        JWT_COOKIE_CSRF_PROTECT=True,
        JWT_CSRF_CHECK_FORM=False,
        JWT_REFRESH_COOKIE_PATH="/",
    )
    jwt_speedups.install()  # cheaper token loads, same decisions: see jwt_speedups.py
    jwt.init_app(app)
    # flask-jwt-extended registers its own CSRF handler; a failed double submit is a 403.
    app.register_error_handler(CSRFError, lambda error: error_response(Forbidden(str(error), code="CSRF_FAILED")))
    app.wsgi_app = AuthorizationSchemes(app.wsgi_app)  # type: ignore[method-assign]
    app.register_blueprint(blueprint)


class AuthorizationSchemes:
    """Accept `JWT <token>` (what the original curl examples send) as well as `Bearer <token>`."""

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        header = environ.get("HTTP_AUTHORIZATION")
        if header:
            environ["HTTP_AUTHORIZATION"] = _SCHEME.sub("Bearer ", header, count=1)
        return self.wsgi_app(environ, start_response)


# Token checks: each failure is a 401 with a stable code and a WWW-Authenticate challenge.


def _challenge(error: Unauthenticated, token_presented: bool = True) -> Response:
    response = error_response(error)
    challenge = 'Bearer realm="api"'
    if token_presented:
        challenge += f', error="invalid_token", error_description="{error.message}"'
    response.headers["WWW-Authenticate"] = challenge
    return response


@jwt.unauthorized_loader
def _missing_token(reason: str) -> Response:
    return _challenge(Unauthenticated(f"{reason}."), token_presented=False)


@jwt.invalid_token_loader
def _invalid_token(reason: str) -> Response:
    return _challenge(Unauthenticated(f"The token is not valid: {reason}.", code="INVALID_TOKEN"))


@jwt.expired_token_loader
def _expired_token(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return _challenge(Unauthenticated("The token has expired; refresh it.", code="TOKEN_EXPIRED"))


@jwt.revoked_token_loader
@jwt.user_lookup_error_loader
def _revoked_token(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return _challenge(Unauthenticated("The token has been revoked; log in again.", code="TOKEN_REVOKED"))


@jwt.token_in_blocklist_loader
def _is_revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
    # flask-jwt-extended asks this first, then _load_user: read both in one round trip.
    user, revoked = load_token_subject(payload["sub"], payload["jti"])
    g.token_user = (payload["jti"], user)
    return revoked


@jwt.user_lookup_loader
def _load_user(_header: dict[str, Any], payload: dict[str, Any]) -> User | None:
    """Return the token's user, or None if it is gone or its tokens were revoked since."""
    jti, user = g.pop("token_user", (None, None))
    if jti != payload["jti"]:  # not read with the revocation check: read it now
        user, _revoked = load_token_subject(payload["sub"], payload["jti"])
    return user if user is not None and payload.get("ver", 0) == user.token_version else None


def authenticate(*, optional: bool = False) -> User | None:
    """Return the user of the request's access token; raise flask-jwt-extended's errors if none."""
    verify_jwt_in_request(optional=optional)
    return get_current_user()


def issue_tokens(user: User, response_body: dict[str, Any], status: int = 200, *, refresh: bool = True) -> Response:
    """Answer with a new access token for `user`, and a refresh token unless `refresh` is False.

    In cookie mode the tokens go in httpOnly cookies and stay out of the body.
    """
    claims = {"ver": user.token_version}
    tokens = {"access_token": create_access_token(identity=user.id, additional_claims=claims)}
    if refresh:
        tokens["refresh_token"] = create_refresh_token(identity=user.id, additional_claims=claims)
    cookies = current_app.config["AUTH_COOKIES"]
    body = {**response_body, "token_type": "Bearer", "expires_in": current_app.config["ACCESS_TOKEN_EXPIRES"]}
    response = jsonify(body if cookies else {**body, **tokens})
    response.status_code = status
    if cookies:
        set_access_cookies(response, tokens["access_token"])
        if refresh:
            set_refresh_cookies(response, tokens["refresh_token"])
    return response


# Endpoints.


@blueprint.post("/signup")
def signup() -> Response:
    body = json_body()
    user = User(
        email=_field(body, "email"),
        first_name=_field(body, "firstName", required=False, max_length=MAX_NAME_LENGTH),
        last_name=_field(body, "lastName", required=False, max_length=MAX_NAME_LENGTH),
    )
    user.password = _field(body, "password")
    user.save()
    return issue_tokens(user, {"user": user_json(user)}, status=201)


@blueprint.post("/login")
def login() -> Response:
    body = json_body()
    email = _field(body, "email")
    password = _field(body, "password", max_length=passwords.MAX_LENGTH)
    user = User.find_by_email(email)
    # Without a user, verify against a dummy hash: a wrong email takes as long as a wrong password.
    if not passwords.verify_password(user.password if user else None, password) or user is None:
        raise Unauthenticated("The email or password is incorrect.", code="INVALID_CREDENTIALS")
    if passwords.needs_rehash(user.password):
        _upgrade_hash(user, password)
    return issue_tokens(user, {})


@blueprint.post("/refresh")
def refresh() -> Response:
    verify_jwt_in_request(refresh=True, locations=_token_locations(refresh=True))
    return issue_tokens(get_current_user(), {}, refresh=False)


@blueprint.post("/logout")
def logout() -> Response:
    """Revoke the presented token, and the refresh token in the body if one is sent."""
    verify_jwt_in_request(verify_type=False)
    presented = get_jwt()
    revoked = [presented]
    refresh_token = _optional_json_refresh_token()
    if refresh_token is not None:
        try:
            other = decode_token(refresh_token)
        except PyJWTError:
            raise ValidationFailed("refresh_token is not a valid token of yours.", field="refresh_token") from None
        if other.get("sub") != presented["sub"]:
            raise ValidationFailed("refresh_token is not a valid token of yours.", field="refresh_token")
        revoked.append(other)
    for payload in revoked:
        RevokedToken(payload["jti"], expires_at=datetime.fromtimestamp(payload["exp"], UTC)).save()
    response = jsonify({"revoked": [payload["type"] for payload in revoked]})
    if current_app.config["AUTH_COOKIES"]:
        unset_jwt_cookies(response)
    return response


# Helpers.


def user_json(user: User) -> dict[str, Any]:
    """Return the public fields of `user`, as the GraphQL User type names them."""
    from schema import global_id_of

    return {
        "id": global_id_of(user),
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "createdAt": user.created_at.isoformat(),
    }


def json_body() -> dict[str, Any]:
    """Return the request's JSON object body, or raise a client error that says what is wrong."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType()
    try:
        body = json.loads(request.get_data(cache=True) or b"")
    except ValueError:
        raise MalformedJSON() from None
    if not isinstance(body, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    return body


def _field(body: dict[str, Any], name: str, *, required: bool = True, max_length: int | None = None) -> str:
    value = body.get(name)
    if value is None:
        if required:
            raise ValidationFailed(f"{name} is required.", field=name)
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be a string.", field=name)
    if name != "password":
        value = value.strip()
    if max_length is not None and len(value) > max_length:
        raise ValidationFailed(f"{name} must be at most {max_length} characters long.", field=name)
    return value


def _optional_json_refresh_token() -> str | None:
    if request.mimetype != "application/json" or not request.get_data(cache=True):
        return None
    token = json_body().get("refresh_token")
    if token is not None and not isinstance(token, str):
        raise ValidationFailed("refresh_token must be a string.", field="refresh_token")
    return token


def _token_locations(*, refresh: bool) -> list[str]:
    locations = list(current_app.config["JWT_TOKEN_LOCATION"])
    if refresh and request.mimetype == "application/json" and request.get_data(cache=True):
        locations.append("json")
    return locations


def _upgrade_hash(user: User, password: str) -> None:
    """Store a fresh argon2id hash, unless the password changed meanwhile."""
    old_hash = user.password
    new_hash = passwords.hash_password(password)
    with suppress(UpdateError):  # someone else changed the password first: theirs wins
        user.update(actions=[User.password.set(new_hash)], condition=User.password == old_hash)
