"""A user's own account: POST /password and POST /logout-all end the user's other tokens."""

from __future__ import annotations

from typing import Any

import pytest
from support import PASSWORD, Auth, Clock, clear_tables

import passwords
from models import User

VIEWER = "{ viewer { email } }"
NEW_PASSWORD = "a much better passphrase"
PAIR = ["access_token", "expires_in", "refresh_token", "token_type"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client: Any, password: str) -> Any:
    return client.post("/login", json={"email": "ada@example.com", "password": password})


def code_of(response: Any) -> str:
    body = response.get_json()
    return body["errors"][0]["extensions"]["code"] if "errors" in body else body["code"]


def test_changing_the_password_ends_every_other_token(client: Any, auth: Auth, clock: Clock) -> None:
    """GIVEN two sessions WHEN one changes the password THEN it gets a new pair; every older token is refused."""
    laptop = auth.signup()
    phone = login(client, PASSWORD).get_json()
    response = client.post(
        "/password",
        json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        headers=bearer(laptop["access_token"]),
    )
    assert (response.status_code, sorted(response.get_json())) == (200, PAIR)
    fresh = response.get_json()
    assert auth.graphql(VIEWER, fresh["access_token"]).get_json() == {"data": {"viewer": {"email": "ada@example.com"}}}
    assert client.post("/refresh", headers=bearer(fresh["refresh_token"])).status_code == 200
    for old in (laptop, phone):
        assert code_of(auth.graphql(VIEWER, old["access_token"])) == "TOKEN_REVOKED"
        assert code_of(client.post("/refresh", headers=bearer(old["refresh_token"]))) == "TOKEN_REVOKED"
    assert login(client, PASSWORD).status_code == 401
    clock.advance(2)  # past the delay the failed login started
    assert login(client, NEW_PASSWORD).status_code == 200
    stored = User.find_by_email("ada@example.com").password
    assert stored.startswith("$argon2id$") and passwords.verify_password(stored, NEW_PASSWORD)


def test_a_wrong_current_password_changes_nothing_and_counts_as_a_failed_login(
    client: Any, auth: Auth, clock: Clock
) -> None:
    """A stolen access token does not buy unlimited guesses at the password."""
    token = auth.signup()["access_token"]
    before = User.find_by_email("ada@example.com")
    wrong = {"currentPassword": "not the password", "newPassword": NEW_PASSWORD}
    first = client.post("/password", json=wrong, headers=bearer(token))
    assert (first.status_code, first.get_json()) == (
        403,
        {"code": "INVALID_CREDENTIALS", "message": "The current password is incorrect.", "field": "currentPassword"},
    )
    second = client.post("/password", json={**wrong, "currentPassword": PASSWORD}, headers=bearer(token))
    assert (second.status_code, second.get_json()["code"], second.headers["Retry-After"]) == (
        429, "TOO_MANY_ATTEMPTS", "1"
    )
    assert login(client, PASSWORD).status_code == 429  # one count for the account, whichever endpoint
    after = User.find_by_email("ada@example.com")
    assert (after.password, after.token_version) == (before.password, before.token_version)
    assert auth.graphql(VIEWER, token).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"newPassword": NEW_PASSWORD}, "currentPassword"),
        ({"currentPassword": PASSWORD}, "newPassword"),
        ({"currentPassword": 12345678, "newPassword": NEW_PASSWORD}, "currentPassword"),
        ({"currentPassword": "x" * 1025, "newPassword": NEW_PASSWORD}, "currentPassword"),
        ({"currentPassword": PASSWORD, "newPassword": "short"}, "newPassword"),
        ({"currentPassword": PASSWORD, "newPassword": "x" * 1025}, "newPassword"),
        ({"currentPassword": PASSWORD, "newPassword": ["a list"]}, "newPassword"),
    ],
    ids=["current-missing", "new-missing", "current-number", "current-long", "new-short", "new-long", "new-list"],
)
def test_password_change_refuses_bad_fields_and_changes_nothing(
    client: Any, auth: Auth, body: dict[str, Any], field: str
) -> None:
    token = auth.signup()["access_token"]
    before = User.find_by_email("ada@example.com")
    response = client.post("/password", json=body, headers=bearer(token))
    assert (response.status_code, response.get_json()["code"], response.get_json()["field"]) == (
        400, "VALIDATION_FAILED", field
    )
    after = User.find_by_email("ada@example.com")
    assert (after.password, after.token_version) == (before.password, before.token_version)


@pytest.mark.parametrize("path", ["/password", "/logout-all"])
def test_account_endpoints_need_an_access_token(client: Any, auth: Auth, path: str) -> None:
    refresh_token = auth.signup()["refresh_token"]
    body = {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
    missing = client.post(path, json=body)
    assert (missing.status_code, code_of(missing)) == (401, "UNAUTHENTICATED")
    refresh = client.post(path, json=body, headers=bearer(refresh_token))
    assert (refresh.status_code, code_of(refresh)) == (401, "INVALID_TOKEN")


def test_logout_all_ends_every_token_of_the_user(client: Any, auth: Auth, clock: Clock) -> None:
    """Every session on every device ends, the caller's included; other users keep theirs; logging in works."""
    laptop = auth.signup()
    phone = login(client, PASSWORD).get_json()
    other = auth.signup("grace@example.com")
    response = client.post("/logout-all", headers=bearer(phone["access_token"]))
    assert (response.status_code, response.get_json()) == (200, {"revoked": "all"})
    for old in (laptop, phone):
        assert code_of(auth.graphql(VIEWER, old["access_token"])) == "TOKEN_REVOKED"
        assert code_of(client.post("/refresh", headers=bearer(old["refresh_token"]))) == "TOKEN_REVOKED"
    assert auth.graphql(VIEWER, other["access_token"]).status_code == 200
    again = login(client, PASSWORD).get_json()
    assert auth.graphql(VIEWER, again["access_token"]).get_json() == {"data": {"viewer": {"email": "ada@example.com"}}}


@pytest.fixture
def cookie_client(settings: dict[str, Any], _tables: None) -> Any:
    from app import create_app

    clear_tables()
    return create_app({**settings, "AUTH_COOKIES": True}).test_client()


def test_cookie_mode_logout_all_clears_the_cookies_and_password_change_renews_them(cookie_client: Any) -> None:
    cookie_client.post("/signup", json={"email": "ada@example.com", "password": PASSWORD})
    csrf = {"X-CSRF-TOKEN": cookie_client.get_cookie("csrf_access_token").value}
    old_access = cookie_client.get_cookie("access_token_cookie").value
    changed = cookie_client.post("/password", json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
                                 headers=csrf)
    assert (changed.status_code, sorted(changed.get_json())) == (200, ["expires_in", "token_type"])
    assert cookie_client.get_cookie("access_token_cookie").value != old_access
    csrf = {"X-CSRF-TOKEN": cookie_client.get_cookie("csrf_access_token").value}
    assert cookie_client.post("/graphql", json={"query": VIEWER}, headers=csrf).status_code == 200
    response = cookie_client.post("/logout-all", headers=csrf)
    assert response.status_code == 200
    assert cookie_client.get_cookie("access_token_cookie") is None
    assert cookie_client.get_cookie("refresh_token_cookie") is None


def test_a_password_changed_meanwhile_wins_and_nothing_else_changes(
    client: Any, auth: Auth, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN another change of the password while this one hashes THEN 409 CONFLICT, and the other change stands."""
    token = auth.signup()["access_token"]
    user = User.find_by_email("ada@example.com")
    theirs = passwords.hash_password("their new passphrase")
    real_hash = passwords.hash_password

    def hash_while_someone_else_changes_it(password: str) -> passwords.PasswordHash:
        User(user.id).update(actions=[User.password.set(theirs)])
        return real_hash(password)

    monkeypatch.setattr(passwords, "hash_password", hash_while_someone_else_changes_it)
    response = client.post(
        "/password", json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, headers=bearer(token)
    )
    assert (response.status_code, response.get_json()) == (
        409, {"code": "CONFLICT", "message": "The password was changed meanwhile; log in again."}
    )
    after = User.get(user.id)
    assert (after.password, after.token_version) == (theirs, user.token_version)
