"""Remote Schema: Hasura's resolved x-hasura-user-id and x-hasura-role, trusted on /graphql with the secret only.

Hasura calls our /graphql either with the client's own Authorization header (forwarded:
our token works as is) or with the action secret header and the session it resolved. Without
a valid secret those x-hasura-* headers are anyone's and are ignored.
"""

from __future__ import annotations

import logging

from flask import request

from errors import Forbidden
from hasura import has_valid_secret
from models import User

log = logging.getLogger(__name__)


def trusted_viewer() -> User | None:
    """Return the user Hasura names in x-hasura-user-id on /graphql, if the request has the secret; else None."""
    if request.endpoint != "graphql":
        return None
    user_id = request.headers.get("X-Hasura-User-Id")
    if not user_id or not has_valid_secret():
        return None
    try:
        user = User.get(user_id, consistent_read=True)
    except User.DoesNotExist:
        return None
    role = request.headers.get("X-Hasura-Role")
    if role is not None and role not in (user.roles or []):
        raise Forbidden(f"The user does not have the role {role}.")
    return user
