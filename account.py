"""A user's own account: POST /password changes the password, POST /logout-all ends every session."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from flask_jwt_extended import unset_jwt_cookies
from pynamodb.exceptions import UpdateError

import passwords
import throttle
from auth import authenticate, issue_tokens
from bodies import json_body
from errors import Conflict, Forbidden, ValidationFailed
from models import User

blueprint = Blueprint("account", __name__)


def init_app(app: Flask) -> None:
    """Add the account endpoints."""
    app.register_blueprint(blueprint)


@blueprint.post("/password")
def change_password() -> Response:
    """Change the password, end every other token of the user and answer with a new pair."""
    user = _user()
    body = json_body()
    current = _password(body, "currentPassword")
    new = _password(body, "newPassword")
    try:
        passwords.validate_password(new)
    except ValidationFailed as error:
        raise ValidationFailed(error.message, field="newPassword") from None
    # A stolen access token must not buy unlimited guesses at the password: count them like logins.
    with throttle.guard("password", account=user.email):
        if not passwords.verify_password(user.password, current):
            raise Forbidden("The current password is incorrect.", code="INVALID_CREDENTIALS", field="currentPassword")
    try:
        # token_version moves on: every token issued before, on any device, stops working.
        user.update(
            actions=[User.password.set(passwords.hash_password(new)), User.token_version.add(1)],
            condition=User.password == user.password,
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise Conflict("The password was changed meanwhile; log in again.") from None
    return issue_tokens(user, {})


@blueprint.post("/logout-all")
def logout_all() -> Response:
    """End every token of the user, on every device, the presented one included."""
    user = _user()
    user.update(actions=[User.token_version.add(1)], condition=User.id.exists())
    response = jsonify({"revoked": "all"})
    if current_app.config["AUTH_COOKIES"]:
        unset_jwt_cookies(response)
    return response


def _user() -> User:
    user = authenticate()
    assert user is not None  # authenticate() raises instead of returning None
    return user


def _password(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        raise ValidationFailed(f"{name} is required.", field=name)
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be a string.", field=name)
    if len(value) > passwords.MAX_LENGTH:
        raise ValidationFailed(f"{name} must be at most {passwords.MAX_LENGTH} characters long.", field=name)
    return value
