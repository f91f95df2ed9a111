"""The lean read path: the same requests, answers, errors and retries as botocore's pipeline."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from werkzeug.serving import make_server

import lean_dynamodb
import models
from errors import EmailTaken

THROTTLED = (400, {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "Rate exceeded"})
UNAVAILABLE = (503, {"__type": "com.amazonaws.dynamodb.v20120810#ServiceUnavailable", "message": "Try again"})


class FaultyProxy:
    """Forward DynamoDB requests to the test store, answering some with planned faults; record them all."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.plan: list[Any] = []  # per request: None (forward), (status, body), or "bad-crc"
        self.requests: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        self.requests.append({"target": headers.get("x-amz-target"), "body": json.loads(body), "headers": headers})
        fault = self.plan.pop(0) if self.plan else None
        if isinstance(fault, tuple):
            status, error = fault
            start_response(f"{status} Fault", [("Content-Type", "application/x-amz-json-1.0")])
            return [json.dumps(error).encode()]
        forwarded = urllib.request.Request(
            self.upstream,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": headers["x-amz-target"],
                "Authorization": headers["authorization"],
                "X-Amz-Date": headers["x-amz-date"],
            },
        )
        try:
            with urllib.request.urlopen(forwarded, timeout=10) as response:
                status, answer, crc = response.status, response.read(), response.headers.get("x-amz-crc32")
        except urllib.error.HTTPError as error:
            status, answer, crc = error.code, error.read(), error.headers.get("x-amz-crc32")
        out = [("Content-Type", "application/x-amz-json-1.0")]
        if crc is not None:
            out.append(("x-amz-crc32", "1" if fault == "bad-crc" else crc))
        start_response(f"{status} Forwarded", out)
        return [answer]


@pytest.fixture
def proxy(app: Any, dynamodb: Any) -> Iterator[FaultyProxy]:
    faulty = FaultyProxy(dynamodb.url)
    server = make_server("127.0.0.1", 0, faulty, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    faulty.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield faulty
    server.shutdown()
    server.server_close()
    lean_dynamodb.install()


def connect(proxy: FaultyProxy, lean: bool, retries: int = 2) -> Connection:
    """Return a PynamoDB connection to the proxy; retries are botocore's (standard mode)."""
    lean_dynamodb.install() if lean else lean_dynamodb.uninstall()
    return Connection(
        host=proxy.url,
        region="us-east-1",
        aws_access_key_id="local",  # type: ignore[attr-defined]
        aws_secret_access_key="local",
        max_retry_attempts=retries,
        retry_configuration="LEGACY",
    )


@pytest.fixture
def saved_user(app: Any) -> models.User:
    user = models.User(email="ada@example.com", first_name="Ada", last_name="Lovelace")
    user.password = "correct horse battery"
    user.save()
    return user


def reads(user: models.User) -> list[tuple[str, dict[str, Any]]]:
    users, emails = models.User.Meta.table_name, models.UserEmail.Meta.table_name
    key = {"id": {"S": user.id}}
    return [
        ("GetItem", {"TableName": users, "Key": key, "ConsistentRead": True}),
        ("BatchGetItem", {"RequestItems": {users: {"Keys": [key]}, emails: {"Keys": [{"email": {"S": user.email}}]}}}),
        (
            "Query",
            {"TableName": users, "KeyConditionExpression": "id = :id", "ExpressionAttributeValues": {":id": key["id"]}},
        ),
        ("Scan", {"TableName": emails, "ConsistentRead": True}),
        ("TransactGetItems", {"TransactItems": [{"Get": {"TableName": users, "Key": key}}]}),
    ]


def without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


@pytest.mark.parametrize("index", range(5), ids=["GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"])
def test_a_read_sends_the_same_request_and_gets_the_same_answer(
    proxy: FaultyProxy, saved_user: models.User, index: int
) -> None:
    """GIVEN a read WHEN sent by each path THEN DynamoDB sees the same JSON and the caller the same answer."""
    operation, params = reads(saved_user)[index]
    answers, sent = [], []
    for lean in (False, True):
        proxy.requests.clear()
        answers.append(connect(proxy, lean).dispatch(operation, json.loads(json.dumps(params))))
        sent.append([(request["target"], request["body"]) for request in proxy.requests])
    assert sent[0] == sent[1] == [(f"DynamoDB_20120810.{operation}", {**params, "ReturnConsumedCapacity": "TOTAL"})]
    assert without_metadata(answers[0]) == without_metadata(answers[1])
    assert answers[1]["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "amz-sdk-invocation-id" not in proxy.requests[0]["headers"]  # it did take the lean path
    assert proxy.requests[0]["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=local/")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"TableName": "no_such_table", "Key": {"id": {"S": "x"}}}, "ResourceNotFoundException"),
        ({"TableName": "test_users", "Key": {"email": {"S": "x"}}}, "ValidationException"),
    ],
)
def test_an_error_is_botocores_own(proxy: FaultyProxy, app: Any, params: dict[str, Any], code: str) -> None:
    """GIVEN a read DynamoDB refuses WHEN sent by each path THEN the same exception, code and message come out."""
    raised = []
    for lean in (False, True):
        with pytest.raises(ClientError) as caught:
            connect(proxy, lean).dispatch("GetItem", dict(params))
        raised.append((type(caught.value), caught.value.response["Error"]))
    assert raised[0] == raised[1]
    assert raised[1][1]["Code"] == code


@pytest.mark.parametrize(
    ("plan", "retries", "outcome", "requests"),
    [
        ([THROTTLED], 2, "found", 2),
        ([THROTTLED, THROTTLED], 2, "found", 3),
        ([UNAVAILABLE], 2, "found", 2),
        (["bad-crc"], 2, "found", 2),
        ([THROTTLED] * 5, 1, "ThrottlingException", None),
    ],
    ids=["throttled once", "throttled twice", "unavailable", "crc mismatch", "throttled throughout"],
)
def test_a_fault_gets_botocores_retries(
    proxy: FaultyProxy, saved_user: models.User, plan: list[Any], retries: int, outcome: str, requests: int | None
) -> None:
    """GIVEN faults on the wire WHEN a read meets them THEN botocore retries and answers or raises as it does alone."""
    outcomes, counts = [], []
    for lean in (False, True):
        proxy.requests.clear()
        proxy.plan = list(plan)
        try:
            item = connect(proxy, lean, retries).dispatch(
                "GetItem", {"TableName": models.User.Meta.table_name, "Key": {"id": {"S": saved_user.id}}}
            )
            outcomes.append("found" if item["Item"]["email"]["S"] == saved_user.email else "wrong item")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])
        counts.append(len(proxy.requests))
    assert outcomes == [outcome, outcome]
    if requests is not None:  # until a read succeeds, each attempt is one request either way
        assert counts == [requests, requests]
    else:  # botocore gives up after 1 + retries attempts; the lean attempt comes before those
        assert counts == [1 + retries, 2 + retries]


def test_binary_values_come_back_as_bytes(proxy: FaultyProxy, saved_user: models.User) -> None:
    """GIVEN an item with binary values WHEN read by each path THEN both decode them to the same bytes."""
    table = models.User.Meta.table_name
    key = {"id": {"S": saved_user.id}}
    connect(proxy, False).dispatch(
        "UpdateItem",
        {
            "TableName": table,
            "Key": key,
            "UpdateExpression": "SET b = :b, bs = :bs",
            "ExpressionAttributeValues": {":b": {"B": b"\x00\xff"}, ":bs": {"BS": [b"a", b"b"]}},
        },
    )
    items = [
        connect(proxy, lean).dispatch("GetItem", {"TableName": table, "Key": key})["Item"] for lean in (False, True)
    ]
    assert items[0] == items[1]
    assert (items[1]["b"], sorted(items[1]["bs"]["BS"])) == ({"B": b"\x00\xff"}, [b"a", b"b"])


@pytest.mark.parametrize("name", ["B", "BS", 'say "B": no'])
def test_strings_that_look_like_binary_markers_take_the_lean_path(
    proxy: FaultyProxy, saved_user: models.User, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """GIVEN a user whose first name is B WHEN read THEN the answer is parsed as plain JSON, as botocore would."""
    import lean_dynamodb

    models.User(saved_user.id).update(actions=[models.User.first_name.set(name)])
    parsed_by_botocore: list[str] = []
    real = lean_dynamodb._parse_with_botocore
    monkeypatch.setattr(lean_dynamodb, "_parse_with_botocore",
                        lambda client, operation, response: parsed_by_botocore.append(operation) or real(
                            client, operation, response))
    key = {"TableName": models.User.Meta.table_name, "Key": {"id": {"S": saved_user.id}}}
    items = [connect(proxy, lean).dispatch("GetItem", dict(key))["Item"] for lean in (False, True)]
    assert (items[0] == items[1], items[1]["first_name"], parsed_by_botocore) == (True, {"S": name}, [])


def test_bytes_in_a_request_go_through_botocore(proxy: FaultyProxy, app: Any) -> None:
    """GIVEN a read whose key holds bytes WHEN sent THEN botocore serializes it (base64), as JSON cannot."""
    proxy.requests.clear()
    answer = connect(proxy, True).dispatch(
        "GetItem", {"TableName": models.User.Meta.table_name, "Key": {"id": {"B": b"x"}}}
    )
    assert "Item" not in answer
    assert [request["body"]["Key"] for request in proxy.requests] == [{"id": {"B": "eA=="}}]
    assert "amz-sdk-invocation-id" in proxy.requests[0]["headers"]


def test_conditional_failures_and_cancellations_are_unchanged(app: Any, saved_user: models.User) -> None:
    """GIVEN the lean path installed WHEN a conditional write or a transaction fails THEN the same errors come out."""
    assert lean_dynamodb.installed()
    with pytest.raises(EmailTaken):
        twin = models.User(email=saved_user.email)
        twin.password = "correct horse battery"
        twin.save()
    with pytest.raises(TransactWriteError) as caught:
        models.Todo.add("no-such-user", "text")
    assert [getattr(reason, "code", None) for reason in caught.value.cancellation_reasons] == [
        None,
        "ConditionalCheckFailed",
    ]


@pytest.mark.parametrize(("value", "installed"), [("true", True), ("false", False)])
def test_the_setting_chooses_the_path(settings: dict[str, Any], value: str, installed: bool) -> None:
    import config

    try:
        models.configure(config.load_settings({**settings, "DYNAMODB_LEAN_READS": value}, environ={}))
        assert lean_dynamodb.installed() is installed
    finally:
        lean_dynamodb.install()


def test_a_read_creates_no_botocore_client(proxy: FaultyProxy, saved_user: models.User) -> None:
    """GIVEN a fresh connection WHEN a read takes the lean path THEN no botocore client was built."""
    connection = connect(proxy, True)
    item = connection.dispatch(
        "GetItem", {"TableName": models.User.Meta.table_name, "Key": {"id": {"S": saved_user.id}}}
    )
    assert (item["Item"]["id"], connection._client) == ({"S": saved_user.id}, None)


@pytest.mark.parametrize(
    ("environ", "keys", "expected"),
    [
        ({"AWS_ACCESS_KEY_ID": "env-key", "AWS_SECRET_ACCESS_KEY": "env-secret"}, None, "env-key"),
        ({"AWS_ACCESS_KEY_ID": "env-key", "AWS_SECRET_ACCESS_KEY": "env-secret"}, "own-key", "own-key"),
        ({"AWS_ACCESS_KEY_ID": "env-key", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_PROFILE": "p"}, None, None),
        ({}, None, None),
    ],
    ids=["environment", "the connection's keys", "a profile: botocore's session", "none: botocore's session"],
)
def test_credentials_skip_the_session_only_where_botocore_would_read_them_directly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, environ: dict[str, str], keys: str | None, expected: str | None
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    connection = Connection(
        host="http://127.0.0.1:1",
        region="us-east-1",
        aws_access_key_id=keys,
        aws_secret_access_key=keys and "own-secret",
    )
    sender = lean_dynamodb.LeanSender(connection)
    assert (sender.credentials.access_key if sender.credentials else None) == expected
    assert (sender.session is None) is (expected is not None)


@pytest.mark.parametrize(
    ("region", "environ", "endpoint"),
    [
        ("eu-west-1", {}, "https://dynamodb.eu-west-1.amazonaws.com/"),
        ("cn-north-1", {}, "https://dynamodb.cn-north-1.amazonaws.com.cn/"),
        ("us-iso-east-1", {}, None),
        ("us-east-1", {"AWS_USE_FIPS_ENDPOINT": "true"}, None),
        ("us-east-1", {"AWS_USE_DUALSTACK_ENDPOINT": "true"}, None),
        ("us-east-1", {"AWS_ENDPOINT_URL_DYNAMODB": "https://example.test"}, None),
    ],
)
def test_aws_endpoints_botocore_must_resolve_are_left_to_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, region: str, environ: dict[str, str], endpoint: str | None
) -> None:
    """GIVEN no DYNAMODB_HOST WHEN the endpoint is plainly regional THEN the lean path takes it, else botocore."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    connection = Connection(region=region, aws_access_key_id="k", aws_secret_access_key="s")
    sender = lean_dynamodb._sender_of(connection)
    assert (sender.url if sender else None) == endpoint


@pytest.mark.parametrize("session_token", [None, "session-token"], ids=["keys", "session"])
@pytest.mark.parametrize(
    ("url", "body", "extra"),
    [
        ("http://127.0.0.1:8000/", b'{"TableName":"t"}', {}),
        ("https://dynamodb.us-east-1.amazonaws.com/", b'{"TableName":"t"}', {"X-Extra": "  two   spaces "}),
        ("http://localhost:80/", b"", {"User-Agent": "unsigned", "Connection": "keep-alive"}),
    ],
    ids=["loopback", "aws-extra-header", "empty-body-unsigned-headers"],
)
def test_the_signer_signs_as_botocore_does(
    session_token: str | None, url: str, body: bytes, extra: dict[str, str]
) -> None:
    """GIVEN one request and one moment WHEN signed by botocore's signer and by ours THEN the same headers,
    on two days (the signing key is derived once a day)."""
    import datetime
    from unittest import mock

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    credentials = Credentials("AKID", "secret-key", session_token).get_frozen_credentials()
    for day in (3, 4):
        moment = datetime.datetime(2026, 12, day, 23, 59, 59)
        headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.GetItem", **extra}
        theirs = AWSRequest(method="POST", url=url, data=body, headers=headers)
        ours = lean_dynamodb._Request(url, body, dict(headers))
        with mock.patch("botocore.auth.get_current_datetime", return_value=moment):
            SigV4Auth(credentials, "dynamodb", "us-east-1").add_auth(theirs)
            lean_dynamodb.Signer(credentials, "dynamodb", "us-east-1").add_auth(ours)
        assert ours.headers == dict(theirs.headers.items())
        assert ours.headers["Authorization"].startswith(f"AWS4-HMAC-SHA256 Credential=AKID/202612{day:02d}/")
