"""token_claims: a token signed with our key is still refused if a claim the checks rely on is missing."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt as pyjwt
import pytest
from flask_jwt_extended import decode_token
from jwt import InvalidTokenError, MissingRequiredClaimError

from token_claims import unverified_claims


def signed(app: Any, **changes: Any) -> str:
    """Return a token signed with the app's key: a valid access token, with `changes` (None removes a claim)."""
    now = int(time.time())
    claims = {"sub": "user-1", "jti": str(uuid.uuid4()), "type": "access", "iat": now, "nbf": now, "exp": now + 60,
              "iss": app.config["JWT_ISSUER"], "aud": app.config["JWT_AUDIENCE"]}
    claims.update(changes)
    return pyjwt.encode({k: v for k, v in claims.items() if v is not None}, app.config["JWT_SECRET_KEY"], "HS256")


def test_a_complete_token_decodes_as_signed(app: Any) -> None:
    token = signed(app, fam="family-1")
    with app.app_context():
        assert decode_token(token) == {**unverified_claims(token), "fresh": False}


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"exp": None}, MissingRequiredClaimError, 'Token is missing the "exp" claim'),
        ({"jti": None}, MissingRequiredClaimError, 'Token is missing the "jti" claim'),
        ({"type": None}, MissingRequiredClaimError, 'Token is missing the "type" claim'),
        ({"type": "id"}, InvalidTokenError, "Unknown token type"),
        ({"jti": 7}, InvalidTokenError, "JWT ID must be a string"),  # PyJWT's own check
        ({"jti": ""}, InvalidTokenError, "Invalid jti"),
        ({"fam": ["a"]}, InvalidTokenError, "Invalid fam"),
        ({"iss": None}, MissingRequiredClaimError, 'Token is missing the "iss" claim'),  # PyJWT's, as is aud
        ({"aud": None}, MissingRequiredClaimError, 'Token is missing the "aud" claim'),
    ],
    ids=["no-exp", "no-jti", "no-type", "unknown-type", "numeric-jti", "empty-jti", "list-family", "no-iss", "no-aud"],
)
def test_a_token_missing_a_claim_is_refused(app: Any, changes: dict[str, Any], error: type, message: str) -> None:
    with app.app_context(), pytest.raises(error) as raised:
        decode_token(signed(app, **changes))
    assert str(raised.value) == message


def test_the_signature_is_checked_before_the_claims(app: Any) -> None:
    """A forged token is refused for its signature, whatever claims it lacks."""
    forged = pyjwt.encode({"sub": "user-1"}, "s" * 48, "HS256")
    with app.app_context(), pytest.raises(pyjwt.InvalidSignatureError):
        decode_token(forged)


@pytest.mark.parametrize("token", ["", "garbage", "a.b", "a.bm90IGpzb24.c", "a.WzFd.c"], ids=[
    "empty", "one-part", "bad-base64", "not-json", "json-list"])
def test_unverified_claims_refuses_what_is_no_jwt(token: str) -> None:
    with pytest.raises(ValueError, match="not a JWT"):
        unverified_claims(token)


def test_a_good_token_is_loaded_once_and_a_refused_one_as_flask_jwt_extended_refuses_it(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One PyJWT decode per good token (flask-jwt-extended alone makes two); an expired one still carries its
    header and claims for flask-jwt-extended's expired-token callback."""
    import jwt

    decodes: list[bool] = []
    real = jwt.decode

    def counting(*args: Any, **kwargs: Any) -> Any:
        decodes.append(kwargs.get("options", {}).get("verify_signature", True))
        return real(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    with app.app_context():
        decode_token(signed(app))
        assert decodes == [True]
        expired = signed(app, exp=int(time.time()) - 60)
        with pytest.raises(jwt.ExpiredSignatureError) as raised:
            decode_token(expired)
    assert (raised.value.jwt_header, raised.value.jwt_data) == (  # type: ignore[attr-defined]
        {"alg": "HS256", "typ": "JWT"}, {**unverified_claims(expired), "fresh": False}
    )


# A token that passed is remembered: presented again, only its expiry is checked again.


def counted_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import jwt

    decodes: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        decodes.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return decodes


def test_a_token_presented_again_is_not_verified_again(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    decodes = counted_decodes(monkeypatch)
    token = signed(app, fam="family-1")
    with app.app_context():
        first, second = decode_token(token), decode_token(token)
        second["sub"] = "someone-else"  # each caller gets its own copy
        third = decode_token(token)
    assert decodes == [token]
    assert first == third == {**unverified_claims(token), "fresh": False}


def test_a_remembered_token_still_expires(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import token_claims

    token = signed(app, exp=int(time.time()) + 30)
    with app.app_context():
        decode_token(token)
        later = time.time() + 31
        monkeypatch.setattr(token_claims.time, "time", lambda: later)
        monkeypatch.setattr(pyjwt.api_jwt, "datetime", _FrozenDatetime(later))
        with pytest.raises(pyjwt.ExpiredSignatureError):
            decode_token(token)


class _FrozenDatetime:
    """PyJWT's clock (datetime.now), at `at`."""

    def __init__(self, at: float) -> None:
        import datetime

        self._now = datetime.datetime.fromtimestamp(at, tz=datetime.UTC)

    def now(self, tz: Any = None) -> Any:
        return self._now


@pytest.mark.parametrize(
    "changes",
    [{"exp": -60}, {"aud": "someone-else"}, {"jti": None}, {"signature": "forged"}],
    ids=["expired", "other-audience", "no-jti", "forged"],
)
def test_a_refused_token_is_not_remembered(app: Any, changes: dict[str, Any]) -> None:
    token = signed(app)
    if "exp" in changes:
        token = signed(app, exp=int(time.time()) + changes["exp"])
    elif "signature" in changes:
        token = pyjwt.encode(unverified_claims(token), "f" * 48, "HS256")
    else:
        token = signed(app, **changes)
    with app.app_context(), pytest.raises(pyjwt.PyJWTError):
        decode_token(token)
    assert app.extensions["verified_tokens"]._tokens == {}


def test_cookie_tokens_and_expired_tokens_asked_for_are_verified_each_time(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cookie's token is checked against its CSRF value, and allow_expired asks for more than the plain check."""
    decodes = counted_decodes(monkeypatch)
    token = signed(app, csrf="c" * 32)
    with app.app_context():
        for _ in range(2):
            decode_token(token, csrf_value="c" * 32)
            decode_token(token, allow_expired=True)
    assert decodes == [token] * 4
    assert app.extensions["verified_tokens"]._tokens == {}


def test_the_remembered_tokens_are_bounded_oldest_first(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from token_claims import VerifiedTokens

    app.extensions["verified_tokens"] = VerifiedTokens(2)
    tokens = [signed(app) for _ in range(3)]
    decodes = counted_decodes(monkeypatch)
    with app.app_context():
        for token in [*tokens, tokens[2], tokens[0]]:
            decode_token(token)
    assert decodes == [*tokens, tokens[0]]  # the first was forgotten when the third came


def test_each_app_remembers_its_own_tokens(app: Any, settings: dict[str, Any]) -> None:
    """A token verified by one app (one key) is not taken by another app with another key."""
    from app import create_app

    other = create_app({**settings, "JWT_SECRET_KEY": "o" * 48})
    token = signed(app)
    with app.app_context():
        decode_token(token)
    with other.app_context(), pytest.raises(pyjwt.InvalidSignatureError):
        decode_token(token)


# Presented again, a remembered access token skips flask-jwt-extended's search and decode
# (verify_remembered_bearer): what comes out must be what its full check gives.

VIEWER = "{ viewer { email } }"


def _expire_later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    import token_claims

    later = time.time() + seconds
    monkeypatch.setattr(token_claims.time, "time", lambda: later)
    monkeypatch.setattr(pyjwt.api_jwt, "datetime", _FrozenDatetime(later))


def _bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _answer(response: Any) -> tuple[int, Any, str | None]:
    return response.status_code, response.get_json(), response.headers.get("WWW-Authenticate")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda client, tokens, user, mp: client.post("/logout", headers=_bearer(tokens)), "TOKEN_REVOKED"),
        (lambda client, tokens, user, mp: client.post("/logout-all", headers=_bearer(tokens)), "TOKEN_REVOKED"),
        (lambda client, tokens, user, mp: user.delete(), "TOKEN_REVOKED"),
        (lambda client, tokens, user, mp: _expire_later(mp, 16 * 60), "TOKEN_EXPIRED"),
    ],
    ids=["logged-out", "logged-out-everywhere", "user-deleted", "expired"],
)
def test_a_remembered_token_that_no_longer_counts_is_refused_as_in_full(
    client: Any, app: Any, auth: Any, monkeypatch: pytest.MonkeyPatch, change: Any, code: str
) -> None:
    from models import User

    tokens = auth.signup()
    access = tokens["access_token"]
    assert auth.graphql(VIEWER, access).status_code == 200  # now remembered
    change(client, tokens, User.get(unverified_claims(access)["sub"]), monkeypatch)
    assert access in app.extensions["verified_tokens"]._tokens or code == "TOKEN_EXPIRED"
    remembered = _answer(auth.graphql(VIEWER, access))
    app.extensions["verified_tokens"]._tokens.clear()
    in_full = _answer(auth.graphql(VIEWER, access))
    assert remembered == in_full
    assert (remembered[0], remembered[1]["errors"][0]["extensions"]["code"]) == (401, code)


def test_a_remembered_refresh_token_is_no_access_token(client: Any, app: Any, auth: Any) -> None:
    refresh = auth.signup()["refresh_token"]
    assert client.post("/refresh", headers={"Authorization": f"Bearer {refresh}"}).status_code == 200
    assert refresh in app.extensions["verified_tokens"]._tokens
    remembered = _answer(auth.graphql(VIEWER, refresh))
    app.extensions["verified_tokens"]._tokens.clear()
    assert remembered == _answer(auth.graphql(VIEWER, refresh))
    assert (remembered[0], remembered[1]["errors"][0]["extensions"]["code"]) == (401, "INVALID_TOKEN")


@pytest.mark.parametrize(
    ("authorization", "plain"),
    [
        ("Bearer {token}", True),
        ("JWT {token}", True),  # auth.AuthorizationSchemes makes it `Bearer <token>`
        ("bearer   {token}", True),  # and this
        ("Bearer {token}, Basic eDp5", False),
        ("Basic eDp5, Bearer {token}", False),
    ],
    ids=["bearer", "jwt-scheme", "lowercase-spaces", "then-basic", "after-basic"],
)
def test_a_remembered_token_is_read_from_any_header_form_flask_jwt_extended_reads(
    client: Any, auth: Any, monkeypatch: pytest.MonkeyPatch, authorization: str, plain: bool
) -> None:
    """The plain form skips flask-jwt-extended's check; any other is left to it, with the same answer."""
    import auth as auth_module

    token = auth.token()
    header = {"Authorization": authorization.format(token=token)}
    first = _answer(client.post("/graphql", json={"query": VIEWER}, headers=header))
    decodes, full_checks = counted_decodes(monkeypatch), []
    real = auth_module.verify_jwt_in_request
    monkeypatch.setattr(auth_module, "verify_jwt_in_request", lambda **kw: full_checks.append(kw) or real(**kw))
    again = _answer(client.post("/graphql", json={"query": VIEWER}, headers=header))
    assert first == again == (200, {"data": {"viewer": {"email": "ada@example.com"}}}, None)
    assert decodes == []  # remembered: no PyJWT decode either way
    assert full_checks == ([] if plain else [{"optional": False}])
