"""The claims every token must carry, checked once its signature is verified."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from typing import Any

from flask import Flask, current_app, g, request
from flask_jwt_extended import JWTManager
from flask_jwt_extended.config import config
from flask_jwt_extended.internal_utils import (
    custom_verification_for_token,
    verify_token_not_blocklisted,
    verify_token_type,
)
from flask_jwt_extended.tokens import _decode_jwt
from flask_jwt_extended.view_decorators import _load_user
from jwt import InvalidTokenError, MissingRequiredClaimError, PyJWTError, get_unverified_header

REQUIRED_CLAIMS = ("exp", "jti", "type", "sub")
VERIFIED_TOKENS = 1024  # per process: a client presents its access token on every request until it expires
_BEARER = re.compile(r"(\S+) ([\w.=-]+)")  # `<type> <token>`, the one form a header takes with nothing else in it


class ClaimCheckingJWTManager(JWTManager):
    """flask-jwt-extended's manager, refusing a token that lacks a claim the checks rely on.

    flask-jwt-extended reads a token without `type` as an access token and one without `jti`
    as jti None, and PyJWT lets a token without `exp` live for ever; they are refused here,
    after the signature is verified, as INVALID_TOKEN.

    It also loads a token once where flask-jwt-extended (pinned: 4.7) loads it twice: its
    unverified PyJWT decode only feeds the decode-key callback, which gets the same header
    and claims parsed plainly here, then `_decode_jwt` verifies the token as it would. Any
    refusal is left to flask-jwt-extended's own path, which raises it with what its error
    callbacks expect (an expired token's header and claims, say).

    A token that passed is remembered (VerifiedTokens): presented again, only its expiry is
    checked again, the one check whose answer changes with time. Revocation is not a property
    of the token: the caller checks it against the tables on every request.
    """

    def verify_remembered_bearer(self) -> bool:
        """Do what verify_jwt_in_request() does for an access token in the header, if it was verified before.

        That is: its type, the revocation and custom checks, the user lookup, in that order and
        with the same errors, and the same token, header, user and location left for
        get_jwt() and get_current_user(). Return False, having done nothing, for anything else
        (no header, a header in any other form, a token not remembered), which
        verify_jwt_in_request() then checks in full.
        """
        if "headers" not in config.token_location or request.method in config.exempt_methods:
            return False
        match = _BEARER.fullmatch(request.headers.get(config.header_name, ""))
        if match is None or match[1] != config.header_type:
            return False
        remembered = current_app.extensions["verified_tokens"].get(match[2], config.leeway)
        if remembered is None:
            return False
        header, claims = remembered
        verify_token_type(claims, refresh=False)
        verify_token_not_blocklisted(header, claims)
        custom_verification_for_token(header, claims)
        g._jwt_extended_jwt_user = _load_user(header, claims)
        g._jwt_extended_jwt_header = header
        g._jwt_extended_jwt = claims
        g._jwt_extended_jwt_location = "headers"
        return True

    def init_app(self, app: Flask, add_context_processor: bool = False) -> None:
        super().init_app(app, add_context_processor)
        app.extensions["verified_tokens"] = VerifiedTokens(VERIFIED_TOKENS)

    # Every decode (the request's check, decode_token) goes through this method; no public
    # callback sees the claims before flask-jwt-extended fills in its defaults.
    def _decode_jwt_from_config(self, encoded_token: str, csrf_value: Any = None, allow_expired: bool = False) -> dict:
        # A cookie's token is checked against its CSRF value each time, and an expired one may
        # be asked for on purpose: only the plain check is remembered.
        verified = current_app.extensions["verified_tokens"] if csrf_value is None and not allow_expired else None
        if verified is not None:
            remembered = verified.get(encoded_token, config.leeway)
            if remembered is not None:
                return remembered[1]
        claims = self._verify(encoded_token, csrf_value, allow_expired)
        if verified is not None:
            try:  # the header as flask-jwt-extended reads it next, checks included
                header = get_unverified_header(encoded_token)
            except PyJWTError:  # refused there, as before: not remembered
                return claims
            verified.put(encoded_token, header, claims)
        return claims

    def _verify(self, encoded_token: str, csrf_value: Any, allow_expired: bool) -> dict:
        try:
            signed = unverified_claims(encoded_token)
            claims = _decode_jwt(
                algorithms=config.decode_algorithms,
                allow_expired=allow_expired,
                audience=config.decode_audience,
                csrf_value=csrf_value,
                encoded_token=encoded_token,
                identity_claim_key=config.identity_claim_key,
                issuer=config.decode_issuer,
                leeway=config.leeway,
                secret=self._decode_key_callback(_unverified_segment(encoded_token, 0), signed),
                verify_aud=config.decode_audience is not None,
                verify_sub=config.verify_sub,
            )
        except Exception:  # refused: flask-jwt-extended's own path raises the refusal
            claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
            signed = unverified_claims(encoded_token)
        _check_required_claims(signed)
        return claims


class VerifiedTokens:
    """The header and claims of tokens that passed every check, by token; the oldest forgotten first.

    Only a token signed with the app's key gets in, so refused tokens cannot crowd out good
    ones. A token's claims are its own (the signature covers them): the one check to repeat
    is expiry, made as PyJWT makes it (`exp` must be later than now minus the leeway).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._tokens: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, encoded_token: str, leeway: float) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Return copies of the token's header and claims if it was verified and has not expired since."""
        remembered = self._tokens.get(encoded_token)
        if remembered is None:
            return None
        header, claims = remembered
        if int(claims["exp"]) <= time.time() - leeway:
            with self._lock:
                self._tokens.pop(encoded_token, None)
            return None
        return dict(header), dict(claims)

    def put(self, encoded_token: str, header: dict[str, Any], claims: dict[str, Any]) -> None:
        with self._lock:
            if len(self._tokens) >= self._size:
                del self._tokens[next(iter(self._tokens))]
            self._tokens[encoded_token] = (dict(header), dict(claims))


def unverified_claims(encoded_token: str) -> dict[str, Any]:
    """Return a token's payload as sent, unchecked; raise ValueError if it is none."""
    return _unverified_segment(encoded_token, 1)


def _unverified_segment(encoded_token: str, index: int) -> dict[str, Any]:
    """Return a token's header (0) or payload (1) as sent, unchecked; raise ValueError if it is none."""
    try:
        segment = encoded_token.split(".")[index]
        part = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (IndexError, ValueError):
        raise ValueError("not a JWT") from None
    if not isinstance(part, dict):
        raise ValueError("not a JWT")
    return part


def _check_required_claims(signed: dict[str, Any]) -> None:
    """Refuse a verified token's claims as signed (flask-jwt-extended's copy has defaults filled in)."""
    for name in REQUIRED_CLAIMS:
        if name not in signed:
            raise MissingRequiredClaimError(name)
    if signed["type"] not in ("access", "refresh"):
        raise InvalidTokenError("Unknown token type")
    if not isinstance(signed["jti"], str) or not signed["jti"]:
        raise InvalidTokenError("Invalid jti")
    if "fam" in signed and not isinstance(signed["fam"], str):
        raise InvalidTokenError("Invalid fam")
