"""The built-in Actions (signup, login, refreshToken, me) and the example `user_created` Event Trigger.

Add yours the same way, here or in a module imported here. Field names are the SDL's
(hasura/metadata/actions.graphql), so they are camelCase.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import current_app

import auth
import passwords
import sessions
from errors import NotFound
from hasura.actions import Session, action
from hasura.events import Event, event_trigger
from models import User

log = logging.getLogger(__name__)

_NAME = {"max_length": auth.MAX_NAME_LENGTH}
_PASSWORD = {"max_length": passwords.MAX_LENGTH}


@dataclass(frozen=True)
class AuthPayload:
    userId: str
    accessToken: str
    refreshToken: str
    expiresIn: int


@dataclass(frozen=True)
class SignupInput:
    email: str
    password: str = field(metadata=_PASSWORD)
    firstName: str = field(default="", metadata=_NAME)
    lastName: str = field(default="", metadata=_NAME)


@dataclass(frozen=True)
class LoginInput:
    email: str
    password: str = field(metadata=_PASSWORD)


@dataclass(frozen=True)
class RefreshTokenInput:
    refreshToken: str


@dataclass(frozen=True)
class Profile:
    id: str
    email: str
    firstName: str
    lastName: str
    roles: list[str]
    createdAt: str


def _auth_payload(user: User, session: sessions.Generation | None = None) -> AuthPayload:
    tokens = auth.create_tokens(user, session=session)
    return AuthPayload(
        userId=user.id,
        accessToken=tokens["access_token"],
        refreshToken=tokens["refresh_token"],
        expiresIn=current_app.config["ACCESS_TOKEN_EXPIRES"],
    )


@action("signup")
def signup(args: SignupInput, session: Session) -> AuthPayload:
    """Create a user (409 EMAIL_TAKEN if the email is) and log it in."""
    user = auth.register(args.email, args.password, args.firstName.strip(), args.lastName.strip())
    return _auth_payload(user)


@action("login")
def login(args: LoginInput, session: Session) -> AuthPayload:
    """Log in as /login does: one answer, and one duration, for a wrong email or password.

    Failed passwords delay the account as on /login; the per-address limit is left to what
    is in front of Hasura, since every user's login reaches us from Hasura's address.
    """
    return _auth_payload(auth.check_credentials(args.email, args.password, count_address=False))


@action("refreshToken")
def refresh_token(args: RefreshTokenInput, session: Session) -> AuthPayload:
    """Return the pair that replaces a valid refresh token, which stops working (rotation, as on /refresh)."""
    user, generation = auth.rotate_refresh_token(args.refreshToken)
    return _auth_payload(user, generation)


@action("me")
def me(session: Session) -> Profile:
    """Return the caller's profile, from x-hasura-user-id."""
    try:
        user = User.get(session.require_user_id(), consistent_read=True)
    except User.DoesNotExist:
        raise NotFound("No such user.") from None
    return Profile(
        id=user.id,
        email=user.email,
        firstName=user.first_name,
        lastName=user.last_name,
        roles=list(user.roles or []),
        createdAt=user.created_at.isoformat(),
    )


@event_trigger("user_created")
def user_created(event: Event) -> None:
    """Log the new row's name: what Hasura's Python guide does with its `user_created` trigger."""
    row = event.new or {}
    log.info("user_created: a user named %s was added to %s.%s", row.get("name"), event.schema, event.table_name)
