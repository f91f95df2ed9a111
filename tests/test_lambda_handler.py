"""lambda_handler: API Gateway events (HTTP API v2, REST API v1) served by the WSGI app, and the cold start."""

from __future__ import annotations

import base64
import copy
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from support import PASSWORD, ROOT

import logs
from config import ConfigError, load_settings
from lambda_handler import _Served, after_restore, load_secrets, make_handler
from local_dynamodb import LocalDynamoDB

EVENTS = Path(__file__).resolve().parent / "events"
V1, V2 = "1.0", "2.0"  # REST API (payload 1.0) and HTTP API (payload 2.0)
VIEWER_QUERY = "{ viewer { email } }"

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that the handler reads."""

    aws_request_id: str = "7c9a2f0e-5b1d-4e8a-9f6c-3d2b1a0e9f8d"
    function_name: str = "relay-api-test-api"


@cache
def _fixture(version: str) -> dict[str, Any]:
    name = "http_api_v2.json" if version == V2 else "rest_api_v1.json"
    return json.loads((EVENTS / name).read_text())


def api_event(
    version: str,
    method: str,
    path: str,
    *,
    json_body: Any = None,
    headers: dict[str, str | list[str]] | None = None,
    cookies: list[str] | None = None,
    query: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """Return the sample event of API Gateway payload `version`, changed into this request.

    A list in `headers` is one header sent several times; `cookies` are `name=value` pairs.
    """
    event = copy.deepcopy(_fixture(version))
    raw = b"" if json_body is None else json.dumps(json_body).encode()
    event["body"] = base64.b64encode(raw).decode() if base64_body else (raw.decode() or None)
    event["isBase64Encoded"] = base64_body
    extra = {name: value if isinstance(value, list) else [value] for name, value in (headers or {}).items()}
    if version == V2:
        event["rawPath"] = path
        event["rawQueryString"] = urlencode(query or {})
        event["requestContext"]["http"].update(method=method, path=path)
        event["cookies"] = list(cookies or [])
        sent = event["headers"]
        if not raw:
            del sent["content-type"]
        sent["content-length"] = str(len(raw))
        for name, values in extra.items():
            sent[name.lower()] = ",".join(values)  # how HTTP APIs pass a repeated header
        return event
    event["path"] = path
    event["httpMethod"] = method
    event["requestContext"].update(httpMethod=method, path=f"/{event['requestContext']['stage']}{path}")
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    event["queryStringParameters"] = dict(query) if query else None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    if cookies:
        extra["Cookie"] = ["; ".join(cookies)]
    if not raw:
        del event["headers"]["Content-Type"], event["multiValueHeaders"]["Content-Type"]
    for name, values in extra.items():
        event["headers"][name] = values[-1]  # REST APIs keep the last value here...
        event["multiValueHeaders"][name] = values  # ...and every value here
    return event


def body_of(response: dict[str, Any]) -> Any:
    """Return the JSON body of a Lambda proxy response."""
    body = response["body"]
    return json.loads(base64.b64decode(body) if response.get("isBase64Encoded") else body)


def headers_of(response: dict[str, Any]) -> dict[str, list[str]]:
    """Return the response headers, lowercased, each with all its values."""
    if "multiValueHeaders" in response:
        return {name.lower(): values for name, values in response["multiValueHeaders"].items()}
    return {name.lower(): [value] for name, value in response["headers"].items()}


def signup_login_and_query(invoke: Invoke, version: str, email: str = "ada@example.com") -> None:
    """Sign up (base64 body), log in and ask for the viewer, asserting each answer."""
    credentials = {"email": email, "password": PASSWORD}
    signup = invoke(
        api_event(version, "POST", "/signup", json_body={**credentials, "firstName": "Ada"}, base64_body=True)
    )
    assert signup["statusCode"] == 201, signup
    assert headers_of(signup)["content-type"] == ["application/json"]
    assert body_of(signup)["user"]["email"] == email

    login = invoke(api_event(version, "POST", "/login", json_body=credentials))
    assert login["statusCode"] == 200, login
    token = body_of(login)["access_token"]

    query = invoke(
        api_event(
            version,
            "POST",
            "/graphql",
            json_body={"query": VIEWER_QUERY},
            headers={"Authorization": f"Bearer {token}"},
        )
    )
    assert query["statusCode"] == 200, query
    assert body_of(query) == {"data": {"viewer": {"email": email}}}


@pytest.fixture
def invoke(app: Any) -> Invoke:
    handler = make_handler(app)
    return lambda event: handler(event, LambdaContext())


@pytest.fixture
def bearer(invoke: Invoke) -> dict[str, str]:
    """Sign up through the handler and return an Authorization header."""
    signup = invoke(api_event(V2, "POST", "/signup", json_body={"email": "ada@example.com", "password": PASSWORD}))
    return {"Authorization": f"Bearer {body_of(signup)['access_token']}"}


@pytest.mark.parametrize("version", [V2, V1])
def test_signup_login_and_an_authenticated_query(invoke: Invoke, version: str) -> None:
    """GIVEN API Gateway events WHEN signing up, logging in and querying THEN each answers as over HTTP."""
    signup_login_and_query(invoke, version)


def test_http_api_answers_with_lowercase_headers_and_no_cookies(invoke: Invoke, bearer: dict[str, str]) -> None:
    """An HTTP API response has single-value `headers` and an empty `cookies` list when none are set."""
    response = invoke(api_event(V2, "POST", "/graphql", json_body={"query": "{ __typename }"}, headers=bearer))
    assert response["statusCode"] == 200
    assert response["cookies"] == []
    assert response["headers"]["content-type"] == "application/json; charset=utf-8"
    assert response["isBase64Encoded"] is False
    assert body_of(response) == {"data": {"__typename": "Query"}}


def test_rest_api_multi_value_headers_reach_the_app(invoke: Invoke, bearer: dict[str, str]) -> None:
    """GIVEN a REST API event with Accept sent twice THEN the app sees both values (the second one wins here)."""
    event = api_event(
        V1,
        "POST",
        "/graphql",
        json_body={"query": "{ __typename }"},
        headers={"Accept": ["application/json;q=0.5", "application/graphql-response+json"], **bearer},
    )
    response = invoke(event)
    assert response["statusCode"] == 200
    assert headers_of(response)["content-type"] == ["application/graphql-response+json; charset=utf-8"]


def test_rest_api_query_string_reaches_the_app(invoke: Invoke, bearer: dict[str, str]) -> None:
    """A GET with the query in the query string (GraphQL over HTTP) works through a REST API event."""
    response = invoke(api_event(V1, "GET", "/graphql", query={"query": "{ __typename }"}, headers=bearer))
    assert response["statusCode"] == 200, response
    assert body_of(response) == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("version", [V2, V1])
def test_auth_cookies_are_set_and_sent_back(app: Any, settings: dict[str, Any], version: str) -> None:
    """GIVEN cookie mode WHEN logging in THEN every Set-Cookie comes back, and the cookies authenticate a query."""
    from app import create_app

    cookie_app = create_app({**settings, "AUTH_COOKIES": True})
    handler = make_handler(cookie_app)
    signup = handler(
        api_event(version, "POST", "/signup", json_body={"email": "ada@example.com", "password": PASSWORD}),
        LambdaContext(),
    )
    assert signup["statusCode"] == 201, signup
    set_cookies = signup["cookies"] if version == V2 else signup["multiValueHeaders"]["Set-Cookie"]
    jar = dict(cookie.split(";", 1)[0].split("=", 1) for cookie in set_cookies)
    assert sorted(jar) == ["access_token_cookie", "csrf_access_token", "csrf_refresh_token", "refresh_token_cookie"]

    query = handler(
        api_event(
            version,
            "POST",
            "/graphql",
            json_body={"query": VIEWER_QUERY},
            cookies=[f"{name}={value}" for name, value in jar.items()],
            headers={"X-CSRF-TOKEN": jar["csrf_access_token"]},
        ),
        LambdaContext(),
    )
    assert query["statusCode"] == 200, query
    assert body_of(query) == {"data": {"viewer": {"email": "ada@example.com"}}}


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """Return the root logger, and restore its handlers and level afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_unexpected_errors_are_masked_and_logged_as_json_with_the_invocation_id(
    app: Any, root_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a failing endpoint THEN the client gets a masked 500 whose requestId is the invocation id in the log."""

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a detail no client may see")

    logs.configure_json(logging.WARNING)  # idempotent: another test's production app may have done it
    response = make_handler(app)(api_event(V2, "GET", "/boom"), LambdaContext(aws_request_id="invocation-1"))

    assert response["statusCode"] == 500
    body = body_of(response)
    assert body == {"code": "INTERNAL_SERVER_ERROR", "message": "Internal server error.", "requestId": "invocation-1"}
    [line] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line == {
        "time": line["time"],
        "level": "ERROR",
        "logger": "app",
        "message": "unexpected error (request invocation-1)",
        "requestId": "invocation-1",
        "exception": line["exception"],
    }
    assert line["exception"].endswith("RuntimeError: a detail no client may see")
    assert logs.request_id.get() is None  # reset once the invocation is answered


def test_production_logging_is_json_lines_on_stdout(
    root_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN the Lambda runtime's handler WHEN configuring production logging (twice) THEN one JSON handler is left."""

    class LambdaLoggerHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raise AssertionError("the runtime's handler should have been removed")

    root_logger.addHandler(LambdaLoggerHandler())
    for _ in range(2):
        logs.configure({"APP_ENV": "production", "LOG_LEVEL": "INFO"})
    assert [type(handler).__name__ for handler in root_logger.handlers].count("JSONHandler") == 1
    assert not any(isinstance(handler, LambdaLoggerHandler) for handler in root_logger.handlers)

    token = logs.request_id.set("invocation-2")
    try:
        logging.getLogger("somewhere").info("served %s", "ünïcode")
    finally:
        logs.request_id.reset(token)
    line = json.loads(capsys.readouterr().out)
    assert line == {
        "time": line["time"],
        "level": "INFO",
        "logger": "somewhere",
        "message": "served ünïcode",
        "requestId": "invocation-2",
    }
    assert line["time"].endswith("Z")


# The cold start, in a fresh process from the source tree (tests/test_deploy.py does it from the zip).


def _import_handler(
    tmp_path: Path, code: str = "import lambda_handler", **environ: str
) -> subprocess.CompletedProcess[str]:
    """Import lambda_handler in a fresh process as Lambda would, with only `environ` set."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "APP_ENV": "production",
        "AWS_LAMBDA_FUNCTION_NAME": "relay-api-test-api",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "TABLE_PREFIX": "coldstart_",
        **environ,
    }
    # The working directory is empty, like /var/task holds no .env.
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "JWT_SECRET_KEY is not set: production needs a random secret of at least 32 characters"),
        ({"JWT_SECRET_KEY": "too-short"}, "JWT_SECRET_KEY is only 9 characters long"),
        (
            {"JWT_SECRET_PARAMETER": "/relay-api/test/missing"},
            "JWT_SECRET_PARAMETER /relay-api/test/missing: SSM answered ParameterNotFound",
        ),
        (
            {"JWT_SECRET_KEY": "k" * 40, "JWT_ALGORITHM": "ES256", "JWT_PRIVATE_KEY_PARAMETER": "/relay-api/t/nokey"},
            "JWT_PRIVATE_KEY_PARAMETER /relay-api/t/nokey: SSM answered ParameterNotFound",
        ),
        (
            {"JWT_SECRET_KEY": "k" * 40, "HASURA_CLAIMS": "true"},
            "HASURA_CLAIMS is on but HASURA_ACTION_SECRET is not set: production needs the secret",
        ),
        (  # not packaged: the trusted documents are not there, so nothing runs rather than everything
            {"JWT_SECRET_KEY": "k" * 40, "PERSISTED_QUERIES_FILE": "persisted_queries.json",
             "TRUSTED_DOCUMENTS_ONLY": "true"},
            "PERSISTED_QUERIES_FILE persisted_queries.json: cannot read it (No such file or directory).",
        ),
    ],
)
def test_a_missing_or_weak_secret_stops_the_cold_start_with_one_line(
    tmp_path: Path, dynamodb: LocalDynamoDB, environ: dict[str, str], message: str
) -> None:
    """GIVEN no usable JWT secret WHEN Lambda imports the handler THEN it exits 1 after one JSON line saying why."""
    result = _import_handler(tmp_path, AWS_ENDPOINT_URL_SSM=dynamodb.url, DYNAMODB_HOST=dynamodb.url, **environ)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    [line] = result.stdout.splitlines()
    entry = json.loads(line)
    assert (entry["level"], entry["logger"]) == ("CRITICAL", "lambda_handler")
    assert entry["message"].startswith(message), entry["message"]


def _put_secret(url: str, name: str, value: str) -> None:
    import botocore.session

    ssm = botocore.session.get_session().create_client(
        "ssm", region_name="us-east-1", endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def test_the_cold_start_reads_the_secret_from_ssm_and_sends_no_dynamodb_request(
    tmp_path: Path, dynamodb: LocalDynamoDB
) -> None:
    """GIVEN the secret in SSM WHEN Lambda imports the handler THEN the app has it, after one GetParameters only."""
    secret = "from-ssm-" + "s" * 40
    _put_secret(dynamodb.url, "/relay-api/test/jwt-secret", secret)
    dynamodb.operations.clear()
    result = _import_handler(
        tmp_path,
        "import lambda_handler, run; print(run.app.config['JWT_SECRET_KEY'] == " + repr(secret) + ")",
        JWT_SECRET_PARAMETER="/relay-api/test/jwt-secret",
        AWS_ENDPOINT_URL_SSM=dynamodb.url,
        DYNAMODB_HOST=dynamodb.url,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == ["True"]
    assert dynamodb.operations == ["GetParameters"]


def test_the_cold_start_reads_every_named_secret_in_one_round_trip(tmp_path: Path, dynamodb: LocalDynamoDB) -> None:
    """GIVEN the JWT secret, an ES256 private key and the Hasura secret in SSM WHEN Lambda imports the handler
    THEN the app signs with the key and serves the Hasura endpoints, after one GetParameters call."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    upstream_secret = "upstream-admin-" + "u" * 40
    values = {
        "jwt-secret": "from-ssm-" + "s" * 40,
        "jwt-private-key": pem,
        "hasura-secret": "h" * 40,
        "upstream-admin-secret": upstream_secret,
    }
    for name, value in values.items():
        _put_secret(dynamodb.url, f"/relay-api/all/{name}", value)
    dynamodb.operations.clear()
    check = (
        "import lambda_handler, run; c = run.app.config; "
        "print([c['JWT_PRIVATE_KEY'] == " + repr(pem) + ", c['HASURA_ACTION_SECRET'], 'hasura' in run.app.blueprints, "
        "c['UPSTREAM_ADMIN_SECRET'] == " + repr(upstream_secret) + ", 'execute_graphql' in run.app.view_functions])"
    )
    result = _import_handler(
        tmp_path,
        check,
        JWT_SECRET_PARAMETER="/relay-api/all/jwt-secret",
        JWT_ALGORITHM="ES256",
        JWT_PRIVATE_KEY_PARAMETER="/relay-api/all/jwt-private-key",
        HASURA_ACTION_SECRET_PARAMETER="/relay-api/all/hasura-secret",
        HASURA_CLAIMS="true",
        UPSTREAM_GRAPHQL_URL="https://hasura.example.com/v1/graphql",
        UPSTREAM_ADMIN_SECRET_PARAMETER="/relay-api/all/upstream-admin-secret",
        UPSTREAM_CLIENT_SECRET_PARAMETER="/relay-api/all/upstream-client-secret",  # no UPSTREAM_TOKEN_URL: unread
        AWS_ENDPOINT_URL_SSM=dynamodb.url,
        DYNAMODB_HOST=dynamodb.url,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [str([True, "h" * 40, True, True, True])]  # nothing logged
    assert dynamodb.operations == ["GetParameters"]


def test_a_missing_hasura_secret_parameter_leaves_hasura_off(tmp_path: Path, dynamodb: LocalDynamoDB) -> None:
    """The Hasura secret is optional: without its parameter the endpoints are off, and a line says so."""
    _put_secret(dynamodb.url, "/relay-api/test/jwt-secret", "from-ssm-" + "s" * 40)
    result = _import_handler(
        tmp_path,
        "import lambda_handler, run; print('hasura' in run.app.blueprints)",
        JWT_SECRET_PARAMETER="/relay-api/test/jwt-secret",
        JWT_PRIVATE_KEY_PARAMETER="/relay-api/test/jwt-private-key",  # HS256: not even asked for
        HASURA_ACTION_SECRET_PARAMETER="/relay-api/test/no-hasura-secret",
        AWS_ENDPOINT_URL_SSM=dynamodb.url,
        DYNAMODB_HOST=dynamodb.url,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    *logged, printed = result.stdout.splitlines()
    assert printed == "False"
    assert [(json.loads(line)["level"], json.loads(line)["message"]) for line in logged] == [
        ("WARNING", "HASURA_ACTION_SECRET_PARAMETER /relay-api/test/no-hasura-secret does not exist: "
         "HASURA_ACTION_SECRET is not set")
    ]


def test_a_missing_upstream_secret_parameter_stops_the_cold_start(tmp_path: Path, dynamodb: LocalDynamoDB) -> None:
    """GIVEN /execute-graphql on and its admin secret's parameter never created WHEN Lambda imports the handler
    THEN a warning names the parameter, and the configuration check stops the start: no proxy without identity."""
    result = _import_handler(
        tmp_path,
        JWT_SECRET_KEY="k" * 40,
        UPSTREAM_GRAPHQL_URL="https://hasura.example.com/v1/graphql",
        UPSTREAM_ADMIN_SECRET_PARAMETER="/relay-api/test/no-upstream-admin-secret",
        AWS_ENDPOINT_URL_SSM=dynamodb.url,
        DYNAMODB_HOST=dynamodb.url,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    assert [(json.loads(line)["level"], json.loads(line)["message"]) for line in result.stdout.splitlines()] == [
        ("WARNING", "UPSTREAM_ADMIN_SECRET_PARAMETER /relay-api/test/no-upstream-admin-secret does not exist: "
         "UPSTREAM_ADMIN_SECRET is not set"),
        ("CRITICAL", "UPSTREAM_GRAPHQL_URL is set without a service identity: production needs UPSTREAM_ADMIN_SECRET "
         "or UPSTREAM_TOKEN_URL, UPSTREAM_CLIENT_ID and UPSTREAM_CLIENT_SECRET"),
    ]


UPSTREAM = {"UPSTREAM_GRAPHQL_URL": "https://hasura.example.com/v1/graphql"}
CLIENT_CREDENTIALS = {"UPSTREAM_TOKEN_URL": "https://auth.example.com/oauth2/token", "UPSTREAM_CLIENT_ID": "relay-api"}
UPSTREAM_SECRETS = {"UPSTREAM_CLIENT_SECRET": "client-" + "c" * 40, "UPSTREAM_ADMIN_SECRET": "admin-" + "a" * 40}
NO_IDENTITY = (
    "UPSTREAM_GRAPHQL_URL is set without a service identity: production needs UPSTREAM_ADMIN_SECRET or "
    "UPSTREAM_TOKEN_URL, UPSTREAM_CLIENT_ID and UPSTREAM_CLIENT_SECRET"
)


@pytest.mark.parametrize(
    ("environ", "created", "read", "missing", "outcome"),
    [
        ({}, {"UPSTREAM_CLIENT_SECRET", "UPSTREAM_ADMIN_SECRET"}, set(), set(), {}),
        (UPSTREAM, {"UPSTREAM_CLIENT_SECRET", "UPSTREAM_ADMIN_SECRET"}, {"UPSTREAM_ADMIN_SECRET"}, set(),
         {"UPSTREAM_ADMIN_SECRET": UPSTREAM_SECRETS["UPSTREAM_ADMIN_SECRET"]}),
        ({**UPSTREAM, **CLIENT_CREDENTIALS}, {"UPSTREAM_CLIENT_SECRET", "UPSTREAM_ADMIN_SECRET"},
         {"UPSTREAM_CLIENT_SECRET"}, set(), {"UPSTREAM_CLIENT_SECRET": UPSTREAM_SECRETS["UPSTREAM_CLIENT_SECRET"]}),
        ({**UPSTREAM, "UPSTREAM_FORWARD_USER": "true"}, {"UPSTREAM_ADMIN_SECRET"}, {"UPSTREAM_ADMIN_SECRET"}, set(),
         {"UPSTREAM_ADMIN_SECRET": UPSTREAM_SECRETS["UPSTREAM_ADMIN_SECRET"]}),
        (UPSTREAM, {"UPSTREAM_CLIENT_SECRET"}, set(), {"UPSTREAM_ADMIN_SECRET"}, NO_IDENTITY),
        ({**UPSTREAM, "UPSTREAM_ADMIN_SECRET_PARAMETER": ""}, {"UPSTREAM_ADMIN_SECRET"}, set(), set(), NO_IDENTITY),
        ({**UPSTREAM, **CLIENT_CREDENTIALS}, {"UPSTREAM_ADMIN_SECRET"}, set(), {"UPSTREAM_CLIENT_SECRET"},
         "UPSTREAM_TOKEN_URL, UPSTREAM_CLIENT_ID set without UPSTREAM_CLIENT_SECRET: "
         "client credentials need all three"),
        ({**UPSTREAM, **CLIENT_CREDENTIALS, "UPSTREAM_FORWARD_USER": "true"},
         {"UPSTREAM_CLIENT_SECRET", "UPSTREAM_ADMIN_SECRET"}, {"UPSTREAM_CLIENT_SECRET"}, set(),
         "UPSTREAM_FORWARD_USER needs UPSTREAM_ADMIN_SECRET: Hasura takes x-hasura-* headers as the session only "
         "from requests that carry the admin secret"),
    ],
    ids=[
        "proxy off: neither read",
        "admin secret",
        "client credentials: only the client secret",
        "forward user with the admin secret",
        "admin secret parameter missing",
        "no admin secret parameter named",
        "client secret parameter missing",
        "forward user with client credentials",
    ],
)
def test_load_secrets_reads_the_upstream_identity_then_the_configuration_check_judges_it(
    monkeypatch: pytest.MonkeyPatch,
    dynamodb: LocalDynamoDB,
    caplog: pytest.LogCaptureFixture,
    environ: dict[str, str],
    created: set[str],
    read: set[str],
    missing: set[str],
    outcome: dict[str, str] | str,
) -> None:
    """GIVEN production settings with the upstream secrets' parameters, some created WHEN load_secrets runs
    THEN it reads (in one call) only the secret of the identity the settings choose, warns about a missing
    one, and load_settings then accepts the configuration or refuses it saying why."""
    import uuid

    prefix = f"/relay-api/upstream-{uuid.uuid4().hex}"
    names = {
        "UPSTREAM_CLIENT_SECRET": f"{prefix}/upstream-client-secret",
        "UPSTREAM_ADMIN_SECRET": f"{prefix}/upstream-admin-secret",
    }
    for setting in created:
        _put_secret(dynamodb.url, names[setting], UPSTREAM_SECRETS[setting])
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", dynamodb.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    given = {
        "APP_ENV": "production",
        "JWT_SECRET_KEY": "k" * 40,
        "UPSTREAM_CLIENT_SECRET_PARAMETER": names["UPSTREAM_CLIENT_SECRET"],
        "UPSTREAM_ADMIN_SECRET_PARAMETER": names["UPSTREAM_ADMIN_SECRET"],
        **environ,
    }
    loaded = dict(given)
    dynamodb.operations.clear()
    caplog.set_level(logging.WARNING, logger="lambda_handler")

    load_secrets(loaded)

    added = {name: value for name, value in loaded.items() if name not in given}
    assert added == {
        **{setting: UPSTREAM_SECRETS[setting] for setting in read},
        **{f"_SSM_PARAMETER_OF_{setting}": names[setting] for setting in read},
    }
    assert dynamodb.operations == (["GetParameters"] if read | missing else [])
    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        ("WARNING", f"{setting}_PARAMETER {names[setting]} does not exist: {setting} is not set")
        for setting in missing
    ]
    try:
        settings = load_settings(environ=loaded)
    except ConfigError as error:
        assert str(error) == outcome
    else:
        assert {name: settings[name] for name in UPSTREAM_SECRETS if settings[name]} == outcome


def test_load_secrets_prefers_an_explicit_key(dynamodb: LocalDynamoDB) -> None:
    """With JWT_SECRET_KEY set, the parameter is not read at all."""
    environ = {"JWT_SECRET_PARAMETER": "/relay-api/test/unused", "JWT_SECRET_KEY": "k" * 40}
    dynamodb.operations.clear()
    load_secrets(environ)
    assert environ["JWT_SECRET_KEY"] == "k" * 40
    assert dynamodb.operations == []


@pytest.mark.parametrize("rotated", [True, False], ids=["secret rotated", "secret unchanged"])
def test_after_a_snapstart_restore(
    monkeypatch: pytest.MonkeyPatch, settings: dict[str, Any], dynamodb: LocalDynamoDB, rotated: bool
) -> None:
    """GIVEN a snapshot taken with the secret from SSM WHEN Lambda restores it THEN randomness is fresh, the
    connections are new, and the app is built again with the current secret if it was rotated."""
    import random

    import models

    name, old, new = "/relay-api/test/restored", "old-" + "s" * 40, "new-" + "s" * 40
    _put_secret(dynamodb.url, name, new if rotated else old)
    for key, value in {**settings, "JWT_SECRET_PARAMETER": name, "JWT_SECRET_KEY": old}.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("_SSM_PARAMETER_OF_JWT_SECRET_KEY", name)  # as the cold start left it
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", dynamodb.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    snapshot_app = object()
    served = _Served(snapshot_app)
    models.User._get_connection()  # a connection opened before the snapshot
    random.seed(7)
    snapshot_draw = random.random()
    random.seed(7)

    after_restore(served)

    assert random.random() != snapshot_draw
    assert [model._connection for model in models.MODELS] == [None] * len(models.MODELS)
    assert os.environ["JWT_SECRET_KEY"] == (new if rotated else old)
    if rotated:
        assert served.app is not snapshot_app and served.app.config["JWT_SECRET_KEY"] == new
    else:
        assert served.app is snapshot_app
