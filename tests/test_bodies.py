"""Hostile JSON bodies get a 4xx with a code on every JSON endpoint, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from support import Auth

JSON = "application/json"
ENDPOINTS = ["/signup", "/login", "/refresh", "/logout", "/password", "/graphql"]

HOSTILE = [
    # (case, body, content type, status, code; None: the endpoint's own code for "not an object")
    ("nested 1,000 levels (2 KB)", b"[" * 1000 + b"]" * 1000, JSON, 400, "JSON_TOO_DEEP"),
    ("nested 60,000 levels", b"[" * 60_000, JSON, 400, "JSON_TOO_DEEP"),
    ("nested 65 levels", b'{"a":' * 65 + b"1" + b"}" * 65, JSON, 400, "JSON_TOO_DEEP"),
    ("invalid utf-8", b'{"email": "\xff\xfe"}', JSON, 400, "BAD_ENCODING"),
    ("utf-16", '{"email": "a@example.com"}'.encode("utf-16"), JSON, 400, "BAD_ENCODING"),
    ("lone surrogate", b'{"email": "\\ud800"}', JSON, 400, "BAD_ENCODING"),
    ("lone surrogate in a key", b'{"\\udfff": 1}', JSON, 400, "BAD_ENCODING"),
    ("latin-1 charset", b'{"email": "a@example.com"}', f"{JSON}; charset=latin-1", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ("utf-16 charset", b'{"email": "a@example.com"}', f"{JSON}; charset=utf-16", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ("NaN", b'{"email": NaN}', JSON, 400, "MALFORMED_JSON"),
    ("Infinity", b'{"email": -Infinity}', JSON, 400, "MALFORMED_JSON"),
    ("a 5,000-digit number", b'{"email": ' + b"9" * 5000 + b"}", JSON, 400, "MALFORMED_JSON"),
    ("truncated", b'{"email": ', JSON, 400, "MALFORMED_JSON"),
    ("not an object", b"[]", JSON, 400, None),
]
NOT_AN_OBJECT = {"/graphql": "BAD_REQUEST"}


def code_of(body: dict[str, Any]) -> str:
    return body["errors"][0]["extensions"]["code"] if "errors" in body else body["code"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("case", "body", "content_type", "status", "code"), HOSTILE, ids=[row[0] for row in HOSTILE])
def test_hostile_bodies_are_refused_with_a_code(
    client: Any, endpoint: str, case: str, body: bytes, content_type: str, status: int, code: str | None
) -> None:
    token = Auth(client).signup()["access_token"] if endpoint in ("/logout", "/password", "/graphql") else None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if endpoint == "/refresh":  # the refresh token may come in the body: the body is read before the header
        headers = {}
    response = client.post(endpoint, data=body, content_type=content_type, headers=headers)
    answer = response.get_json(force=True)
    expected = code or NOT_AN_OBJECT.get(endpoint, "VALIDATION_FAILED")
    assert (response.status_code, code_of(answer)) == (status, expected), answer


def test_a_refused_body_writes_nothing(client: Any, dynamodb: Any) -> None:
    dynamodb.operations.clear()
    for _case, body, content_type, *_ in HOSTILE:
        client.post("/signup", data=body, content_type=content_type)
    assert dynamodb.operations == []


def test_deep_variables_are_refused_before_graphql_coerces_them(client: Any) -> None:
    token = Auth(client).token()
    deep: Any = "x"
    for _ in range(200):
        deep = [deep]
    response = client.post(
        "/graphql",
        json={"query": "query($v: [ID!]!) { nodes(ids: $v) { id } }", "variables": {"v": deep}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (response.status_code, code_of(response.get_json())) == (400, "JSON_TOO_DEEP")


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ("[" * 1000 + "]" * 1000, "The variables parameter is nested too deeply; the limit is 64 levels."),
        ('{"n": NaN}', "The variables parameter is not valid JSON."),
        ('{"n": "\\udc00"}', "The variables parameter holds a lone surrogate escape (\\ud800-\\udfff)."),
    ],
)
def test_hostile_get_parameters_are_refused_too(client: Any, variables: str, message: str) -> None:
    token = Auth(client).token()
    response = client.get(
        "/graphql", query_string={"query": "{ __typename }", "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (response.status_code, response.get_json()) == (
        400, {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
    )
