"""GraphQL over HTTP: media types, methods, request errors, limits, GraphiQL, CORS and plain HTTP errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import Auth

import graphql_http

JSON = "application/json"
GQL_JSON = "application/graphql-response+json"
TYPENAME = "{ __typename }"


@pytest.fixture
def token(auth: Auth) -> str:
    return auth.token()


def post(client: Any, token: str, body: Any, accept: str | None = None, content_type: str = JSON) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if accept is not None:
        headers["Accept"] = accept
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post("/graphql", data=data, content_type=content_type, headers=headers)


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, JSON),
        (JSON, JSON),
        ("*/*", JSON),
        (GQL_JSON, GQL_JSON),
        (f"{GQL_JSON}, {JSON};q=0.9", GQL_JSON),
        (f"{JSON}, {GQL_JSON};q=0.5", JSON),
        ("application/*", JSON),
    ],
)
def test_the_response_media_type_follows_accept(client: Any, token: str, accept: str | None, media_type: str) -> None:
    response = post(client, token, {"query": TYPENAME}, accept)
    assert (response.status_code, response.headers["Content-Type"]) == (200, f"{media_type}; charset=utf-8")
    assert response.get_json(force=True) == {"data": {"__typename": "Query"}}


def test_an_unacceptable_accept_is_406(client: Any, token: str) -> None:
    response = post(client, token, {"query": TYPENAME}, "application/xml")
    assert response.status_code == 406
    assert response.get_json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


def test_get_runs_queries_with_json_variables(client: Any, token: str) -> None:
    response = client.get(
        "/graphql",
        query_string={"query": "query($n: String!) { __type(name: $n) { name } }", "variables": '{"n": "User"}'},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (response.status_code, response.get_json()) == (200, {"data": {"__type": {"name": "User"}}})


def test_get_refuses_mutations_with_405(client: Any, token: str) -> None:
    response = client.get(
        "/graphql", query_string={"query": "mutation { __typename }"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert (response.status_code, response.headers["Allow"]) == (405, "POST")
    assert response.get_json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ({"query": TYPENAME}, "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
        ({"query": TYPENAME}, "", 415, "UNSUPPORTED_MEDIA_TYPE"),
        ({"query": TYPENAME}, "application/json; charset=latin-1", 415, "UNSUPPORTED_MEDIA_TYPE"),
        ('{"query": ', JSON, 400, "MALFORMED_JSON"),
        ("", JSON, 400, "MALFORMED_JSON"),
        ("[]", JSON, 400, "BAD_REQUEST"),
        ({"notquery": TYPENAME}, JSON, 400, "BAD_REQUEST"),
        ({"query": ""}, JSON, 400, "BAD_REQUEST"),
        ({"query": {"obj": "ect"}}, JSON, 400, "BAD_REQUEST"),
        ({"query": 0}, JSON, 400, "BAD_REQUEST"),
        ({"query": TYPENAME, "variables": "string"}, JSON, 400, "BAD_REQUEST"),
        ({"query": TYPENAME, "variables": ["array"]}, JSON, 400, "BAD_REQUEST"),
        ({"query": TYPENAME, "operationName": 0}, JSON, 400, "BAD_REQUEST"),
        ({"query": TYPENAME, "extensions": "string"}, JSON, 400, "BAD_REQUEST"),
    ],
)
@pytest.mark.parametrize("accept", [JSON, GQL_JSON])
def test_malformed_requests_are_4xx_for_every_media_type(
    client: Any, token: str, body: Any, content_type: str, status: int, code: str, accept: str
) -> None:
    response = post(client, token, body, accept, content_type)
    assert response.status_code == status
    (error,) = response.get_json(force=True)["errors"]
    assert (sorted(error), error["extensions"], bool(error["message"])) == (
        ["extensions", "message"], {"code": code}, True
    )
    assert sorted(response.get_json(force=True)) == ["errors"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{"}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ noSuchField }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": "query($n: String!) { __type(name: $n) { name } }", "variables": {"n": None}}, "BAD_USER_INPUT"),
        ({"query": "query A { __typename } query B { __typename }"}, "BAD_REQUEST"),
        ({"query": "query A { __typename }", "operationName": "B"}, "BAD_REQUEST"),
    ],
    ids=["parse", "validation", "coercion", "ambiguous-operation", "unknown-operation"],
)
@pytest.mark.parametrize(("accept", "status"), [(JSON, 200), (GQL_JSON, 400)])
def test_graphql_request_errors_have_no_data(
    client: Any, token: str, body: dict[str, Any], code: str, accept: str, status: int
) -> None:
    """application/json answers 200 to a well-formed request; graphql-response+json answers 400."""
    response = post(client, token, body, accept)
    result = response.get_json(force=True)
    assert (response.status_code, sorted(result), result["errors"][0]["extensions"]["code"]) == (
        status, ["errors"], code
    )


def test_operation_name_picks_the_operation(client: Any, token: str) -> None:
    body = {"query": "query A { a: __typename } query B { b: __typename }", "operationName": "B"}
    assert post(client, token, body).get_json() == {"data": {"b": "Query"}}


def test_deep_documents_are_refused_by_the_depth_limit(client: Any, token: str) -> None:
    nested = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType " \
             "{ ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType " \
             "{ name } } } } } } } } } } } } } } } } } } } } }"
    response = post(client, token, {"query": nested})
    assert response.get_json()["errors"] == [
        {
            "message": "The operation is nested 21 levels deep; the limit is 20.",
            "locations": [{"line": 1, "column": 1}],
            "extensions": {"code": "QUERY_TOO_DEEP"},
        }
    ]


def test_fragment_cycles_do_not_hang_the_depth_limit(client: Any, token: str) -> None:
    query = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
    response = post(client, token, {"query": query})
    assert response.get_json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_documents_are_parsed_and_validated_once(client: Any, token: str, monkeypatch: Any) -> None:
    parses: list[str] = []
    real_parse = graphql_http.parse
    monkeypatch.setattr(
        graphql_http, "parse", lambda source, **options: parses.append(source) or real_parse(source, **options)
    )
    for _ in range(3):
        assert post(client, token, {"query": "{ cached: __typename }"}).status_code == 200
    assert parses == ["{ cached: __typename }"]


def test_refused_documents_are_cached_too(client: Any, token: str, monkeypatch: Any) -> None:
    """Resending a document that failed validation costs a lookup, not another validation."""
    validations: list[int] = []
    real_validate = graphql_http.validate
    monkeypatch.setattr(
        graphql_http, "validate", lambda *args, **options: validations.append(1) or real_validate(*args, **options)
    )
    answers = [post(client, token, {"query": "{ noSuchField }"}).get_json() for _ in range(3)]
    assert answers == [answers[0]] * 3
    assert answers[0]["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert validations == [1]


def test_the_document_cache_is_bounded(settings: dict[str, Any], app: Any, monkeypatch: Any) -> None:
    """The least recently used entry, valid or refused, goes first once GRAPHQL_CACHE_SIZE entries are kept."""
    from app import create_app

    client = create_app({**settings, "GRAPHQL_CACHE_SIZE": 2}).test_client()
    token = Auth(client).token()
    parses: list[str] = []
    real_parse = graphql_http.parse
    monkeypatch.setattr(
        graphql_http, "parse", lambda source, **options: parses.append(source) or real_parse(source, **options)
    )
    for query in ["{ a: __typename }", "{ nope }", "{ a: __typename }", "{ b: __typename }", "{ nope }",
                  "{ b: __typename }", "{ a: __typename }"]:
        post(client, token, {"query": query})
    # "{ nope }" was evicted by "{ b: ... }" and parsed again; then it evicted "{ a: ... }".
    assert parses == ["{ a: __typename }", "{ nope }", "{ b: __typename }", "{ nope }", "{ a: __typename }"]


def test_graphiql_is_served_to_browsers_without_a_token(client: Any) -> None:
    response = client.get("/graphql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert (response.status_code, response.mimetype) == (200, "text/html")
    assert b"GraphiQL" in response.data


def test_graphiql_is_off_in_production(settings: dict[str, Any], _tables: None) -> None:
    from app import create_app

    client = create_app({**settings, "APP_ENV": "production"}).test_client()
    response = client.get("/graphql", headers={"Accept": "text/html"})
    assert (response.status_code, response.mimetype) == (401, JSON)


def test_curl_defaults_get_json_not_html(client: Any, token: str) -> None:
    response = client.get("/graphql", query_string={"query": TYPENAME}, headers={
        "Accept": "*/*", "Authorization": f"Bearer {token}"})
    assert response.get_json() == {"data": {"__typename": "Query"}}


# CORS


def preflight(client: Any, origin: str) -> Any:
    return client.options(
        "/graphql",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"},
    )


def test_cors_allows_localhost_origins_in_development(client: Any) -> None:
    response = preflight(client, "http://localhost:3000")
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Access-Control-Allow-Origin" not in preflight(client, "https://evil.example").headers


@pytest.mark.parametrize(
    ("origins", "origin", "allowed", "credentials"),
    [
        ("https://app.example.com", "https://app.example.com", "https://app.example.com", "true"),
        ("https://app.example.com", "http://localhost:3000", None, None),
        ("*", "https://anyone.example", "*", None),
        ("", "http://localhost:3000", None, None),
    ],
)
def test_cors_origins_are_an_allow_list(
    settings: dict[str, Any], _tables: None, origins: str, origin: str, allowed: str | None, credentials: str | None
) -> None:
    from app import create_app

    client = create_app({**settings, "APP_ENV": "production", "CORS_ORIGINS": origins}).test_client()
    headers = preflight(client, origin).headers
    assert (headers.get("Access-Control-Allow-Origin"), headers.get("Access-Control-Allow-Credentials")) == (
        allowed, credentials
    )


# Plain HTTP errors and request ids


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [("get", "/nowhere", 404, "NOT_FOUND"), ("get", "/login", 405, "METHOD_NOT_ALLOWED"),
     ("delete", "/graphql", 405, "METHOD_NOT_ALLOWED")],
)
def test_http_errors_are_json_with_a_code(client: Any, method: str, path: str, status: int, code: str) -> None:
    response = getattr(client, method)(path)
    assert (response.status_code, response.mimetype, response.get_json()["code"]) == (status, JSON, code)


def test_unexpected_errors_are_500_json_without_details(client: Any, monkeypatch: Any) -> None:
    import models

    def broken(*_args: Any) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(models.User, "find_by_email", broken)
    response = client.post("/login", json={"email": "ada@example.com", "password": "whatever1"},
                           headers={"X-Request-ID": "abc-1"})
    assert (response.status_code, response.get_json()) == (
        500, {"code": "INTERNAL_SERVER_ERROR", "message": "Internal server error.", "requestId": "abc-1"}
    )


@pytest.mark.parametrize(("sent", "kept"), [("abc-123", True), ("bad id with spaces", False), ("x" * 65, False)])
def test_request_ids_are_echoed_when_safe(client: Any, sent: str, kept: bool) -> None:
    echoed = client.get("/nowhere", headers={"X-Request-ID": sent}).headers["X-Request-ID"]
    assert (echoed == sent) is kept and len(echoed) > 0


# Introspection and suggestions


@pytest.fixture
def production_client(settings: dict[str, Any], app: Any) -> Any:
    from app import create_app

    return create_app({**settings, "APP_ENV": "production"}).test_client()


def test_introspection_is_off_in_production(production_client: Any) -> None:
    token = Auth(production_client).token()
    response = post(production_client, token, {"query": "{ __schema { types { name } } }"})
    assert response.get_json() == {"errors": [{
        "message": "Introspection is off: __schema cannot be queried. "
                   "Fetch the schema from /graphql-schema or the graphql-schema command.",
        "locations": [{"line": 1, "column": 3}],
        "extensions": {"code": "INTROSPECTION_DISABLED"},
    }]}
    assert post(production_client, token, {"query": TYPENAME}).get_json() == {"data": {"__typename": "Query"}}


def test_graphql_schema_keeps_its_own_setting_in_production(production_client: Any) -> None:
    token = Auth(production_client).token()
    response = production_client.get("/graphql-schema?format=sdl", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, b"type Query" in response.data) == (200, True)


@pytest.mark.parametrize(
    ("query", "variables", "development", "production"),
    [
        ("{ viewr { id } }", None, "Cannot query field 'viewr' on type 'Query'. Did you mean 'viewer' or 'user'?",
         "Cannot query field 'viewr' on type 'Query'."),
        ("{ viewer { todos(statu: \"any\") { edges { cursor } } } }", None,
         "Unknown argument 'statu' on field 'User.todos'. Did you mean 'status'?",
         "Unknown argument 'statu' on field 'User.todos'."),
        ("mutation($i: AddTodoInput!) { addTodo(input: $i) { clientMutationId } }",
         {"i": {"text": "x", "userId": "u", "clientMutationID": "c"}},
         "Variable '$i' got invalid value {'text': 'x', 'userId': 'u', 'clientMutationID': 'c'}; Field "
         "'clientMutationID' is not defined by type 'AddTodoInput'. Did you mean 'clientMutationId'?",
         "Variable '$i' got invalid value {'text': 'x', 'userId': 'u', 'clientMutationID': 'c'}; Field "
         "'clientMutationID' is not defined by type 'AddTodoInput'."),
    ],
    ids=["field", "argument", "variable"],
)
def test_suggestions_are_off_in_production(
    client: Any, token: str, production_client: Any, query: str, variables: Any, development: str, production: str
) -> None:
    """"Did you mean ...?" would spell the schema out to anyone guessing, with introspection off."""
    body = {"query": query, "variables": variables}
    assert post(client, token, body).get_json()["errors"][0]["message"] == development
    production_token = Auth(production_client).token("grace@example.com")
    assert post(production_client, production_token, body).get_json()["errors"][0]["message"] == production
