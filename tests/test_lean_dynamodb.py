"""The lean path: the same requests, answers, errors and retries as botocore's pipeline, reads and writes."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError
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


def writes() -> list[tuple[str, dict[str, Any]]]:
    """Writes whose answers depend only on the state `reset` makes: item w1 with n = 1, no item w2."""
    users = models.User.Meta.table_name
    w1, w2 = {"id": {"S": "w1"}}, {"id": {"S": "w2"}}
    return [
        ("PutItem", {"TableName": users, "Item": {**w2, "n": {"N": "5"}}, "ReturnValues": "ALL_OLD"}),
        (
            "UpdateItem",
            {
                "TableName": users,
                "Key": w1,
                "UpdateExpression": "ADD n :one",
                "ConditionExpression": "attribute_exists(id)",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
                "ReturnValues": "ALL_NEW",
            },
        ),
        ("DeleteItem", {"TableName": users, "Key": w1, "ReturnValues": "ALL_OLD"}),
        (
            "BatchWriteItem",
            {"RequestItems": {users: [{"PutRequest": {"Item": w2}}, {"DeleteRequest": {"Key": w1}}]}},
        ),
        (
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": users, "Item": w2, "ConditionExpression": "attribute_not_exists(id)"}},
                    {"Update": {"TableName": users, "Key": w1, "UpdateExpression": "SET n = :two",
                                "ExpressionAttributeValues": {":two": {"N": "2"}}}},
                ]
            },
        ),
    ]


def reset(connection: Connection) -> None:
    users = models.User.Meta.table_name
    connection.client.put_item(TableName=users, Item={"id": {"S": "w1"}, "n": {"N": "1"}})
    connection.client.delete_item(TableName=users, Key={"id": {"S": "w2"}})


def state(connection: Connection) -> list[dict[str, Any] | None]:
    users = models.User.Meta.table_name
    return [connection.client.get_item(TableName=users, Key={"id": {"S": key}}, ConsistentRead=True).get("Item")
            for key in ("w1", "w2")]


def without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def took_the_lean_path(request: dict[str, Any]) -> bool:
    return "amz-sdk-invocation-id" not in request["headers"]  # botocore's pipeline sends it


@pytest.mark.parametrize("index", range(5), ids=["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem",
                                                 "TransactWriteItems"])
def test_a_write_sends_the_same_request_and_gets_the_same_answer_and_state(
    proxy: FaultyProxy, app: Any, index: int
) -> None:
    """GIVEN one state and a write WHEN sent by each path THEN the same JSON, the same answer, the same state."""
    operation, params = writes()[index]
    answers, sent, states, lean_path = [], [], [], []
    for lean in (False, True):
        connection = connect(proxy, lean)
        reset(connection)
        proxy.requests.clear()
        answers.append(without_metadata(connection.dispatch(operation, json.loads(json.dumps(params)))))
        sent.append([(request["target"], request["body"]) for request in proxy.requests])
        lean_path.append([took_the_lean_path(request) for request in proxy.requests])
        states.append(state(connection))
    tokens = [body.pop("ClientRequestToken", None) for calls in sent for _, body in calls]
    if operation == "TransactWriteItems":  # botocore fills it with a new UUID when absent; so does the lean path
        assert [str(uuid.UUID(token)) for token in tokens] == tokens
    else:
        assert tokens == [None, None]
    assert sent[0] == sent[1] == [(f"DynamoDB_20120810.{operation}", {**params, "ReturnConsumedCapacity": "TOTAL"})]
    assert (answers[0], states[0], lean_path) == (answers[1], states[1], [[False], [True]])


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
    assert took_the_lean_path(proxy.requests[0])
    assert proxy.requests[0]["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=local/")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"TableName": "no_such_table", "Key": {"id": {"S": "x"}}}, "ResourceNotFoundException"),
        ({"TableName": "test_users", "Key": {"email": {"S": "x"}}}, "ValidationException"),
    ],
)
def test_an_error_is_botocores_own(proxy: FaultyProxy, app: Any, params: dict[str, Any], code: str) -> None:
    """GIVEN a read DynamoDB refuses WHEN sent by each path THEN the same exception, code and message come out,
    after one request."""
    raised, counts = [], []
    for lean in (False, True):
        proxy.requests.clear()
        with pytest.raises(ClientError) as caught:
            connect(proxy, lean).dispatch("GetItem", dict(params))
        raised.append((type(caught.value), caught.value.response["Error"]))
        counts.append(len(proxy.requests))
    assert (raised[0], counts) == (raised[1], [1, 1])
    assert raised[1][1]["Code"] == code


CONDITIONAL_UPDATE = {
    "Key": {"id": {"S": "w1"}},
    "UpdateExpression": "SET n = :two",
    "ConditionExpression": "n = :zero",
    "ExpressionAttributeValues": {":two": {"N": "2"}, ":zero": {"N": "0"}},
    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
}
CANCELLED_TRANSACTION = [
    {"ConditionCheck": {"Key": {"id": {"S": "w1"}}, "ConditionExpression": "attribute_exists(id)"}},
    {"Put": {"Item": {"id": {"S": "w2"}}, "ConditionExpression": "attribute_exists(id)",
             "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
]


def _with_table(params: dict[str, Any]) -> dict[str, Any]:
    users = models.User.Meta.table_name
    if "TransactItems" in params:
        return {"TransactItems": [{kind: {**item, "TableName": users}} for entry in params["TransactItems"]
                                  for kind, item in entry.items()]}
    return {**params, "TableName": users}


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("UpdateItem", CONDITIONAL_UPDATE,
         ("ConditionalCheckFailedException", {"Item": {"id": {"S": "w1"}, "n": {"N": "1"}}})),
        ("TransactWriteItems", {"TransactItems": CANCELLED_TRANSACTION},
         ("TransactionCanceledException", {"CancellationReasons": [{"Code": "None"}, {
             "Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}]})),
        ("PutItem", {"Item": {"id": {"S": "w1"}, "n": {"N": "-"}}}, ("ValidationException", {})),
        ("PutItem", {"Item": {"id": {"S": 1}}}, ("SerializationException", {})),  # PynamoDB turns off validation
    ],
    ids=["conditional check, old item", "transaction cancelled, reasons", "invalid", "not serializable"],
)
def test_a_refused_write_raises_botocores_error_after_one_request(
    proxy: FaultyProxy, app: Any, operation: str, params: dict[str, Any], expected: tuple[str, dict[str, Any]]
) -> None:
    """GIVEN a write DynamoDB refuses WHEN made as botocore's client makes it, by each path THEN botocore's own
    exception class with the same response, the state unchanged, and one request: a refused write is not sent
    again."""
    raised, counts, states = [], [], []
    for lean in (False, True):
        connection = connect(proxy, lean)
        reset(connection)
        proxy.requests.clear()
        with pytest.raises(ClientError) as caught:
            lean_dynamodb.call(connection, operation, _with_table(params))
        error = caught.value
        code = error.response["Error"]["Code"]
        assert type(error) is connection.client.exceptions.from_code(code)  # the class this client raises for it
        extra = {key: value for key, value in error.response.items() if key not in ("Error", "ResponseMetadata")}
        raised.append((type(error).__name__, code, extra))
        counts.append(len(proxy.requests))
        states.append(state(connection))
    assert raised[0] == raised[1]  # the whole responses, botocore's modeled fields included
    code, fields = expected
    assert (raised[1][1], {key: raised[1][2][key] for key in fields}) == (code, fields)
    assert (counts, states[0]) == ([1, 1], states[1])


def test_pynamodb_wraps_a_refused_write_the_same_way(proxy: FaultyProxy, app: Any) -> None:
    """GIVEN a cancelled transaction WHEN made through PynamoDB's connection by each path THEN its
    VerboseClientError with the same cancellation reasons."""
    reasons = []
    for lean in (False, True):
        connection = connect(proxy, lean)
        reset(connection)
        with pytest.raises(ClientError) as caught:
            connection.dispatch("TransactWriteItems", _with_table({"TransactItems": CANCELLED_TRANSACTION}))
        reasons.append((type(caught.value).__name__, [
            reason and (reason.code, reason.raw_item) for reason in caught.value.cancellation_reasons]))
    assert reasons == [("VerboseClientError", [None, ("ConditionalCheckFailed", None)])] * 2


class _Body:
    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self) -> Iterator[bytes]:
        yield self.content


def test_an_outcome_botocore_never_asked_for_is_dropped(proxy: FaultyProxy, app: Any) -> None:
    """GIVEN a lean outcome handed over for a call botocore then refuses before sending WHEN the next call is
    made THEN it is sent and answered, not given the stale outcome."""
    from botocore.awsrequest import AWSResponse

    connection = connect(proxy, True)
    reset(connection)
    stale = AWSResponse(proxy.url, 400, {}, _Body(b'{"__type": "x#ValidationException", "message": "stale"}'))
    with pytest.raises(RuntimeError), lean_dynamodb._handed_over(connection.client, "GetItem", stale):
        raise RuntimeError("refused before sending")
    item = connection.client.get_item(TableName=models.User.Meta.table_name, Key={"id": {"S": "w1"}})
    assert item["Item"] == {"id": {"S": "w1"}, "n": {"N": "1"}}


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
    # The lean attempt is botocore's first: it gives up after 1 + retries attempts on either path.
    assert (outcomes, counts) == ([outcome, outcome], [requests or 1 + retries] * 2)


@pytest.mark.parametrize(
    ("plan", "outcome", "requests", "n"),
    [
        ([THROTTLED], "2", 2, "2"),
        ([UNAVAILABLE], "2", 2, "2"),
        ([THROTTLED] * 5, "ThrottlingException", 3, "1"),
    ],
    ids=["throttled once", "unavailable", "throttled throughout"],
)
def test_a_write_meets_faults_as_botocore_meets_them(
    proxy: FaultyProxy, app: Any, plan: list[Any], outcome: str, requests: int, n: str
) -> None:
    """GIVEN faults on the wire (answered by the proxy: DynamoDB never sees them) WHEN a write meets them
    THEN botocore's retries, its answer or its error, and the write applied once or not at all."""
    _, params = writes()[1]  # ADD n :one
    results = []
    for lean in (False, True):
        connection = connect(proxy, lean)
        reset(connection)
        proxy.requests.clear()
        proxy.plan = list(plan)
        try:
            answer: str = connection.dispatch("UpdateItem", dict(params))["Attributes"]["n"]["N"]
        except ClientError as error:
            answer = error.response["Error"]["Code"]
        results.append((answer, len(proxy.requests), state(connection)[0]["n"]["N"]))
    assert results == [(outcome, requests, n)] * 2


def test_a_transaction_keeps_its_token_when_botocore_sends_it_again(proxy: FaultyProxy, app: Any) -> None:
    """GIVEN a transaction answered 503 once WHEN made on the lean path THEN botocore's retry carries the token
    of the first attempt, so DynamoDB applies it at most once."""
    _, params = writes()[4]
    connection = connect(proxy, True)
    reset(connection)
    proxy.requests.clear()
    proxy.plan = [UNAVAILABLE]
    connection.dispatch("TransactWriteItems", json.loads(json.dumps(params)))
    tokens = [request["body"]["ClientRequestToken"] for request in proxy.requests]
    assert ([took_the_lean_path(request) for request in proxy.requests], len(set(tokens))) == ([True, False], 1)


def test_the_idempotency_tokens_are_the_models(app: Any) -> None:
    """GIVEN botocore's DynamoDB model THEN the members it fills with a UUID are those the lean path fills."""
    service = models._connection_of(models.User).client.meta.service_model
    tokens = {name: service.operation_model(name).idempotent_members for name in lean_dynamodb.LEAN_OPERATIONS}
    assert {name: members for name, members in tokens.items() if members} == {
        name: [member] for name, member in lean_dynamodb.IDEMPOTENCY_TOKENS.items()
    }


class ClosingServer:
    """Accept connections and close them at once, counting them: a send that fails on the wire."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                peer, _ = self.socket.accept()
            except OSError:
                return
            peer.recv(65536)
            self.accepted += 1
            peer.close()


def test_a_failed_send_is_botocores_first_attempt() -> None:
    """GIVEN an endpoint that drops every connection WHEN a write is made by each path THEN botocore's
    ConnectionClosedError after the same number of attempts."""
    server = ClosingServer()
    attempts = []
    try:
        for lean in (False, True):
            lean_dynamodb.install() if lean else lean_dynamodb.uninstall()
            connection = Connection(host=server.url, region="us-east-1", aws_access_key_id="local",
                                    aws_secret_access_key="local", max_retry_attempts=1)
            before = server.accepted
            with pytest.raises(ConnectionClosedError):
                connection.dispatch("DeleteItem", {"TableName": "t", "Key": {"id": {"S": "w1"}}})
            attempts.append(server.accepted - before)
    finally:
        server.socket.close()
        lean_dynamodb.install()
    assert attempts == [2, 2]


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
        models.configure(config.load_settings({**settings, "DYNAMODB_LEAN_PATH": value}, environ={}))
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
