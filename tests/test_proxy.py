"""POST /execute-graphql: our app forwards to an upstream (our own app, or stand-ins) with a service identity."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from standins import CLIENT_ID, CLIENT_SECRET, HASURA_EXPIRED, Canned, IdentityProvider
from support import ROOT, TEST_SETTINGS, Recorder, serve_wsgi

from config import ConfigError, load_settings

VIEWER = {"query": "query Who { viewer { email } }", "operationName": "Who"}


def proxy_client(settings: dict[str, Any], **upstream: Any) -> Any:
    from app import create_app

    return create_app({**settings, **upstream}).test_client()


def caller_token(client: Any, email: str = "ada@example.com") -> tuple[str, str]:
    """Sign up `email` at `client`'s app; return its access token and user id."""
    from models import User

    body = client.post("/signup", json={"email": email, "password": "correct horse battery"}).get_json()
    return body["access_token"], User.find_by_email(email).id


def post(client: Any, token: str | None, body: Any = VIEWER, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if "data" not in kwargs:
        kwargs["json"] = body
    return client.post("/execute-graphql", headers=headers, **kwargs)


@pytest.fixture
def upstream(app: Any) -> Iterator[tuple[str, Recorder]]:
    """Serve our own app as the upstream; return its /graphql URL and a recorder of its requests."""
    recorder = Recorder(app.wsgi_app)
    app.wsgi_app = recorder
    with serve_wsgi(app) as base_url:
        yield f"{base_url}/graphql", recorder


@pytest.fixture
def service_tokens(app: Any, auth: Any) -> Iterator[tuple[str, list[timedelta]]]:
    """Serve a token endpoint (client credentials) issuing the upstream's JWTs for service@example.com.

    Returns its URL and the lifetimes of the next tokens it issues (then the app's default).
    """
    from flask_jwt_extended import create_access_token

    from models import User

    auth.signup("service@example.com")
    service_id = User.find_by_email("service@example.com").id
    lifetimes: list[timedelta] = []

    def mint() -> str:
        with app.app_context():
            expires = lifetimes.pop(0) if lifetimes else None
            return create_access_token(identity=service_id, additional_claims={"ver": 0}, expires_delta=expires)

    identity = IdentityProvider(expires_in=60, mint=mint)
    with serve_wsgi(identity) as base_url:
        yield f"{base_url}/oauth2/token", lifetimes


def credentials(token_url: str) -> dict[str, str]:
    return {"UPSTREAM_TOKEN_URL": token_url, "UPSTREAM_CLIENT_ID": CLIENT_ID, "UPSTREAM_CLIENT_SECRET": CLIENT_SECRET}


def test_forwards_with_the_service_identity_never_the_callers_token(
    settings: dict[str, Any], upstream: tuple[str, Recorder], service_tokens: tuple[str, list[timedelta]]
) -> None:
    url, recorder = upstream
    client = proxy_client(settings, UPSTREAM_GRAPHQL_URL=url, **credentials(service_tokens[0]))
    token, _user_id = caller_token(client)
    recorder.clear()
    response = post(client, token)
    assert (response.status_code, response.get_json()) == (200, {"data": {"viewer": {"email": "service@example.com"}}})
    assert recorder.paths() == [("/graphql", 200)]
    assert token not in json.dumps(recorder.headers)


def test_an_expired_service_token_is_replaced_and_the_request_resent(
    settings: dict[str, Any], upstream: tuple[str, Recorder], service_tokens: tuple[str, list[timedelta]]
) -> None:
    url, recorder = upstream
    token_url, lifetimes = service_tokens
    lifetimes.append(timedelta(seconds=-5))  # the first service token has already expired
    client = proxy_client(settings, UPSTREAM_GRAPHQL_URL=url, **credentials(token_url))
    token, _user_id = caller_token(client)
    recorder.clear()
    response = post(client, token)
    assert (response.status_code, response.get_json()) == (200, {"data": {"viewer": {"email": "service@example.com"}}})
    assert recorder.paths() == [("/graphql", 401), ("/graphql", 200)]


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, {"data": {"ok": True}}, "application/json"),
        (200, {"data": None, "errors": [{"message": "no", "extensions": {"code": "validation-failed"}}]},
         "application/json; charset=utf-8"),
        (400, {"errors": [{"message": "bad"}]}, "application/graphql-response+json"),
        (500, {"errors": [{"message": "upstream broke"}]}, "application/json"),
    ],
    ids=["data", "errors", "graphql-response-400", "json-500"],
)
def test_answers_with_the_upstreams_status_and_body(
    settings: dict[str, Any], app: Any, status: int, body: Any, content_type: str
) -> None:
    canned = Canned(status, body, content_type)
    with serve_wsgi(canned) as base_url:
        client = proxy_client(settings, UPSTREAM_GRAPHQL_URL=f"{base_url}/v1/graphql", UPSTREAM_ADMIN_SECRET="adm")
        response = post(client, caller_token(client)[0], {"query": "{ a }", "variables": {"x": 1}})
    assert (response.status_code, response.get_json(), response.content_type) == (status, body, content_type)
    assert canned.bodies == [{"query": "{ a }", "variables": {"x": 1}}]


def test_forward_user_sends_the_callers_id_with_the_admin_secret(settings: dict[str, Any], app: Any) -> None:
    canned = Canned()
    with serve_wsgi(canned) as base_url:
        client = proxy_client(
            settings, UPSTREAM_GRAPHQL_URL=f"{base_url}/v1/graphql", UPSTREAM_ADMIN_SECRET="adm",
            UPSTREAM_FORWARD_USER="true",
        )
        token, user_id = caller_token(client)
        client.set_cookie("session", "caller-cookie")
        assert post(client, token).status_code == 200
    sent = canned.headers[0]
    assert {name: sent.get(name) for name in ("x-hasura-admin-secret", "x-hasura-user-id", "x-hasura-role")} == {
        "x-hasura-admin-secret": "adm", "x-hasura-user-id": user_id, "x-hasura-role": "user"
    }
    assert tuple(name for name in ("authorization", "cookie") if name not in sent) == ("authorization", "cookie")


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"token": None}, 401, "UNAUTHENTICATED"),
        ({"data": "{}", "content_type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        ({"data": "{not json", "content_type": "application/json"}, 400, "MALFORMED_JSON"),
        ({"body": ["query"]}, 400, "VALIDATION_FAILED"),
        ({"body": {}}, 400, "VALIDATION_FAILED"),
        ({"body": {"query": "  "}}, 400, "VALIDATION_FAILED"),
        ({"body": {"query": "{ a }", "variables": [1]}}, 400, "VALIDATION_FAILED"),
        ({"body": {"query": "{ a }", "operationName": 7}}, 400, "VALIDATION_FAILED"),
        ({"body": {"query": "{ a }" + " " * 70_000}}, 413, "PAYLOAD_TOO_LARGE"),
    ],
    ids=["no-token", "not-json-type", "malformed", "array", "no-query", "blank-query", "variables-list",
         "operation-name-int", "too-large"],
)
def test_bad_requests_get_a_code_and_never_reach_the_upstream(
    settings: dict[str, Any], app: Any, kwargs: dict[str, Any], status: int, code: str
) -> None:
    canned = Canned()
    with serve_wsgi(canned) as base_url:
        client = proxy_client(settings, UPSTREAM_GRAPHQL_URL=f"{base_url}/v1/graphql", UPSTREAM_ADMIN_SECRET="adm")
        token = caller_token(client)[0]
        response = post(client, kwargs.pop("token", token), **kwargs)
    assert (response.status_code, response.get_json()["errors"][0]["extensions"]["code"]) == (status, code)
    assert canned.bodies == []


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1/graphql"


def test_an_upstream_that_is_down_is_a_502_with_a_code(settings: dict[str, Any], app: Any, caplog: Any) -> None:
    client = proxy_client(settings, UPSTREAM_GRAPHQL_URL=closed_port_url(), UPSTREAM_ADMIN_SECRET="adm")
    token = caller_token(client)[0]
    caplog.set_level("DEBUG")
    response = post(client, token, {"query": "{ secretMarker }", "variables": {"password": "hunter2-marker"}})
    error = response.get_json()["errors"][0]
    assert (response.status_code, error["extensions"]["code"]) == (502, "UPSTREAM_UNAVAILABLE")
    assert error["extensions"]["requestId"] == response.headers["X-Request-ID"]
    assert "secretMarker" not in caplog.text and "hunter2-marker" not in caplog.text  # the body is never logged
    assert "upstream GraphQL request failed: ConnectError" in caplog.text


def test_an_upstream_that_does_not_answer_in_time_is_a_504(settings: dict[str, Any], app: Any) -> None:
    canned = Canned()
    canned.delay = 0.6
    with serve_wsgi(canned) as base_url:
        client = proxy_client(
            settings, UPSTREAM_GRAPHQL_URL=f"{base_url}/v1/graphql", UPSTREAM_ADMIN_SECRET="adm", UPSTREAM_TIMEOUT=0.2
        )
        response = post(client, caller_token(client)[0], {"query": "mutation { a }"})
    assert (response.status_code, response.get_json()["errors"][0]["extensions"]["code"]) == (504, "UPSTREAM_TIMEOUT")
    assert len(canned.bodies) == 1  # a mutation that may have run is not resent


@pytest.mark.parametrize(
    ("status", "body", "content_type", "code"),
    [
        (502, "<html>Bad Gateway</html>", "text/html", "UPSTREAM_BAD_RESPONSE"),
        (401, {"errors": [{"message": "no"}]}, "application/json", "UPSTREAM_AUTH_FAILED"),
        (200, {"errors": [HASURA_EXPIRED]}, "application/json", "UPSTREAM_AUTH_FAILED"),
    ],
    ids=["html", "401", "hasura-invalid-jwt"],
)
def test_unusable_upstream_answers_are_502s(
    settings: dict[str, Any], app: Any, status: int, body: Any, content_type: str, code: str
) -> None:
    canned = Canned(status, body, content_type)
    with serve_wsgi(canned) as base_url:
        client = proxy_client(settings, UPSTREAM_GRAPHQL_URL=f"{base_url}/v1/graphql", UPSTREAM_ADMIN_SECRET="adm")
        response = post(client, caller_token(client)[0])
    assert (response.status_code, response.get_json()["errors"][0]["extensions"]["code"]) == (502, code)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_an_upstream_answer_past_the_bound_is_a_502_read_no_further(
    settings: dict[str, Any], app: Any, declared: bool, caplog: Any
) -> None:
    canned = Canned(200, {"data": {"pad": "x" * 5000}})
    served: Any = canned if declared else lambda environ, start: (  # a body of unknown length: chunked
        iter(canned(environ, lambda status, headers: start(status, [h for h in headers if h[0] != "Content-Length"])))
    )
    with serve_wsgi(served) as base_url:
        client = proxy_client(settings, UPSTREAM_GRAPHQL_URL=f"{base_url}/v1/graphql", UPSTREAM_ADMIN_SECRET="adm",
                              UPSTREAM_MAX_RESPONSE_BYTES=1000)
        response = post(client, caller_token(client)[0])
    assert (response.status_code, response.get_json()["errors"][0]) == (502, {
        "message": "The upstream GraphQL service answered with more than 1000 bytes.",
        "extensions": {"code": "UPSTREAM_RESPONSE_TOO_LARGE", "requestId": response.headers["X-Request-ID"]},
    })
    assert canned.headers[0]["accept-encoding"] == "identity"
    assert len(canned.bodies) == 1  # not retried
    assert "UPSTREAM_MAX_RESPONSE_BYTES (1000)" in caplog.text


def test_a_refused_service_identity_is_a_502(settings: dict[str, Any], app: Any) -> None:
    identity = IdentityProvider()
    with serve_wsgi(identity) as base_url:
        client = proxy_client(
            settings, UPSTREAM_GRAPHQL_URL=f"{base_url}/v1/graphql", UPSTREAM_TOKEN_URL=f"{base_url}/oauth2/token",
            UPSTREAM_CLIENT_ID=CLIENT_ID, UPSTREAM_CLIENT_SECRET="not-the-secret",
        )
        response = post(client, caller_token(client)[0])
    assert (response.status_code, response.get_json()["errors"][0]["extensions"]["code"]) == (
        502, "UPSTREAM_AUTH_FAILED"
    )
    assert identity.graphql_bodies == []


def test_the_proxy_is_off_unless_configured(client: Any) -> None:
    assert client.post("/execute-graphql", json=VIEWER).status_code == 404


def test_the_default_app_imports_neither_httpx_nor_the_client() -> None:
    """Cold starts pay for every import: the proxy's dependencies load only when it is on."""
    settings = {**TEST_SETTINGS, "APP_ENV": "production", "DYNAMODB_HOST": "http://127.0.0.1:9"}
    script = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); from app import create_app; create_app({settings!r}); "
        "print(sorted(name for name in ('httpx', 'client', 'proxy', 'graphiql', 'anyio') if name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert (result.stdout.strip(), result.returncode) == ("[]", 0), result.stderr


# Configuration: incomplete, ambiguous or unsafe settings stop the start with one line.

BASE = {"UPSTREAM_GRAPHQL_URL": "https://hasura.example.com/v1/graphql"}
CREDENTIALS = {"UPSTREAM_TOKEN_URL": "https://auth.example.com/oauth2/token", "UPSTREAM_CLIENT_ID": "id",
               "UPSTREAM_CLIENT_SECRET": "secret"}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"APP_ENV": "production"}, "UPSTREAM_GRAPHQL_URL is set without a service identity: production needs"),
        ({"UPSTREAM_TOKEN_URL": CREDENTIALS["UPSTREAM_TOKEN_URL"]},
         "UPSTREAM_TOKEN_URL set without UPSTREAM_CLIENT_ID, UPSTREAM_CLIENT_SECRET: client credentials need all"),
        ({**CREDENTIALS, "UPSTREAM_ADMIN_SECRET": "adm"}, "Set either UPSTREAM_ADMIN_SECRET or the UPSTREAM_TOKEN_URL"),
        ({**CREDENTIALS, "UPSTREAM_FORWARD_USER": "true"}, "UPSTREAM_FORWARD_USER needs UPSTREAM_ADMIN_SECRET"),
        ({"UPSTREAM_ADMIN_SECRET": "adm", "UPSTREAM_TIMEOUT": "30"}, "UPSTREAM_TIMEOUT must be more than 0 and at"),
        ({"UPSTREAM_ADMIN_SECRET": "adm", "UPSTREAM_TIMEOUT": "0"}, "UPSTREAM_TIMEOUT must be more than 0 and at"),
        ({"UPSTREAM_ADMIN_SECRET": "adm", "UPSTREAM_MAX_RESPONSE_BYTES": "0"},
         "UPSTREAM_MAX_RESPONSE_BYTES must be positive"),
        ({"UPSTREAM_GRAPHQL_URL": "hasura:8080"}, "UPSTREAM_GRAPHQL_URL must be an http(s) URL"),
        ({"APP_ENV": "production", "UPSTREAM_ADMIN_SECRET": "adm", "UPSTREAM_GRAPHQL_URL": "http://hasura/v1/graphql"},
         "UPSTREAM_GRAPHQL_URL must use https in production"),
    ],
    ids=["production-no-identity", "partial-credentials", "both-identities", "forward-user-with-jwt",
         "timeout-over-api-gateway", "timeout-zero", "no-response-bytes", "not-a-url", "production-http"],
)
def test_upstream_settings_that_cannot_work_are_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(environ={**BASE, **environ})
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    "environ",
    [{"APP_ENV": "production", **CREDENTIALS}, {"APP_ENV": "production", "UPSTREAM_ADMIN_SECRET": "adm"}, {}],
    ids=["production-credentials", "production-admin-secret", "development-without-identity"],
)
def test_upstream_settings_that_work_are_accepted(environ: dict[str, str]) -> None:
    assert load_settings(environ={**BASE, **environ})["UPSTREAM_GRAPHQL_URL"] == BASE["UPSTREAM_GRAPHQL_URL"]


@pytest.mark.parametrize(
    ("environ", "outcome"),
    [
        ({"APP_ENV": "production"}, BASE["UPSTREAM_GRAPHQL_URL"]),
        ({"APP_ENV": "production", "UPSTREAM_TOKEN_URL": CREDENTIALS["UPSTREAM_TOKEN_URL"]},
         BASE["UPSTREAM_GRAPHQL_URL"]),
        ({"APP_ENV": "production", "UPSTREAM_GRAPHQL_URL": "http://hasura/v1/graphql"},
         "UPSTREAM_GRAPHQL_URL must use https in production: the service identity travels with every request"),
        ({"UPSTREAM_TIMEOUT": "30"}, "UPSTREAM_TIMEOUT must be more than 0 and at most 25 seconds"),
    ],
    ids=["production-no-identity-yet", "production-partial-credentials-yet", "production-http", "timeout"],
)
def test_before_the_secrets_are_read_only_the_identity_goes_unchecked(
    environ: dict[str, str], outcome: str
) -> None:
    """lambda_handler.load_secrets reads the identity from SSM after loading the settings: until then a
    missing identity is no error, but what needs no secret is checked at once."""
    try:
        result = load_settings(environ={**BASE, **environ}, before_secrets=True)["UPSTREAM_GRAPHQL_URL"]
    except ConfigError as error:
        result = str(error)
    assert result == outcome
