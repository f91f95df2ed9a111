"""DynamoDB faults: a cut, frozen, throttling or empty endpoint answers 503 with Retry-After, logs a line, recovers."""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from support import Auth

from local_dynamodb import LocalDynamoDB

UNAVAILABLE = "The database is unavailable right now; try again shortly."
VIEWER = "{ viewer { totalCount todos(first: 100) { edges { node { text } } } } }"
ADD = """mutation($userId: ID!) { addTodo(input: {text: "during the outage", userId: $userId}) {
  todoEdge { node { id } } } }"""
CANNED = {  # what DynamoDB answers (HTTP 400) when it throttles, or refuses a request
    "throttle": b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",'
    b'"message":"Rate of requests exceeds the allowed throughput."}',
    "refuse": b'{"__type":"com.amazon.coral.validate#ValidationException",'
    b'"message":"One or more parameter values were invalid: refused by the test proxy"}',
}
# Short botocore limits keep each failed request to a few seconds; the read timeout leaves a loaded
# machine's store time to answer the writes made before an outage (at 0.5 s one timed out, once).
FAST_FAILURE = {"DYNAMODB_CONNECT_TIMEOUT": 0.5, "DYNAMODB_READ_TIMEOUT": 1.0, "DYNAMODB_MAX_ATTEMPTS": 2}


class FaultProxy:
    """A TCP proxy to DynamoDB that can cut (reset), freeze (accept, never answer), throttle, refuse or forward."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.mode = "forward"
        self.forward_next = 0  # connections still forwarded whatever the mode (to fail mid-request)
        self.times: int | None = None  # faulty connections before forwarding again (None: until set)
        self._held: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._thread.start()

    def set(self, mode: str, *, forward_next: int = 0, times: int | None = None) -> None:
        self.mode, self.forward_next, self.times = mode, forward_next, times
        if mode == "forward":
            self._release()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        self._release()
        self._thread.join(timeout=5)

    def _release(self) -> None:
        held, self._held = self._held, []
        for connection in held:
            connection.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            mode = self.mode
            if self.forward_next > 0:
                self.forward_next -= 1
                mode = "forward"
            elif self.times is not None:
                self.times -= 1
                if self.times <= 0:
                    self.mode, self.times = "forward", None
            if mode == "cut":
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()  # a reset, as from a server that went away
            elif mode == "freeze":
                self._held.append(client)
            else:
                target, args = (self._answer, (client, CANNED[mode])) if mode in CANNED else (self._forward, (client,))
                threading.Thread(target=target, args=args, daemon=True).start()

    def _forward(self, client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
            while True:
                readable, _, _ = select.select([client, upstream], [], [], 10)
                if not readable:
                    return
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return  # the store speaks HTTP/1.0: it closes once it has answered
                    (upstream if source is client else client).sendall(data)

    @staticmethod
    def _answer(client: socket.socket, error: bytes) -> None:
        with client:
            request = b""
            while b"\r\n\r\n" not in request:
                request += client.recv(65536)
            head, _, body = request.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
            )
            while len(body) < length:
                body += client.recv(65536)
            client.sendall(
                b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\n"
                + f"Content-Length: {len(error)}\r\nConnection: close\r\n\r\n".encode()
                + error
            )


@pytest.fixture
def proxy(dynamodb: LocalDynamoDB) -> Iterator[FaultProxy]:
    faulty = FaultProxy(dynamodb.port)
    yield faulty
    faulty.close()


@pytest.fixture
def faulty_app(app: Any, settings: dict[str, Any], proxy: FaultProxy) -> Iterator[Any]:
    """Return an app (on empty tables) that reaches DynamoDB through the proxy."""
    import config
    import models
    from app import create_app

    yield create_app({**settings, **FAST_FAILURE, "DYNAMODB_HOST": proxy.url})
    models.configure(config.load_settings(settings, dotenv=False))


def unavailable(response: Any) -> dict[str, Any]:
    """Return the whole 503 body the client should get for `response`'s request."""
    return {"code": "SERVICE_UNAVAILABLE", "message": UNAVAILABLE, "requestId": response.headers["X-Request-ID"]}


def graphql_unavailable(response: Any, path: list[str] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "message": UNAVAILABLE,
        "extensions": {"code": "SERVICE_UNAVAILABLE", "requestId": response.headers["X-Request-ID"]},
    }
    if path is None:
        return {"errors": [error]}
    return {"data": {path[0]: None}, "errors": [{**error, "locations": [{"line": 1, "column": 26}], "path": path}]}


@pytest.mark.parametrize("mode", ["cut", "freeze", "throttle"])
def test_an_outage_answers_503_and_the_app_recovers_with_no_partial_write(
    faulty_app: Any, proxy: FaultProxy, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    """GIVEN todos WHEN DynamoDB is cut/frozen/throttling THEN each request gets a 503, and after it all works."""
    client = faulty_app.test_client()
    auth = Auth(client)
    signup = auth.signup()
    token, user_id = signup["access_token"], signup["user"]["id"]
    for text in ("one", "two"):
        added = auth.graphql(ADD.replace("during the outage", text), token, {"userId": user_id})
        assert "errors" not in added.get_json()

    caplog.clear()
    caplog.set_level(logging.WARNING)
    proxy.set(mode)
    answers = []
    for _ in range(2):
        started = time.monotonic()
        login = client.post("/login", json={"email": "ada@example.com", "password": "correct horse battery"})
        viewer = auth.graphql(VIEWER, token)
        add = auth.graphql(ADD, token, {"userId": user_id})
        answers.append(time.monotonic() - started)
        assert (login.status_code, login.headers["Retry-After"], login.get_json()) == (503, "5", unavailable(login))
        for response in (viewer, add):  # the token check reads DynamoDB first
            assert (response.status_code, response.headers["Retry-After"]) == (503, "5")
            assert response.get_json() == graphql_unavailable(response)
    assert max(answers) < 15, answers  # three requests, each bounded by the botocore limits, not 120 s

    # One line per failed request, with its request id and the DynamoDB error; no traceback.
    assert len(caplog.records) == 6, [record.getMessage() for record in caplog.records]
    assert all(record.levelname == "WARNING" and record.exc_info is None for record in caplog.records)
    assert all(record.getMessage().startswith("DynamoDB unavailable (request ") for record in caplog.records)

    proxy.set("forward")
    viewer = auth.graphql(VIEWER, token)
    edges = [{"node": {"text": "one"}}, {"node": {"text": "two"}}]  # nothing written during the outage
    assert viewer.get_json() == {"data": {"viewer": {"totalCount": 2, "todos": {"edges": edges}}}}
    assert "Retry-After" not in viewer.headers
    login = client.post("/login", json={"email": "ada@example.com", "password": "correct horse battery"})
    assert login.status_code == 200


def test_an_outage_inside_a_resolver_is_a_graphql_error_with_the_code_and_request_id(
    faulty_app: Any, proxy: FaultProxy, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN the token check passed WHEN DynamoDB goes away before the mutation writes THEN a GraphQL error, once."""
    client = faulty_app.test_client()
    auth = Auth(client)
    signup = auth.signup()
    caplog.set_level(logging.WARNING)
    proxy.set("cut", forward_next=1)  # the token check's BatchGetItem gets through
    response = auth.graphql(ADD, signup["access_token"], {"userId": signup["user"]["id"]})
    assert (response.status_code, response.headers["Retry-After"]) == (200, "5")
    assert response.get_json() == graphql_unavailable(response, ["addTodo"])
    assert [record.levelname for record in caplog.records] == ["WARNING"]

    proxy.set("forward")
    assert auth.graphql(VIEWER, signup["access_token"]).get_json() == {
        "data": {"viewer": {"totalCount": 0, "todos": {"edges": []}}}
    }


def test_a_missing_table_answers_503_naming_it_and_the_command(app: Any, settings: dict[str, Any]) -> None:
    """GIVEN an endpoint without the tables (e.g. a store that came back empty) THEN 503 says what to run."""
    import config
    import models
    from app import create_app

    try:
        empty = create_app({**settings, "TABLE_PREFIX": "never_created_"})
        response = empty.test_client().post("/login", json={"email": "ada@example.com", "password": "whatever-pw"})
    finally:
        models.configure(config.load_settings(settings, dotenv=False))
    assert (response.status_code, response.headers["Retry-After"]) == (503, "30")
    # A login's first request (the throttle's UpdateItem) does not name its table: every missing one is named.
    names = ", ".join(f"never_created_{models.TABLE_NAMES[model]}" for model in models.MODELS)
    assert response.get_json() == {
        "code": "SERVICE_UNAVAILABLE",
        "message": f"Tables {names} do not exist: create them with `flask --app run create-tables`.",
        "requestId": response.headers["X-Request-ID"],
    }
