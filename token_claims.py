"""The claims every token must carry, checked once its signature is verified."""

from __future__ import annotations

import base64
import json
from typing import Any

from flask_jwt_extended import JWTManager
from jwt import InvalidTokenError, MissingRequiredClaimError

REQUIRED_CLAIMS = ("exp", "jti", "type", "sub")


class ClaimCheckingJWTManager(JWTManager):
    """flask-jwt-extended's manager, refusing a token that lacks a claim the checks rely on.

    flask-jwt-extended reads a token without `type` as an access token and one without `jti`
    as jti None, and PyJWT lets a token without `exp` live for ever; they are refused here,
    after the signature is verified, as INVALID_TOKEN.
    """

    # Every decode (the request's check, decode_token) goes through this method; no public
    # callback sees the claims before flask-jwt-extended (pinned: 4.7) fills in its defaults.
    def _decode_jwt_from_config(self, encoded_token: str, csrf_value: Any = None, allow_expired: bool = False) -> dict:
        claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        _check_required_claims(encoded_token)
        return claims


def unverified_claims(encoded_token: str) -> dict[str, Any]:
    """Return a token's payload as sent, unchecked; raise ValueError if it is none."""
    try:
        segment = encoded_token.split(".")[1]
        payload = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (IndexError, ValueError):
        raise ValueError("not a JWT") from None
    if not isinstance(payload, dict):
        raise ValueError("not a JWT")
    return payload


def _check_required_claims(encoded_token: str) -> None:
    signed = unverified_claims(encoded_token)  # verified by now; flask-jwt-extended's copy has defaults filled in
    for name in REQUIRED_CLAIMS:
        if name not in signed:
            raise MissingRequiredClaimError(name)
    if signed["type"] not in ("access", "refresh"):
        raise InvalidTokenError("Unknown token type")
    if not isinstance(signed["jti"], str) or not signed["jti"]:
        raise InvalidTokenError("Invalid jti")
    if "fam" in signed and not isinstance(signed["fam"], str):
        raise InvalidTokenError("Invalid fam")
