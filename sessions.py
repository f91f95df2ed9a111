"""Sessions: each login starts a family of refresh tokens that /refresh rotates; reuse ends the family.

A family record (RefreshFamily) holds the current generation n. Refreshing with
generation n's refresh token moves the family to n + 1 and answers with n + 1's pair;
the old refresh token then stops working. Presenting it again means two parties hold it
(a thief and its owner), so the family is deleted: every token of it, access tokens
included, is refused from then on and both must log in again. One exception: within
REFRESH_REUSE_GRACE seconds of a rotation, generation n - 1's token gets generation n's
pair again (two tabs or a retried request refreshing at once). That pair is the same
one, token for token: a pair's claims follow from the family, its generation and the
moment it was issued, so it can be signed again instead of stored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from flask import current_app
from pynamodb.exceptions import UpdateError

from errors import Unauthenticated
from models import RefreshFamily

log = logging.getLogger(__name__)

clock: Callable[[], float] = time.time  # tests move time forward instead of sleeping

_JTI_NAMESPACE = uuid.UUID("5b0c9a64-2f4e-4a51-9d0e-6f0b8c1d2e3f")


class Generation(NamedTuple):
    """One generation of a family: what its token pair's claims are derived from."""

    family: str
    number: int
    issued_at: int

    def claims(self, token_type: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Return the claims of this generation's access or refresh token (besides sub and the user's)."""
        lifetime = settings["ACCESS_TOKEN_EXPIRES" if token_type == "access" else "REFRESH_TOKEN_EXPIRES"]
        return {
            "fam": self.family,
            "gen": self.number,
            "jti": str(uuid.uuid5(_JTI_NAMESPACE, f"{self.family}/{self.number}/{token_type}")),
            "iat": self.issued_at,
            "nbf": self.issued_at,
            "exp": self.issued_at + lifetime,
            "csrf": csrf_value(self.family, token_type, settings),
        }


def csrf_value(family: str, token_type: str, settings: Mapping[str, Any]) -> str:
    """Return the CSRF double-submit value of a session's access or refresh tokens.

    One value per session, not per token: an access cookie renewed or rotated while a page
    is open keeps matching the csrf cookie the page already read. Keyed with the JWT
    secret, so only the server can compute it.
    """
    key = hmac.new(settings["JWT_SECRET_KEY"].encode(), b"csrf double submit", hashlib.sha256).digest()
    return hmac.new(key, f"{family}/{token_type}".encode(), hashlib.sha256).hexdigest()[:32]


def start(user_id: str) -> Generation:
    """Start a new family for a login and return its first generation."""
    settings = current_app.config
    now = int(clock())
    family = RefreshFamily(
        str(uuid.uuid4()),
        user_id=user_id,
        generation=0,
        issued_at=now,
        expires_at=_moment(now + settings["REFRESH_TOKEN_EXPIRES"]),
    )
    family.save(RefreshFamily.id.does_not_exist())
    return Generation(family.id, 0, now)


def rotate(refresh_claims: Mapping[str, Any], family: RefreshFamily | None = None) -> Generation:
    """Return the generation that replaces a verified refresh token's, or end its family if it was used before.

    `family`: the token's family as this request already read it (strongly consistent, with
    the token's check), else it is read here. Either way the rotation is conditional on the
    generation read, so a concurrent rotation is seen.
    """
    family_id, number = refresh_claims.get("fam"), refresh_claims.get("gen")
    if not isinstance(family_id, str) or not isinstance(number, int) or isinstance(number, bool):
        raise Unauthenticated("The token is not valid: it belongs to no session; log in again.", code="INVALID_TOKEN")
    settings = current_app.config
    if family is None:
        family = _load(family_id, refresh_claims["sub"])
    else:
        family = _checked(family, family_id, refresh_claims["sub"])
    now = int(clock())
    if number == family.generation:
        try:
            family.update(
                actions=[
                    RefreshFamily.generation.set(number + 1),
                    RefreshFamily.issued_at.set(now),
                    RefreshFamily.expires_at.set(_moment(now + settings["REFRESH_TOKEN_EXPIRES"])),
                ],
                condition=RefreshFamily.generation == number,
            )
            return Generation(family_id, number + 1, now)
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            family = _load(family_id, refresh_claims["sub"])  # rotated by a concurrent request
    grace = settings["REFRESH_REUSE_GRACE"]
    if number == family.generation - 1 and grace and clock() - family.issued_at <= grace:
        return Generation(family_id, family.generation, family.issued_at)
    end(family_id)
    log.warning("refresh token reused: ended session %s of user %s", family_id, refresh_claims["sub"])
    raise Unauthenticated("This refresh token was used before; the session has ended. Log in again.",
                          code="TOKEN_REVOKED")


def end(family_id: str) -> None:
    """End a session: every token of the family is refused from now on."""
    RefreshFamily(family_id).delete()


def _load(family_id: str, user_id: str) -> RefreshFamily:
    try:
        family = RefreshFamily.get(family_id, consistent_read=True)
    except RefreshFamily.DoesNotExist:
        family = None
    return _checked(family, family_id, user_id)


def _checked(family: RefreshFamily | None, family_id: str, user_id: str) -> RefreshFamily:
    """Return `family` if it is the live family `family_id` of `user_id`; else the session has ended."""
    if family is None or family.id != family_id or family.user_id != user_id:
        raise Unauthenticated("The session has ended; log in again.", code="TOKEN_REVOKED")
    return family


def _moment(epoch_seconds: int) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)
