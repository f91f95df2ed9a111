"""Auth endpoints and token checks: /signup, /login, /refresh, /logout and the /graphql edge."""

from __future__ import annotations

import base64
import json
import time
import uuid
import warnings
from typing import Any

import jwt as pyjwt
import pytest
from support import PASSWORD, Auth, Clock
from werkzeug.security import generate_password_hash

import passwords
from models import RefreshFamily, RevokedToken, User
from passwords import PasswordHash

VIEWER = "{ viewer { email } }"


def claims_of(token: str) -> dict[str, Any]:
    return pyjwt.decode(token, options={"verify_signature": False})


def forge(
    app: Any, secret: str | None = None, algorithm: str = "HS256", without: tuple[str, ...] = (), **claims: Any
) -> str:
    """Return a token signed like ours unless told otherwise; `without` names claims to leave out."""
    now = int(time.time())
    payload = {"jti": str(uuid.uuid4()), "type": "access", "fresh": False, "iat": now, "nbf": now,
               "exp": now + 600, "ver": 0, "iss": app.config["JWT_ISSUER"],
               "aud": app.config["JWT_AUDIENCE"], **claims}
    payload = {name: value for name, value in payload.items() if name not in without}
    with warnings.catch_warnings():  # PyJWT warns that our 47-byte test key is short for HS512
        warnings.simplefilter("ignore")
        return pyjwt.encode(payload, secret or app.config["JWT_SECRET_KEY"], algorithm=algorithm)


def unsigned(claims: dict[str, Any]) -> str:
    """Return an `alg: none` token: no signature at all."""
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


# /signup


def test_signup_creates_the_user_and_returns_tokens(client: Any, app: Any) -> None:
    response = client.post(
        "/signup",
        json={"email": " Ada@Example.com", "password": PASSWORD, "firstName": " Ada ", "lastName": "Lovelace"},
    )
    assert response.status_code == 201
    body = response.get_json()
    user = User.find_by_email("ada@example.com")
    assert body["user"] == {
        "id": base64.b64encode(f"User:{user.id}".encode()).decode(),
        "email": "ada@example.com",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "createdAt": user.created_at.isoformat(),
    }
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 900)
    assert claims_of(body["access_token"])["sub"] == user.id
    assert claims_of(body["refresh_token"])["type"] == "refresh"
    assert "password" not in json.dumps(body)


def test_signup_names_are_optional(client: Any) -> None:
    response = client.post("/signup", json={"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 201
    assert (response.get_json()["user"]["firstName"], response.get_json()["user"]["lastName"]) == ("", "")


VALID_SIGNUP = {"email": "ada@example.com", "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace"}


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({**VALID_SIGNUP, "email": None}, 400, "VALIDATION_FAILED", "email"),
        ({k: v for k, v in VALID_SIGNUP.items() if k != "email"}, 400, "VALIDATION_FAILED", "email"),
        ({**VALID_SIGNUP, "email": 42}, 400, "VALIDATION_FAILED", "email"),
        ({**VALID_SIGNUP, "email": "not-an-email"}, 400, "VALIDATION_FAILED", "email"),
        ({**VALID_SIGNUP, "email": ["ada@example.com"]}, 400, "VALIDATION_FAILED", "email"),
        ({k: v for k, v in VALID_SIGNUP.items() if k != "password"}, 400, "VALIDATION_FAILED", "password"),
        ({**VALID_SIGNUP, "password": "short"}, 400, "VALIDATION_FAILED", "password"),
        ({**VALID_SIGNUP, "password": "x" * 1025}, 400, "VALIDATION_FAILED", "password"),
        ({**VALID_SIGNUP, "password": 12345678}, 400, "VALIDATION_FAILED", "password"),
        ({**VALID_SIGNUP, "firstName": 7}, 400, "VALIDATION_FAILED", "firstName"),
        ({**VALID_SIGNUP, "lastName": "x" * 101}, 400, "VALIDATION_FAILED", "lastName"),
        ({**VALID_SIGNUP, "email": "ada\u0000@example.com"}, 400, "VALIDATION_FAILED", "email"),
        ({**VALID_SIGNUP, "email": "ada\u0085@example.com"}, 400, "VALIDATION_FAILED", "email"),
        ({**VALID_SIGNUP, "firstName": "Ada\u0000"}, 400, "VALIDATION_FAILED", "firstName"),
        ({**VALID_SIGNUP, "firstName": "Ada\nLovelace"}, 400, "VALIDATION_FAILED", "firstName"),
        ({**VALID_SIGNUP, "lastName": "Love\u001blace"}, 400, "VALIDATION_FAILED", "lastName"),
        ({**VALID_SIGNUP, "lastName": "Love\u007flace"}, 400, "VALIDATION_FAILED", "lastName"),
    ],
    ids=[
        "email-null", "email-missing", "email-number", "email-invalid", "email-list", "password-missing",
        "password-short", "password-long", "password-number", "firstName-number", "lastName-long",
        "email-nul", "email-c1-control", "firstName-nul", "firstName-newline",
        "lastName-escape", "lastName-delete",
    ],
)
def test_signup_refuses_bad_fields_and_writes_nothing(
    client: Any, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    response = client.post("/signup", json=body)
    assert (response.status_code, response.get_json()["code"], response.get_json()["field"]) == (status, code, field)
    assert list(User.scan()) == []


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        ('{"email": ', "application/json", 400, "MALFORMED_JSON"),
        ("", "application/json", 400, "MALFORMED_JSON"),
        ("[1, 2]", "application/json", 400, "VALIDATION_FAILED"),
        ('"text"', "application/json", 400, "VALIDATION_FAILED"),
        (json.dumps(VALID_SIGNUP), "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
        ("email=ada@example.com", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (json.dumps({**VALID_SIGNUP, "firstName": "x" * 70_000}), "application/json", 413, "PAYLOAD_TOO_LARGE"),
    ],
    ids=["truncated", "empty", "array", "string", "text-plain", "form", "oversized"],
)
def test_signup_refuses_bad_bodies(client: Any, data: str, content_type: str, status: int, code: str) -> None:
    response = client.post("/signup", data=data, content_type=content_type)
    assert response.status_code == status
    assert response.get_json()["code"] == code
    assert list(User.scan()) == []


def test_signup_keeps_names_with_any_printable_character(client: Any) -> None:
    """Only control characters are refused: accents, scripts, emoji and inner spaces are names like any other."""
    names = {"firstName": "Zoë Ana-María", "lastName": "Łukasiewicz 王 🙂"}
    response = client.post("/signup", json={**VALID_SIGNUP, **names})
    assert response.status_code == 201
    user = response.get_json()["user"]
    assert (user["firstName"], user["lastName"]) == (names["firstName"], names["lastName"])


def test_signup_with_a_taken_email_conflicts(client: Any, auth: Auth) -> None:
    auth.signup("ada@example.com")
    response = client.post("/signup", json={**VALID_SIGNUP, "email": "ADA@example.com"})
    assert (response.status_code, response.get_json()) == (
        409,
        {"code": "EMAIL_TAKEN", "message": "A user with email ada@example.com already exists."},
    )


# /login


def test_login_returns_tokens_the_original_client_reads(client: Any, auth: Auth) -> None:
    user_id = claims_of(auth.token())["sub"]
    response = client.post("/login", json={"email": "ADA@example.com ", "password": PASSWORD})
    body = response.get_json()
    assert (response.status_code, sorted(body)) == (
        200,
        ["access_token", "expires_in", "refresh_token", "token_type"],
    )
    access, refresh = claims_of(body["access_token"]), claims_of(body["refresh_token"])
    assert (access["sub"], access["type"], access["exp"] - access["iat"]) == (user_id, "access", 15 * 60)
    assert (refresh["sub"], refresh["type"], refresh["exp"] - refresh["iat"]) == (user_id, "refresh", 30 * 86400)
    assert [(claims["iss"], claims["aud"]) for claims in (access, refresh)] == [("relay-api", "relay-api")] * 2


def test_wrong_email_and_wrong_password_get_the_same_answer(client: Any, auth: Auth, monkeypatch: Any) -> None:
    """Both fail alike, and an unknown email still costs one argon2 verification (the dummy hash)."""
    auth.signup()
    verifications: list[str] = []
    real_verify = passwords._verify_argon2
    monkeypatch.setattr(passwords, "_verify_argon2", lambda h, p: verifications.append(h) or real_verify(h, p))
    wrong_password = client.post("/login", json={"email": "ada@example.com", "password": "wrong password"})
    wrong_email = client.post("/login", json={"email": "nobody@example.com", "password": PASSWORD})
    expected = {"code": "INVALID_CREDENTIALS", "message": "The email or password is incorrect."}
    assert (wrong_password.status_code, wrong_password.get_json()) == (401, expected)
    assert (wrong_email.status_code, wrong_email.get_json()) == (401, expected)
    assert len(verifications) == 2 and verifications[1] == passwords._dummy_hash()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"password": PASSWORD}, 400, "VALIDATION_FAILED"),
        ({"email": "ada@example.com"}, 400, "VALIDATION_FAILED"),
        ({"email": 1, "password": PASSWORD}, 400, "VALIDATION_FAILED"),
        ({"email": "ada@example.com", "password": None}, 400, "VALIDATION_FAILED"),
        ({"email": "ada@example.com", "password": "x" * 1025}, 400, "VALIDATION_FAILED"),
        ({"email": "not an email", "password": PASSWORD}, 401, "INVALID_CREDENTIALS"),
    ],
)
def test_login_refuses_bad_input(client: Any, auth: Auth, body: dict[str, Any], status: int, code: str) -> None:
    auth.signup()
    response = client.post("/login", json=body)
    assert (response.status_code, response.get_json()["code"]) == (status, code)


@pytest.mark.parametrize("method", ["pbkdf2:sha256", "scrypt"])
def test_login_upgrades_a_werkzeug_hash_to_argon2id(client: Any, app: Any, clock: Clock, method: str) -> None:
    user = User(email="ada@example.com", password=PasswordHash(generate_password_hash(PASSWORD, method=method)))
    user.save()
    assert client.post("/login", json={"email": "ada@example.com", "password": "wrong password"}).status_code == 401
    assert User.get(user.id).password.startswith(method.split(":")[0])  # a failed login changes nothing
    clock.advance(2)  # past the delay after one failed password
    assert client.post("/login", json={"email": "ada@example.com", "password": PASSWORD}).status_code == 200
    upgraded = User.get(user.id).password
    assert upgraded.startswith("$argon2id$") and passwords.verify_password(upgraded, PASSWORD)


def test_login_rehashes_when_argon2_parameters_change(client: Any, auth: Auth) -> None:
    auth.signup()
    old_hash = User.find_by_email("ada@example.com").password
    passwords.configure(time_cost=2, memory_cost=1024, parallelism=1)
    try:
        assert client.post("/login", json={"email": "ada@example.com", "password": PASSWORD}).status_code == 200
    finally:
        passwords.configure(time_cost=1, memory_cost=1024, parallelism=1)
    new_hash = User.find_by_email("ada@example.com").password
    assert new_hash != old_hash and "t=2" in new_hash


# The /graphql edge


def test_graphql_accepts_bearer_and_jwt_schemes(client: Any, auth: Auth) -> None:
    token = auth.token()
    for scheme in ("Bearer", "JWT", "bearer", "jwt"):
        response = client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"{scheme} {token}"})
        assert (response.status_code, response.get_json()) == (200, {"data": {"viewer": {"email": "ada@example.com"}}})


def test_an_authenticated_request_reads_its_token_state_in_one_round_trip(auth: Auth, dynamodb: Any) -> None:
    """The user and the revocation check travel in one BatchGetItem: `viewer` costs one DynamoDB call."""
    token = auth.token()
    dynamodb.operations.clear()
    assert auth.graphql(VIEWER, token).get_json() == {"data": {"viewer": {"email": "ada@example.com"}}}
    assert dynamodb.operations == ["BatchGetItem"]


def test_graphql_without_a_token_is_401_with_a_challenge(client: Any) -> None:
    response = client.post("/graphql", json={"query": VIEWER})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.get_json() == {
        "errors": [{"message": "Missing Authorization Header.", "extensions": {"code": "UNAUTHENTICATED"}}]
    }


def _bad_tokens(app: Any, auth: Auth) -> dict[str, tuple[str, str]]:
    """Return name -> (Authorization header, expected code)."""
    signup = auth.signup()
    user_id, good = claims_of(signup["access_token"])["sub"], signup["access_token"]
    header, payload, signature = good.split(".")
    tampered_payload = base64.urlsafe_b64encode(
        json.dumps({**claims_of(good), "sub": str(uuid.uuid4())}).encode()
    ).rstrip(b"=").decode()
    now = int(time.time())
    return {
        "garbage": ("Bearer not-a-token", "INVALID_TOKEN"),
        "other-scheme": (f"Basic {good}", "UNAUTHENTICATED"),
        "no-token": ("Bearer", "INVALID_TOKEN"),
        "tampered-payload": (f"Bearer {header}.{tampered_payload}.{signature}", "INVALID_TOKEN"),
        "tampered-signature": (f"Bearer {header}.{payload}.{signature[::-1]}", "INVALID_TOKEN"),
        "other-secret": (f"Bearer {forge(app, secret='s' * 48, sub=user_id)}", "INVALID_TOKEN"),
        "alg-none": (f"Bearer {unsigned({**claims_of(good)})}", "INVALID_TOKEN"),
        "hs512": (f"Bearer {forge(app, algorithm='HS512', sub=user_id)}", "INVALID_TOKEN"),
        "expired": (f"Bearer {forge(app, sub=user_id, iat=now - 1000, nbf=now - 1000, exp=now - 10)}", "TOKEN_EXPIRED"),
        "refresh-as-access": (f"Bearer {signup['refresh_token']}", "INVALID_TOKEN"),
        "unknown-user": (f"Bearer {forge(app, sub=str(uuid.uuid4()))}", "TOKEN_REVOKED"),
        "old-token-version": (f"Bearer {forge(app, sub=user_id, ver=-1)}", "TOKEN_REVOKED"),
        "no-subject": (f"Bearer {forge(app, without=('sub',))}", "INVALID_TOKEN"),
        "no-expiry": (f"Bearer {forge(app, sub=user_id, without=('exp',))}", "INVALID_TOKEN"),
        "no-jti": (f"Bearer {forge(app, sub=user_id, without=('jti',))}", "INVALID_TOKEN"),
        "no-type": (f"Bearer {forge(app, sub=user_id, without=('type',))}", "INVALID_TOKEN"),
        "unknown-type": (f"Bearer {forge(app, sub=user_id, type='id')}", "INVALID_TOKEN"),
        "numeric-jti": (f"Bearer {forge(app, sub=user_id, jti=42)}", "INVALID_TOKEN"),
        "empty-jti": (f"Bearer {forge(app, sub=user_id, jti='')}", "INVALID_TOKEN"),
        "numeric-family": (f"Bearer {forge(app, sub=user_id, fam=7)}", "INVALID_TOKEN"),
        "ended-family": (f"Bearer {forge(app, sub=user_id, fam=str(uuid.uuid4()))}", "TOKEN_REVOKED"),
        "no-issuer": (f"Bearer {forge(app, sub=user_id, without=('iss',))}", "INVALID_TOKEN"),
        "other-issuer": (f"Bearer {forge(app, sub=user_id, iss='someone-else')}", "INVALID_TOKEN"),
        "no-audience": (f"Bearer {forge(app, sub=user_id, without=('aud',))}", "INVALID_TOKEN"),
        "other-audience": (f"Bearer {forge(app, sub=user_id, aud='another-api')}", "INVALID_TOKEN"),
    }


BAD_TOKEN_NAMES = [
    "garbage", "other-scheme", "no-token", "tampered-payload", "tampered-signature", "other-secret", "alg-none",
    "hs512", "expired", "refresh-as-access", "unknown-user", "old-token-version", "no-subject", "no-expiry",
    "no-jti", "no-type", "unknown-type", "numeric-jti", "empty-jti", "numeric-family", "ended-family",
    "no-issuer", "other-issuer", "no-audience", "other-audience",
]


@pytest.mark.parametrize("name", BAD_TOKEN_NAMES)
def test_graphql_refuses_bad_tokens(client: Any, app: Any, auth: Auth, name: str) -> None:
    authorization, code = _bad_tokens(app, auth)[name]
    response = client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.get_json()["errors"][0]["extensions"] == {"code": code}
    assert "data" not in response.get_json()
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="api"')


# /refresh


@pytest.mark.parametrize("sent_in", ["header", "body"])
def test_refresh_with_a_refresh_token_returns_a_new_working_pair(client: Any, auth: Auth, sent_in: str) -> None:
    refresh_token = auth.signup()["refresh_token"]
    if sent_in == "header":
        response = client.post("/refresh", headers={"Authorization": f"Bearer {refresh_token}"})
    else:
        response = client.post("/refresh", json={"refresh_token": refresh_token})
    body = response.get_json()
    assert (response.status_code, sorted(body)) == (200, ["access_token", "expires_in", "refresh_token", "token_type"])
    old, new = claims_of(refresh_token), claims_of(body["refresh_token"])
    assert (new["type"], new["sub"], new["fam"], new["gen"]) == ("refresh", old["sub"], old["fam"], old["gen"] + 1)
    viewer = auth.graphql(VIEWER, body["access_token"]).get_json()
    assert viewer == {"data": {"viewer": {"email": "ada@example.com"}}}


@pytest.mark.parametrize("claim", ["exp", "jti", "type", "sub", "fam"])
def test_refresh_refuses_a_refresh_token_missing_a_claim(client: Any, app: Any, auth: Auth, claim: str) -> None:
    """Signed with our secret but without a claim the checks need: 401, never a 500, and nothing issued."""
    refresh_claims = claims_of(auth.signup()["refresh_token"])
    token = forge(app, without=(claim,), **{**refresh_claims, "jti": str(uuid.uuid4())})
    response = client.post("/refresh", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.get_json()["code"]) == (401, "INVALID_TOKEN")


def test_refresh_refuses_an_access_token(client: Any, auth: Auth) -> None:
    response = client.post("/refresh", headers={"Authorization": f"Bearer {auth.token()}"})
    assert (response.status_code, response.get_json()["code"]) == (401, "INVALID_TOKEN")


def test_refresh_without_a_token_is_401(client: Any) -> None:
    response = client.post("/refresh")
    assert (response.status_code, response.get_json()["code"]) == (401, "UNAUTHENTICATED")


# /logout


def test_logout_revokes_the_presented_token(client: Any, auth: Auth) -> None:
    signup = auth.signup()
    access = signup["access_token"]
    response = client.post("/logout", headers={"Authorization": f"Bearer {access}"})
    assert (response.status_code, response.get_json()) == (200, {"revoked": ["access"]})
    again = auth.graphql(VIEWER, access)
    assert (again.status_code, again.get_json()["errors"][0]["extensions"]["code"]) == (401, "TOKEN_REVOKED")
    revoked = RevokedToken.get(claims_of(access)["jti"])
    assert int(revoked.expires_at.timestamp()) == claims_of(access)["exp"]  # DynamoDB's TTL drops it then
    # The refresh token was not presented, so it still works.
    assert client.post("/refresh", headers={"Authorization": f"Bearer {signup['refresh_token']}"}).status_code == 200


def test_logout_also_revokes_a_refresh_token_sent_in_the_body(client: Any, auth: Auth) -> None:
    signup = auth.signup()
    response = client.post(
        "/logout",
        json={"refresh_token": signup["refresh_token"]},
        headers={"Authorization": f"Bearer {signup['access_token']}"},
    )
    assert (response.status_code, response.get_json()) == (200, {"revoked": ["access", "refresh"]})
    refreshed = client.post("/refresh", headers={"Authorization": f"Bearer {signup['refresh_token']}"})
    assert (refreshed.status_code, refreshed.get_json()["code"]) == (401, "TOKEN_REVOKED")


@pytest.mark.parametrize("refresh_token", ["garbage", 42, "someone-else"])
def test_logout_refuses_a_bad_refresh_token_and_revokes_nothing(client: Any, auth: Auth, refresh_token: Any) -> None:
    access = auth.signup()["access_token"]
    if refresh_token == "someone-else":
        refresh_token = auth.signup("grace@example.com")["refresh_token"]
    headers = {"Authorization": f"Bearer {access}"}
    response = client.post("/logout", json={"refresh_token": refresh_token}, headers=headers)
    assert (response.status_code, response.get_json()["code"]) == (400, "VALIDATION_FAILED")
    assert list(RevokedToken.scan()) == []


def test_logout_without_a_token_is_401(client: Any) -> None:
    assert client.post("/logout").status_code == 401


# Configuration of tokens


def test_token_lifetimes_are_configurable(settings: dict[str, Any], _tables: None) -> None:
    from app import create_app

    client = create_app({**settings, "ACCESS_TOKEN_EXPIRES": 60, "REFRESH_TOKEN_EXPIRES": 3600}).test_client()
    body = client.post("/signup", json={"email": "lifetimes@example.com", "password": PASSWORD}).get_json()
    access, refresh = claims_of(body["access_token"]), claims_of(body["refresh_token"])
    assert (body["expires_in"], access["exp"] - access["iat"], refresh["exp"] - refresh["iat"]) == (60, 60, 3600)
    User.find_by_email("lifetimes@example.com").delete()


# Cookie mode


@pytest.fixture
def cookie_client(settings: dict[str, Any], _tables: None) -> Any:
    from support import clear_tables

    from app import create_app

    clear_tables()
    return create_app({**settings, "AUTH_COOKIES": True}).test_client()


def test_cookie_mode_sets_httponly_cookies_and_keeps_tokens_out_of_the_body(cookie_client: Any) -> None:
    response = cookie_client.post("/signup", json=VALID_SIGNUP)
    assert response.status_code == 201
    assert "access_token" not in response.get_json() and "refresh_token" not in response.get_json()
    cookies = {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}
    assert sorted(cookies) == ["access_token_cookie", "csrf_access_token", "csrf_refresh_token", "refresh_token_cookie"]
    assert "HttpOnly" in cookies["access_token_cookie"] and "HttpOnly" not in cookies["csrf_access_token"]


def test_cookie_mode_requires_the_csrf_double_submit(cookie_client: Any) -> None:
    cookie_client.post("/signup", json=VALID_SIGNUP)
    without_csrf = cookie_client.post("/graphql", json={"query": VIEWER})
    code = without_csrf.get_json()["errors"][0]["extensions"]["code"]
    assert (without_csrf.status_code, code) == (403, "CSRF_FAILED")
    csrf = cookie_client.get_cookie("csrf_access_token").value
    with_csrf = cookie_client.post("/graphql", json={"query": VIEWER}, headers={"X-CSRF-TOKEN": csrf})
    assert (with_csrf.status_code, with_csrf.get_json()) == (200, {"data": {"viewer": {"email": "ada@example.com"}}})


def test_cookie_mode_logout_clears_the_cookies(cookie_client: Any) -> None:
    cookie_client.post("/signup", json=VALID_SIGNUP)
    csrf = cookie_client.get_cookie("csrf_access_token").value
    response = cookie_client.post("/logout", headers={"X-CSRF-TOKEN": csrf})
    assert response.status_code == 200
    assert cookie_client.get_cookie("access_token_cookie") is None


def _replace_access_cookie(client: Any, seconds_left: int) -> dict[str, Any]:
    """Put back the access cookie's token, re-signed to expire in `seconds_left` (negative: expired)."""
    claims = claims_of(client.get_cookie("access_token_cookie").value)
    now = int(time.time())
    claims.update(iat=now - 900, nbf=now - 900, exp=now + seconds_left)
    client.set_cookie("access_token_cookie", forge(client.application, **claims))
    return claims


def _set_cookies(response: Any) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


@pytest.mark.parametrize("seconds_left", [-3600, -1, 30])
def test_cookie_mode_renews_an_access_cookie_near_or_past_expiry(cookie_client: Any, seconds_left: int) -> None:
    """GIVEN a valid refresh cookie and an access cookie about to expire, or expired
    THEN the request succeeds and answers with a new access cookie of the same session and CSRF value."""
    cookie_client.post("/signup", json=VALID_SIGNUP)
    csrf = cookie_client.get_cookie("csrf_access_token").value
    old = _replace_access_cookie(cookie_client, seconds_left)
    response = cookie_client.post("/graphql", json={"query": VIEWER}, headers={"X-CSRF-TOKEN": csrf})
    assert (response.status_code, response.get_json()) == (200, {"data": {"viewer": {"email": "ada@example.com"}}})
    assert "HttpOnly" in _set_cookies(response)["access_token_cookie"]
    new = claims_of(cookie_client.get_cookie("access_token_cookie").value)
    assert (new["sub"], new["fam"], new["csrf"], new["type"]) == (old["sub"], old["fam"], old["csrf"], "access")
    assert new["exp"] - time.time() > 800 and new["jti"] != old["jti"]
    assert cookie_client.get_cookie("csrf_access_token").value == csrf
    again = cookie_client.get("/graphql", query_string={"query": VIEWER})
    assert (again.status_code, _set_cookies(again)) == (200, {})  # the new cookie is far from expiry


def test_cookie_mode_leaves_an_access_cookie_far_from_expiry_alone(cookie_client: Any) -> None:
    cookie_client.post("/signup", json=VALID_SIGNUP)
    _replace_access_cookie(cookie_client, 600)
    response = cookie_client.get("/graphql", query_string={"query": VIEWER})
    assert (response.status_code, _set_cookies(response)) == (200, {})


@pytest.mark.parametrize("refresh_cookie", ["missing", "session-ended", "other-user", "garbage"])
def test_cookie_mode_renews_nothing_without_a_valid_refresh_cookie(cookie_client: Any, refresh_cookie: str) -> None:
    """The expired access cookie then gets its usual 401 TOKEN_EXPIRED, and no cookie is set."""
    cookie_client.post("/signup", json={**VALID_SIGNUP, "email": "grace@example.com"})
    other_refresh = cookie_client.get_cookie("refresh_token_cookie").value
    cookie_client.post("/signup", json=VALID_SIGNUP)
    if refresh_cookie == "missing":
        cookie_client.delete_cookie("refresh_token_cookie")
    elif refresh_cookie == "session-ended":
        RefreshFamily(claims_of(cookie_client.get_cookie("refresh_token_cookie").value)["fam"]).delete()
    elif refresh_cookie == "other-user":
        cookie_client.set_cookie("refresh_token_cookie", other_refresh)
    else:
        cookie_client.set_cookie("refresh_token_cookie", "not-a-token")
    _replace_access_cookie(cookie_client, -1)
    response = cookie_client.get("/graphql", query_string={"query": VIEWER})
    assert (response.status_code, response.get_json()["errors"][0]["extensions"]["code"]) == (401, "TOKEN_EXPIRED")
    assert _set_cookies(response) == {}


def test_cookie_mode_refresh_rotates_both_cookies_and_keeps_the_csrf_value(cookie_client: Any) -> None:
    cookie_client.post("/signup", json=VALID_SIGNUP)
    old_refresh = cookie_client.get_cookie("refresh_token_cookie").value
    csrf = cookie_client.get_cookie("csrf_access_token").value
    refresh_csrf = cookie_client.get_cookie("csrf_refresh_token").value
    response = cookie_client.post("/refresh", headers={"X-CSRF-TOKEN": refresh_csrf})
    assert response.status_code == 200
    assert sorted(_set_cookies(response)) == [
        "access_token_cookie", "csrf_access_token", "csrf_refresh_token", "refresh_token_cookie"
    ]
    assert claims_of(cookie_client.get_cookie("refresh_token_cookie").value)["gen"] == claims_of(old_refresh)["gen"] + 1
    assert cookie_client.get_cookie("csrf_access_token").value == csrf
    with_csrf = cookie_client.post("/graphql", json={"query": VIEWER}, headers={"X-CSRF-TOKEN": csrf})
    assert with_csrf.status_code == 200
