"""The GraphQL schema: viewer, node/nodes visibility, error masking and the published SDL."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest
from support import ROOT, Auth

import schema
from errors import Forbidden

SNAPSHOT = ROOT / "tests" / "snapshots" / "schema.graphql"


def global_id(type_name: str, key: str) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


@pytest.fixture
def ada(auth: Auth) -> dict[str, Any]:
    """Sign up Ada; return her token, user JSON and global id."""
    signup = auth.signup()
    return {"token": signup["access_token"], "user": signup["user"], "id": signup["user"]["id"]}


def test_viewer_is_the_signed_in_user(auth: Auth, ada: dict[str, Any]) -> None:
    response = auth.graphql("{ viewer { id email firstName lastName createdAt __typename } }", ada["token"])
    assert response.get_json() == {"data": {"viewer": {**ada["user"], "__typename": "User"}}}


def test_node_refetches_the_viewer(auth: Auth, ada: dict[str, Any]) -> None:
    query = "query($id: ID!) { node(id: $id) { id ... on User { email } } }"
    response = auth.graphql(query, ada["token"], {"id": ada["id"]})
    assert response.get_json() == {"data": {"node": {"id": ada["id"], "email": "ada@example.com"}}}


def test_node_and_nodes_return_null_for_what_the_viewer_may_not_see(auth: Auth, ada: dict[str, Any]) -> None:
    """Another user's id, a missing id, garbage and non-node types all read as null, in order."""
    grace = auth.signup("grace@example.com")["user"]["id"]
    ids = [
        ada["id"],
        grace,
        global_id("User", "00000000-0000-4000-8000-000000000000"),
        "not base64 at all!",
        global_id("Query", "x"),
        global_id("NoSuchType", "x"),
        "",
        ada["id"],
    ]
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    response = auth.graphql(query, ada["token"], {"ids": ids})
    assert response.get_json() == {
        "data": {"nodes": [{"id": ada["id"]}, None, None, None, None, None, None, {"id": ada["id"]}]}
    }
    for other in ids[1:7]:
        single = auth.graphql("query($id: ID!) { node(id: $id) { id } }", ada["token"], {"id": other})
        assert single.get_json() == {"data": {"node": None}}


def test_app_errors_in_resolvers_carry_their_code(auth: Auth, ada: dict[str, Any], monkeypatch: Any) -> None:
    def forbidden(_info: Any) -> None:
        raise Forbidden("Not you.")

    monkeypatch.setattr(schema, "require_viewer", forbidden)
    response = auth.graphql("{ viewer { id } }", ada["token"])
    assert response.get_json() == {
        "data": {"viewer": None},
        "errors": [
            {
                "message": "Not you.",
                "locations": [{"line": 1, "column": 3}],
                "path": ["viewer"],
                "extensions": {"code": "FORBIDDEN"},
            }
        ],
    }


def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    auth: Auth, ada: dict[str, Any], monkeypatch: Any, caplog: Any
) -> None:
    def broken(_info: Any) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(schema, "require_viewer", broken)
    with caplog.at_level(logging.ERROR):
        response = auth.graphql("{ viewer { id } }", ada["token"], headers={"X-Request-ID": "req-123"})
    assert response.status_code == 200
    assert response.get_json() == {
        "data": {"viewer": None},
        "errors": [
            {
                "message": "Internal server error.",
                "locations": [{"line": 1, "column": 3}],
                "path": ["viewer"],
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-123"},
            }
        ],
    }
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert any("req-123" in record.getMessage() and record.exc_info for record in caplog.records)


def test_the_sdl_matches_the_reviewed_snapshot() -> None:
    """Every API change is a reviewed diff: update with `flask --app run graphql-schema --out ...`."""
    assert schema.sdl() == SNAPSHOT.read_text()


def test_no_password_field_exists_anywhere_in_the_schema() -> None:
    sdl = schema.sdl().lower()
    assert "password" not in sdl and "hash" not in sdl
    user_fields = sorted(schema.schema.graphql_schema.get_type("User").fields)
    assert user_fields == [
        "completedCount", "createdAt", "email", "firstName", "id", "lastName", "todos", "totalCount", "userId"
    ]
    todo_fields = sorted(schema.schema.graphql_schema.get_type("Todo").fields)
    assert todo_fields == ["complete", "id", "text"]


def test_graphql_schema_endpoint_serves_introspection_and_sdl(client: Any) -> None:
    introspection = client.get("/graphql-schema")
    assert introspection.status_code == 200
    assert introspection.get_json() == schema.introspection()
    assert introspection.get_json()["data"]["__schema"]["queryType"] == {"kind": "OBJECT", "name": "Query"}
    sdl = client.get("/graphql-schema?format=sdl")
    assert (sdl.status_code, sdl.mimetype, sdl.get_data(as_text=True)) == (200, "text/plain", SNAPSHOT.read_text())


@pytest.mark.parametrize(("access", "without_token", "with_token"), [("token", 401, 200), ("off", 404, 404)])
def test_graphql_schema_endpoint_can_require_a_token_or_be_off(
    settings: dict[str, Any], _tables: None, access: str, without_token: int, with_token: int
) -> None:
    from support import clear_tables

    from app import create_app

    clear_tables()
    client = create_app({**settings, "GRAPHQL_SCHEMA_ACCESS": access}).test_client()
    token = Auth(client).token()
    assert client.get("/graphql-schema").status_code == without_token
    assert client.get("/graphql-schema", headers={"Authorization": f"Bearer {token}"}).status_code == with_token
