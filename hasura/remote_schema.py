"""Remote Schema: Hasura's resolved x-hasura-user-id and x-hasura-role, trusted on /graphql with the secret only.

Hasura calls our /graphql either with the client's own Authorization header (forwarded:
our token works as is) or with the action secret header and the session it resolved. Without
a valid secret those x-hasura-* headers are anyone's and are ignored.
"""

from __future__ import annotations

from flask import request

from errors import Forbidden
from hasura import has_valid_secret
from models import User


def vouched_viewer() -> tuple[User | None] | None:
    """Return (the viewer) Hasura vouches for on /graphql with the secret, or None to let the token decide.

    With the secret: the user named by x-hasura-user-id (with x-hasura-role one of theirs), else,
    unless a token was forwarded, nobody in particular: Hasura itself, which introspects the schema
    when it adds it; fields that need a viewer then answer UNAUTHENTICATED.
    """
    if request.endpoint != "graphql" or not has_valid_secret():
        return None
    user_id = request.headers.get("X-Hasura-User-Id")
    user = _user(user_id) if user_id else None
    if user is None:
        return None if "Authorization" in request.headers else (None,)
    role = request.headers.get("X-Hasura-Role")
    if role is not None and role not in (user.roles or []):
        raise Forbidden(f"The user does not have the role {role}.")
    return (user,)


def _user(user_id: str) -> User | None:
    try:
        return User.get(user_id, consistent_read=True)
    except User.DoesNotExist:
        return None
