"""Issue and check tokens, and serve /signup, /login, /refresh and /logout."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask_jwt_extended import (
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
from flask_jwt_extended.exceptions import CSRFError, JWTExtendedException
from jwt import ExpiredSignatureError, PyJWTError
from pynamodb.exceptions import UpdateError
from werkzeug.datastructures import ImmutableMultiDict

import jwt_speedups
import passwords
import sessions
import throttle
from bodies import json_body, optional_json_body
from errors import Forbidden, Unauthenticated, ValidationFailed, error_response
from models import RevokedToken, TokenSubject, User, load_token_subject, refuse_control_characters
from token_claims import ClaimCheckingJWTManager, unverified_claims

jwt = ClaimCheckingJWTManager()
blueprint = Blueprint("auth", __name__)

MAX_NAME_LENGTH = 100
_SCHEME = re.compile(r"^\s*(bearer|jwt)\s+", re.IGNORECASE)


def init_app(app: Flask) -> None:
    """Configure flask-jwt-extended from our settings and add the auth endpoints."""
    cookies = app.config["AUTH_COOKIES"]
    algorithm = app.config["JWT_ALGORITHM"]
    app.config.update(
        JWT_ALGORITHM=algorithm,
        JWT_DECODE_ALGORITHMS=[algorithm],
        # Tokens carry `iss` and `aud`, and a token without ours is refused (RFC 8725, Hasura's audience check).
        JWT_ENCODE_ISSUER=app.config["JWT_ISSUER"],
        JWT_DECODE_ISSUER=app.config["JWT_ISSUER"],
        JWT_ENCODE_AUDIENCE=app.config["JWT_AUDIENCE"],
        JWT_DECODE_AUDIENCE=app.config["JWT_AUDIENCE"],
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
    if algorithm != "HS256":
        import signing  # imports cryptography: only deployments that sign asymmetrically pay for it

        signing.init_app(app)
    # flask-jwt-extended registers its own CSRF handler; a failed double submit is a 403.
    app.register_error_handler(CSRFError, lambda error: error_response(Forbidden(str(error), code="CSRF_FAILED")))
    app.wsgi_app = AuthorizationSchemes(app.wsgi_app)  # type: ignore[method-assign]
    if cookies:
        app.before_request(_renew_access_cookie)
        app.after_request(_set_renewed_access_cookie)
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
    subject = load_token_subject(payload["sub"], payload["jti"], payload.get("fam"))
    g.token_subject = (payload["jti"], subject)
    return subject.revoked


@jwt.user_lookup_loader
def _load_user(_header: dict[str, Any], payload: dict[str, Any]) -> User | None:
    """Return the token's user, or None if it is gone or its tokens were revoked since."""
    return _current(_subject_of(payload).user, payload)


def _subject_of(payload: dict[str, Any]) -> TokenSubject:
    """Return what the request's token check read for this token, or read it now."""
    jti, subject = g.get("token_subject", (None, None))
    if jti != payload["jti"]:  # not read with the revocation check
        subject = load_token_subject(payload["sub"], payload["jti"], payload.get("fam"))
    return subject  # type: ignore[no-any-return]


def _current(user: User | None, payload: dict[str, Any]) -> User | None:
    """Return `user` unless it is gone or its tokens were revoked after this one was issued (`ver`)."""
    return user if user is not None and payload.get("ver", 0) == user.token_version else None


def _live_subject(payload: dict[str, Any]) -> TokenSubject | None:
    """Return what a verified token passed as a value reads as (its user current), or None if it no longer counts."""
    subject = load_token_subject(payload["sub"], payload["jti"], payload.get("fam"))
    if subject.revoked or _current(subject.user, payload) is None:
        return None
    return subject


def authenticate(*, optional: bool = False) -> User | None:
    """Return the user of the request's access token; raise flask-jwt-extended's errors if none."""
    for vouched_viewer in current_app.extensions.get("viewer_sources", ()):  # e.g. Hasura's remote-schema headers
        vouched = vouched_viewer()  # (the user, or None for nobody in particular), or None: not this source's call
        if vouched is not None:
            return vouched[0]
    if not jwt.verify_remembered_bearer():  # a token seen before skips flask-jwt-extended's search and decode
        verify_jwt_in_request(optional=optional)
    return get_current_user()


def create_tokens(user: User, *, session: sessions.Generation | None = None) -> dict[str, str]:
    """Return the access and refresh token of `session`'s current generation, or of a new session's."""
    session = session or sessions.start(user.id)
    settings = current_app.config
    claims = _user_claims(user)
    return {
        "access_token": create_access_token(
            identity=user.id, additional_claims={**_access_claims(user), **session.claims("access", settings)}
        ),
        "refresh_token": create_refresh_token(
            identity=user.id, additional_claims={**claims, **session.claims("refresh", settings)}
        ),
    }


def register(email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Create a user, or raise ValidationFailed or EmailTaken; shared by /signup and Hasura's signup."""
    user = User(email=email, first_name=first_name, last_name=last_name)
    user.password = password
    user.save()
    return user


def check_credentials(email: str, password: str, *, count_address: bool = True) -> User:
    """Return the user with this email and password, or raise INVALID_CREDENTIALS; shared by every login.

    Throttled (throttle.py): per account always, per client address unless `count_address`
    is False (a caller such as Hasura sends every user's login from one address).
    """
    with throttle.guard("login", account=email, count_address=count_address):
        user = User.find_by_email(email)
        # Without a user, verify against a dummy hash: a wrong email takes as long as a wrong password.
        if not passwords.verify_password(user.password if user else None, password) or user is None:
            raise Unauthenticated("The email or password is incorrect.", code="INVALID_CREDENTIALS")
    if passwords.needs_rehash(user.password):
        _upgrade_hash(user, password)
    return user


def rotate_refresh_token(token: str) -> tuple[User, sessions.Generation]:
    """Check a refresh token passed as a value as /refresh checks its own; return its user and next generation."""
    try:
        payload = decode_token(token)
    except ExpiredSignatureError:
        raise Unauthenticated("The token has expired; log in again.", code="TOKEN_EXPIRED") from None
    except (PyJWTError, JWTExtendedException):
        raise Unauthenticated("The refresh token is not valid.", code="INVALID_TOKEN") from None
    if payload["type"] != "refresh":
        raise Unauthenticated("The refresh token is not valid.", code="INVALID_TOKEN")
    subject = _live_subject(payload)
    if subject is None:
        raise Unauthenticated("The token has been revoked; log in again.", code="TOKEN_REVOKED")
    return subject.user, sessions.rotate(payload, subject.family)  # type: ignore[return-value]


def issue_tokens(
    user: User, response_body: dict[str, Any], status: int = 200, *, session: sessions.Generation | None = None
) -> Response:
    """Answer with an access and a refresh token for `user`: `session`'s pair, or a new session's.

    In cookie mode the tokens go in httpOnly cookies and stay out of the body.
    """
    tokens = create_tokens(user, session=session)
    settings = current_app.config
    cookies = settings["AUTH_COOKIES"]
    body = {**response_body, "token_type": "Bearer", "expires_in": settings["ACCESS_TOKEN_EXPIRES"]}
    response = jsonify(body if cookies else {**body, **tokens})
    response.status_code = status
    if cookies:
        set_access_cookies(response, tokens["access_token"])
        set_refresh_cookies(response, tokens["refresh_token"])
    return response


def _user_claims(user: User) -> dict[str, Any]:
    """Return the claims every token of `user` carries (`ver`: its tokens end when token_version moves)."""
    return {"ver": user.token_version}


def _access_claims(user: User) -> dict[str, Any]:
    """Return the claims of `user`'s access tokens: theirs, plus what extensions add (Hasura's claims)."""
    claims = _user_claims(user)
    for extra_claims in current_app.extensions.get("access_token_claims", ()):
        claims.update(extra_claims(user))
    return claims


# Endpoints.


@blueprint.post("/signup")
def signup() -> Response:
    body = json_body()  # a body refused here costs no DynamoDB request
    with throttle.guard("signup"):
        user = register(
            _field(body, "email"),
            _field(body, "password"),
            _field(body, "firstName", required=False, max_length=MAX_NAME_LENGTH),
            _field(body, "lastName", required=False, max_length=MAX_NAME_LENGTH),
        )
    return issue_tokens(user, {"user": user_json(user)}, status=201)


@blueprint.post("/login")
def login() -> Response:
    body = json_body()
    email = _field(body, "email")
    password = _field(body, "password", max_length=passwords.MAX_LENGTH)
    return issue_tokens(check_credentials(email, password), {})


@blueprint.post("/refresh")
def refresh() -> Response:
    """Answer with the pair that replaces the presented refresh token, which stops working."""
    with throttle.guard("refresh"):
        verify_jwt_in_request(refresh=True, locations=_token_locations(refresh=True))
    claims = get_jwt()
    return issue_tokens(get_current_user(), {}, session=sessions.rotate(claims, _subject_of(claims).family))


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
        if payload["type"] == "refresh" and "fam" in payload:
            sessions.end(payload["fam"])  # and with it the tokens that replaced this one
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


def _field(body: dict[str, Any], name: str, *, required: bool = True, max_length: int | None = None) -> str:
    value = body.get(name)
    if value is None:
        if required:
            raise ValidationFailed(f"{name} is required.", field=name)
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be a string.", field=name)
    if "password" not in name.lower():
        value = refuse_control_characters(value.strip(), name)
    if max_length is not None and len(value) > max_length:
        raise ValidationFailed(f"{name} must be at most {max_length} characters long.", field=name)
    return value


def _optional_json_refresh_token() -> str | None:
    token = (optional_json_body() or {}).get("refresh_token")
    if token is not None and not isinstance(token, str):
        raise ValidationFailed("refresh_token must be a string.", field="refresh_token")
    return token


def _token_locations(*, refresh: bool) -> list[str]:
    locations = list(current_app.config["JWT_TOKEN_LOCATION"])
    # A hostile body is refused here, before flask-jwt-extended parses it with get_json.
    if refresh and optional_json_body() is not None:
        locations.append("json")
    return locations


# Cookie mode: a browser app never holds an expired access token while its refresh cookie
# is valid. An access cookie near (or past) its expiry is replaced before the request is
# checked, from the refresh cookie, without rotating it; the session's CSRF value stays.

RENEW_WITHIN = 60  # seconds before expiry (at most half the access token's lifetime)


def _renew_access_cookie() -> None:
    settings = current_app.config
    access = request.cookies.get(settings["JWT_ACCESS_COOKIE_NAME"])
    refresh_token = request.cookies.get(settings["JWT_REFRESH_COOKIE_NAME"])
    if not access or not refresh_token:
        return
    try:
        # Most requests stop here: a look at the expiry costs less than verifying a signature.
        expires = unverified_claims(access).get("exp")
        if not isinstance(expires, int | float) or expires - time.time() > min(
            RENEW_WITHIN, settings["ACCESS_TOKEN_EXPIRES"] / 2
        ):
            return
        access_claims = decode_token(access, allow_expired=True)
        refresh_claims = decode_token(refresh_token)
    except (ValueError, PyJWTError, JWTExtendedException):
        return  # the usual check answers for these tokens
    family = refresh_claims.get("fam")
    if (
        refresh_claims["type"] != "refresh"
        or family is None
        or (refresh_claims["sub"], family) != (access_claims["sub"], access_claims.get("fam"))
    ):
        return
    subject = _live_subject(refresh_claims)
    if subject is None:
        return
    user = subject.user
    session_claims = {
        "fam": family,
        "gen": refresh_claims.get("gen"),
        "csrf": sessions.csrf_value(family, "access", settings),
    }
    token = create_access_token(identity=user.id, additional_claims={**_access_claims(user), **session_claims})
    cookies = request.cookies.copy()
    cookies[settings["JWT_ACCESS_COOKIE_NAME"]] = token
    request.cookies = ImmutableMultiDict(cookies)  # type: ignore[misc]  # what the check below reads
    g.renewed_access_token = token


def _set_renewed_access_cookie(response: Response) -> Response:
    token = g.pop("renewed_access_token", None)
    name = current_app.config["JWT_ACCESS_COOKIE_NAME"] + "="
    if token and not any(cookie.startswith(name) for cookie in response.headers.getlist("Set-Cookie")):
        set_access_cookies(response, token)  # unless the endpoint set or cleared the cookie itself
    return response


def _upgrade_hash(user: User, password: str) -> None:
    """Store a fresh argon2id hash, unless the password changed meanwhile."""
    old_hash = user.password
    new_hash = passwords.hash_password(password)
    with suppress(UpdateError):  # someone else changed the password first: theirs wins
        user.update(actions=[User.password.set(new_hash)], condition=User.password == old_hash)
