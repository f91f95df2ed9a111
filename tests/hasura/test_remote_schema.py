"""Remote Schema: x-hasura-user-id and x-hasura-role are trusted on /graphql only with the secret."""

from __future__ import annotations

from typing import Any

import jwt as pyjwt
import pytest
from hasura_support import SECRET, SECRET_HEADER
from support import Auth

from models import User

VIEWER = "{ viewer { email } }"


def ask(client: Any, **headers: str) -> tuple[int, Any]:
    response = client.post("/graphql", json={"query": VIEWER}, headers=headers)
    return response.status_code, response.get_json()


@pytest.fixture
def ada(auth: Auth) -> dict[str, str]:
    """Sign up Ada with the roles user and editor; return her id and access token."""
    token = auth.token()
    user_id = pyjwt.decode(token, options={"verify_signature": False})["sub"]
    User(user_id).update([User.roles.set(["user", "editor"])])
    return {"id": user_id, "token": token}


ADA = {"data": {"viewer": {"email": "ada@example.com"}}}


@pytest.mark.parametrize("role", [None, "user", "editor"])
def test_with_the_secret_hasuras_session_headers_name_the_viewer(
    client: Any, ada: dict[str, str], role: str | None
) -> None:
    headers = {SECRET_HEADER: SECRET, "X-Hasura-User-Id": ada["id"], **({"X-Hasura-Role": role} if role else {})}
    assert ask(client, **headers) == (200, ADA)


def test_a_role_the_user_does_not_have_is_403(client: Any, ada: dict[str, str]) -> None:
    status, body = ask(client, **{SECRET_HEADER: SECRET, "X-Hasura-User-Id": ada["id"], "X-Hasura-Role": "admin"})
    assert (status, body["errors"][0]["extensions"]) == (403, {"code": "FORBIDDEN"})


@pytest.mark.parametrize("secret", [None, "", "wrong-" + SECRET])
def test_without_a_valid_secret_the_session_headers_are_ignored(
    client: Any, ada: dict[str, str], secret: str | None
) -> None:
    headers = {"X-Hasura-User-Id": ada["id"], "X-Hasura-Role": "user"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    status, body = ask(client, **headers)
    assert (status, body["errors"][0]["extensions"]) == (401, {"code": "UNAUTHENTICATED"})


def test_without_a_valid_secret_the_forwarded_token_decides(client: Any, auth: Auth, ada: dict[str, str]) -> None:
    """Someone else's id in the headers does not change who the token says the viewer is."""
    grace = pyjwt.decode(auth.token("grace@example.com"), options={"verify_signature": False})["sub"]
    headers = {"Authorization": f"Bearer {ada['token']}", "X-Hasura-User-Id": grace, SECRET_HEADER: "wrong"}
    assert ask(client, **headers) == (200, ADA)


def test_a_forwarded_authorization_header_works_as_is(client: Any, ada: dict[str, str]) -> None:
    assert ask(client, Authorization=f"Bearer {ada['token']}") == (200, ADA)


@pytest.mark.parametrize("user_id", [None, "3f1c0b1e-0000-4000-8000-000000000000"], ids=["no user", "unknown user"])
def test_with_the_secret_and_no_user_hasura_itself_may_introspect_but_has_no_viewer(
    client: Any, user_id: str | None
) -> None:
    """Hasura introspects a remote schema with its configured headers when it adds it: that must work."""
    headers = {SECRET_HEADER: SECRET, "X-Hasura-Role": "admin", **({"X-Hasura-User-Id": user_id} if user_id else {})}
    response = client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"}, headers=headers)
    introspected = {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    assert (response.status_code, response.get_json()) == (200, introspected)
    status, body = ask(client, **headers)
    assert (status, body["data"], [error["extensions"] for error in body["errors"]]) == (
        200, {"viewer": None}, [{"code": "UNAUTHENTICATED"}]
    )


def test_with_the_secret_and_no_known_user_a_forwarded_token_decides(client: Any, ada: dict[str, str]) -> None:
    headers = {SECRET_HEADER: SECRET, "X-Hasura-User-Id": "3f1c0b1e-0000-4000-8000-000000000000"}
    assert ask(client, **headers, Authorization=f"Bearer {ada['token']}") == (200, ADA)
    assert ask(client, **{SECRET_HEADER: SECRET}, Authorization=f"Bearer {ada['token']}") == (200, ADA)


INTROSPECT = {"query": "{ __schema { queryType { name } } }"}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({SECRET_HEADER: SECRET}, {"data": {"__schema": {"queryType": {"name": "Query"}}}}),
        ({}, "INTROSPECTION_DISABLED"),
        ({SECRET_HEADER: "not-" + SECRET}, "INTROSPECTION_DISABLED"),
    ],
    ids=["with-the-secret", "no-secret", "wrong-secret"],
)
def test_with_introspection_off_only_hasura_may_introspect(
    settings: dict[str, Any], ada: dict[str, str], headers: dict[str, str], expected: Any
) -> None:
    """Production turns introspection off; Hasura adding /graphql as a Remote Schema must still read it."""
    from app import create_app

    client = create_app({**settings, "GRAPHQL_INTROSPECTION": False}).test_client()
    signed_in = {"Authorization": f"Bearer {ada['token']}", **headers}
    response = client.post("/graphql", json=INTROSPECT, headers=signed_in)
    body = response.get_json()
    got = body if "data" in body else [error["extensions"]["code"] for error in body["errors"]]
    assert (response.status_code, got) == (200, expected if "data" in body else [expected])
