"""Hasura Actions: Hasura's documented payloads in, AuthPayloads or Hasura-shaped errors out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt as pyjwt
import pytest
from hasura_support import Hasura, payload
from support import PASSWORD, Auth

import passwords
from hasura.actions import Session, action
from models import User

INVALID_CREDENTIALS = {"message": "The email or password is incorrect.", "extensions": {"code": "INVALID_CREDENTIALS"}}


@dataclass(frozen=True)
class Echo:
    text: str


@action("adminEcho", role="admin")
def admin_echo(args: Echo, session: Session) -> Echo:
    return Echo(f"{session.role}: {args.text}")


@action("broken")
def broken(session: Session) -> None:
    raise RuntimeError("the database password is hunter2")  # a fault whose message must not leak


def login_call(email: str = "ada@example.com", password: str = PASSWORD) -> dict[str, Any]:
    return payload("action_login", input={"email": email, "password": password})


def assert_auth_payload(body: dict[str, Any], user_id: str, app: Any) -> None:
    """The body is exactly an AuthPayload whose access token is ours, for `user_id`."""
    assert sorted(body) == ["accessToken", "expiresIn", "refreshToken", "userId"]
    assert (body["userId"], body["expiresIn"]) == (user_id, 900)
    secret = app.config["JWT_SECRET_KEY"]
    access = pyjwt.decode(body["accessToken"], secret, algorithms=["HS256"], audience="relay-api", issuer="relay-api")
    refresh = pyjwt.decode(body["refreshToken"], options={"verify_signature": False})
    assert (access["sub"], access["type"], refresh["sub"], refresh["type"]) == (user_id, "access", user_id, "refresh")


def user_id_of(auth: Auth, email: str = "ada@example.com") -> str:
    return pyjwt.decode(auth.signup(email)["access_token"], options={"verify_signature": False})["sub"]


# login


@pytest.mark.parametrize("path_name", [None, "login"])
def test_login_answers_an_auth_payload_whose_token_works(
    hasura: Hasura, auth: Auth, app: Any, path_name: str | None
) -> None:
    """Both endpoints: POST /hasura/actions (dispatch on action.name) and /hasura/actions/login."""
    user_id = user_id_of(auth)
    response = hasura.action(login_call(), name=path_name)
    assert response.status_code == 200
    body = response.get_json()
    assert_auth_payload(body, user_id, app)
    viewer = auth.graphql("{ viewer { email } }", body["accessToken"])
    assert viewer.get_json() == {"data": {"viewer": {"email": "ada@example.com"}}}


def test_login_answers_a_wrong_password_and_an_unknown_email_alike(
    hasura: Hasura, auth: Auth, monkeypatch: Any
) -> None:
    """Same status, same body, and one argon2 verification each (the dummy hash for the unknown email)."""
    auth.signup()
    verifications: list[str] = []
    real_verify = passwords._verify_argon2
    monkeypatch.setattr(passwords, "_verify_argon2", lambda h, p: verifications.append(h) or real_verify(h, p))
    wrong_password = hasura.action(login_call(password="wrong password"))
    wrong_email = hasura.action(login_call(email="nobody@example.com"))
    assert (wrong_password.status_code, wrong_password.get_json()) == (401, INVALID_CREDENTIALS)
    assert (wrong_email.status_code, wrong_email.get_json()) == (401, INVALID_CREDENTIALS)
    assert len(verifications) == 2 and verifications[1] == passwords._dummy_hash()


def test_login_goes_through_the_same_function_as_the_login_endpoint(
    hasura: Hasura, client: Any, auth: Auth, monkeypatch: Any
) -> None:
    """One shared check_credentials: what changes for /login (throttling, rehashing) changes for the action.

    Only the per-address limit is left out for Hasura: every user's login comes from its address.
    """
    import auth as auth_module

    auth.signup()
    calls: list[tuple[str, dict[str, Any]]] = []
    real = auth_module.check_credentials

    def spy(email: str, password: str, **options: Any) -> Any:
        calls.append((email, options))
        return real(email, password, **options)

    monkeypatch.setattr(auth_module, "check_credentials", spy)
    assert hasura.action(login_call()).status_code == 200
    assert client.post("/login", json={"email": "ada@example.com", "password": PASSWORD}).status_code == 200
    assert calls == [("ada@example.com", {"count_address": False}), ("ada@example.com", {})]


def test_a_failed_login_action_delays_the_account_like_login(hasura: Hasura, auth: Auth, clock: Any) -> None:
    """A wrong password through Hasura counts for the account: the right one at once is refused too."""
    auth.signup()
    wrong = hasura.action(login_call(password="wrong password!"))
    right = hasura.action(login_call())
    assert (wrong.status_code, wrong.get_json()) == (401, {
        "message": "The email or password is incorrect.", "extensions": {"code": "INVALID_CREDENTIALS"},
    })
    assert (right.status_code, right.headers["Retry-After"], right.get_json()["extensions"]) == (
        429, "1", {"code": "TOO_MANY_ATTEMPTS"}
    )
    clock.advance(1)
    assert hasura.action(login_call()).status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"input": {"password": PASSWORD}}, "input.email"),
        ({"input": {"email": "ada@example.com"}}, "input.password"),
        ({"input": {"email": 1, "password": PASSWORD}}, "input.email"),
        ({"input": {"email": "ada@example.com", "password": None}}, "input.password"),
        ({"input": {"email": "ada@example.com", "password": "x" * 1025}}, "input.password"),
        ({"input": {"email": "ada@example.com", "password": PASSWORD, "admin": True}}, "input.admin"),
        ({"input": ["ada@example.com", PASSWORD]}, "input"),
        ({"action": {}}, "action.name"),
        ({"action": "login"}, "action"),
        ({"session_variables": {"x-hasura-role": 1}}, "session_variables.x-hasura-role"),
    ],
)
def test_login_refuses_bad_input_naming_the_field(
    hasura: Hasura, auth: Auth, change: dict[str, Any], field: str
) -> None:
    auth.signup()
    response = hasura.action(payload("action_login", **change))
    assert response.status_code == 400
    body = response.get_json()
    assert body["extensions"] == {"code": "VALIDATION_FAILED", "field": field}
    assert body["message"].startswith(field)


# signup


def test_signup_creates_the_user_and_answers_an_auth_payload(hasura: Hasura, app: Any) -> None:
    response = hasura.action(payload("action_signup"))
    assert response.status_code == 200
    user = User.find_by_email("grace@example.com")
    assert user is not None
    assert (user.first_name, user.last_name, user.roles) == ("Grace", "Hopper", ["user"])
    assert user.check_password("another fine password")
    assert_auth_payload(response.get_json(), user.id, app)


def test_signup_with_a_taken_email_is_409_and_changes_nothing(hasura: Hasura, auth: Auth) -> None:
    user_id = user_id_of(auth, "grace@example.com")
    response = hasura.action(payload("action_signup"))
    assert (response.status_code, response.get_json()) == (
        409,
        {"message": "A user with email grace@example.com already exists.", "extensions": {"code": "EMAIL_TAKEN"}},
    )
    assert [user.id for user in User.scan()] == [user_id]


@pytest.mark.parametrize(
    ("input_", "field"),
    [
        ({"password": "another fine password"}, "input.email"),
        ({"email": "grace@example.com"}, "input.password"),
        ({"email": "not an email", "password": "another fine password"}, "email"),
        ({"email": "grace@example.com", "password": "short"}, "password"),
        ({"email": "grace@example.com", "password": "x" * 1025}, "input.password"),
        ({"email": "grace@example.com", "password": "fine password", "firstName": "G" * 101}, "input.firstName"),
        ({"email": "grace@example.com", "password": "another fine password", "lastName": 7}, "input.lastName"),
    ],
)
def test_signup_refuses_bad_input_and_writes_nothing(hasura: Hasura, input_: dict[str, Any], field: str) -> None:
    response = hasura.action(payload("action_signup", input=input_))
    expected = {"code": "VALIDATION_FAILED", "field": field}
    assert (response.status_code, response.get_json()["extensions"]) == (400, expected)
    assert list(User.scan()) == []


# refreshToken


def refresh_call(token: str) -> dict[str, Any]:
    return payload("action_refresh_token", input={"refreshToken": token})


def test_refresh_token_rotates_like_refresh(hasura: Hasura, auth: Auth, app: Any, client: Any) -> None:
    """The action answers a new pair, and the pair it replaced is rotated out as /refresh does."""
    signup = auth.signup()
    user_id = pyjwt.decode(signup["access_token"], options={"verify_signature": False})["sub"]
    response = hasura.action(refresh_call(signup["refresh_token"]))
    assert response.status_code == 200
    body = response.get_json()
    assert_auth_payload(body, user_id, app)
    assert (body["refreshToken"] != signup["refresh_token"], body["accessToken"] != signup["access_token"]) == (
        True, True
    )
    claims = [pyjwt.decode(token, options={"verify_signature": False}) for token in (signup["refresh_token"],
                                                                                      body["refreshToken"])]
    assert [(token["fam"], token["gen"]) for token in claims] == [(claims[0]["fam"], 0), (claims[0]["fam"], 1)]
    refreshed = client.post("/refresh", json={"refresh_token": body["refreshToken"]})
    assert refreshed.status_code == 200


def test_refresh_token_refuses_access_revoked_and_foreign_tokens(hasura: Hasura, auth: Auth, client: Any) -> None:
    signup = auth.signup()
    forged = pyjwt.encode({"sub": "x", "type": "refresh", "jti": "j"}, "s" * 48, algorithm="HS256")
    client.post("/logout", headers={"Authorization": f"Bearer {signup['access_token']}"},
                json={"refresh_token": signup["refresh_token"]})
    answers = {
        name: hasura.action(refresh_call(token)).get_json()["extensions"]["code"]
        for name, token in [
            ("access token", signup["access_token"]),
            ("revoked", signup["refresh_token"]),
            ("forged", forged),
            ("garbage", "not-a-token"),
        ]
    }
    assert answers == {
        "access token": "INVALID_TOKEN",
        "revoked": "TOKEN_REVOKED",
        "forged": "INVALID_TOKEN",
        "garbage": "INVALID_TOKEN",
    }


# me


def test_me_answers_the_callers_profile_without_secrets(hasura: Hasura, auth: Auth) -> None:
    user_id = user_id_of(auth)
    user = User.get(user_id)
    body = payload("action_me", session_variables={"x-hasura-role": "user", "x-hasura-user-id": user_id})
    response = hasura.action(body)
    assert (response.status_code, response.get_json()) == (
        200,
        {
            "id": user_id,
            "email": "ada@example.com",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "roles": ["user"],
            "createdAt": user.created_at.isoformat(),
        },
    )
    assert "argon2" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("session", "status", "code"),
    [
        ({"x-hasura-role": "anonymous"}, 401, "UNAUTHENTICATED"),
        ({"x-hasura-role": "user", "x-hasura-user-id": "3f1c0b1e-0000-4000-8000-000000000000"}, 404, "NOT_FOUND"),
    ],
)
def test_me_needs_an_existing_user(hasura: Hasura, session: dict[str, str], status: int, code: str) -> None:
    response = hasura.action(payload("action_me", session_variables=session))
    assert (response.status_code, response.get_json()["extensions"]["code"]) == (status, code)


# roles, dispatch, faults


@pytest.mark.parametrize(
    ("session", "status", "body"),
    [
        ({"x-hasura-role": "admin"}, 200, {"text": "admin: hi"}),
        ({"X-Hasura-Role": "admin"}, 200, {"text": "admin: hi"}),  # keys are lowercase; be lenient anyway
        (
            {"x-hasura-role": "user"},
            403,
            {"message": "The adminEcho action is only for the role admin.", "extensions": {"code": "FORBIDDEN"}},
        ),
        (
            {},
            403,
            {"message": "The adminEcho action is only for the role admin.", "extensions": {"code": "FORBIDDEN"}},
        ),
    ],
)
def test_an_action_can_require_a_role(hasura: Hasura, session: dict[str, str], status: int, body: Any) -> None:
    response = hasura.action({"action": {"name": "adminEcho"}, "input": {"text": "hi"}, "session_variables": session})
    assert (response.status_code, response.get_json()) == (status, body)


@pytest.mark.parametrize(
    ("path_name", "body", "status", "expected"),
    [
        (None, {"action": {"name": "nope"}, "input": {}}, 404,
         {"message": "No action is named nope.", "extensions": {"code": "ACTION_NOT_FOUND"}}),
        ("me", {"action": {"name": "login"}, "input": {}}, 400,
         {"message": "The URL names me but the payload login.",
          "extensions": {"code": "VALIDATION_FAILED", "field": "action.name"}}),
        (None, [], 400,
         {"message": "The request body must be a JSON object.", "extensions": {"code": "VALIDATION_FAILED"}}),
    ],
)
def test_bad_action_calls_get_hasura_shaped_errors(
    hasura: Hasura, path_name: str | None, body: Any, status: int, expected: Any
) -> None:
    response = hasura.action(body, name=path_name)
    assert (response.status_code, response.get_json()) == (status, expected)


def test_a_body_that_is_not_json_is_400_in_hasuras_shape(client: Any) -> None:
    from hasura_support import SECRET, SECRET_HEADER

    response = client.post(
        "/hasura/actions", data="{not json", content_type="application/json", headers={SECRET_HEADER: SECRET}
    )
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": "The request body is not valid JSON.", "extensions": {"code": "MALFORMED_JSON"}},
    )


def test_http_errors_are_in_hasuras_shape_with_the_apis_codes(hasura: Hasura, app: Any) -> None:
    too_big = {"action": {"name": "login"}, "input": {"email": "x" * app.config["MAX_CONTENT_LENGTH"]}}
    response = hasura.action(too_big)
    assert (response.status_code, response.get_json()["extensions"]) == (413, {"code": "PAYLOAD_TOO_LARGE"})


def test_a_fault_in_an_action_is_a_masked_500_with_the_request_id(hasura: Hasura, caplog: Any) -> None:
    response = hasura.action({"action": {"name": "broken"}, "input": {}}, **{"X-Request-ID": "req-42"})
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Internal server error.", "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}},
    )
    assert "hunter2" not in response.get_data(as_text=True)
    assert "req-42" in caplog.text


def test_an_action_handler_must_take_typed_input_and_a_session() -> None:
    def untyped(args, session):  # type: ignore[no-untyped-def]
        return None

    with pytest.raises(TypeError, match="action untyped: take"):
        action("untyped")(untyped)
    with pytest.raises(ValueError, match="action login is registered twice"):
        action("login")(admin_echo)
