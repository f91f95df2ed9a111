"""A lean path for DynamoDB calls, behind PynamoDB's connection.

On a loopback endpoint botocore's per-call pipeline (event hooks, endpoint rules, a
user-agent string rebuilt per call, serialization and parsing by walking the service
model) costs more CPU than the round trip itself. DynamoDB speaks plain JSON, so a call
can be sent as that JSON, signed by botocore's SigV4 signer (`Signer`: minus the work it
repeats per request) with the credentials of PynamoDB's botocore session, over an HTTP
session of botocore's, set up as a client's.

A 200 answer is parsed as JSON (by botocore's parser when it holds binary values). Any
other outcome, an error answer, a CRC32 mismatch or a connection error, is handed to
botocore's pipeline as the outcome of its own first attempt: botocore parses it, raises
its own exception or retries as its retry policy says, so nothing is sent again that
botocore would not send again, and every error, retry and exception type is botocore's.
A call that cannot be sent as JSON (bytes in the request) or without botocore's help
(no credentials) goes through botocore's pipeline from the start.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache, partial
from typing import Any

import botocore
from botocore.auth import SIGNED_HEADERS_BLACKLIST, SigV4Auth, _host_from_url
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials, EnvProvider
from botocore.endpoint import EndpointCreator
from botocore.exceptions import HTTPClientError
from botocore.httpsession import URLLib3Session
from pynamodb.connection.base import Connection

# The data plane's calls; the others (tables, backups, TTL...) are rare: botocore makes them.
LEAN_OPERATIONS = frozenset({
    "GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems",
    "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
})
# Members botocore fills with a new UUID when absent (the model's idempotencyToken trait): filled
# before the lean attempt, so botocore's retries of it carry the same token.
IDEMPOTENCY_TOKENS = {"TransactWriteItems": "ClientRequestToken"}
# A binary value is an object key "B" or "BS"; a string value "B" (a user named B) is not one.
# Inside a JSON string a quote is escaped, so this cannot match within one: a false match only
# costs botocore's parse, a missed one cannot happen.
_BINARY_KEY = re.compile(rb'"BS?"\s*:')
TARGET_PREFIX = "DynamoDB_20120810."  # the JSON protocol's target: service model metadata targetPrefix
SIGNING_NAME = "dynamodb"

_botocore_make_api_call = Connection._make_api_call
_UNSIGNED_HEADERS = frozenset(SIGNED_HEADERS_BLACKLIST)
_encode_json = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps with options builds one per call


class _Request:
    """A POST as botocore's signer and HTTP session read it, with plain dict headers.

    botocore's AWSRequest keeps headers in an email.message object and prepares a copy of the
    whole request each time the signer reads its body: three times the cost of the signing.
    """

    __slots__ = ("body", "context", "headers", "url")
    method = "POST"
    params: dict[str, str] = {}  # read only: the query string to sign is the URL's, none
    stream_output = False

    def __init__(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        self.url = url
        self.body = body
        self.headers = headers
        self.context: dict[str, Any] = {}


class Signer(SigV4Auth):
    """botocore's SigV4 signer, minus the work it repeats on every request.

    botocore builds the headers to sign as an email.message object, twice per request, and
    derives the signing key from the secret with four HMACs per request, though the key only
    changes with the day. Here the headers are a dict of the request's unique names, built once
    per request, and the key is derived once a day. Everything else, the canonical request,
    the string to sign and the Authorization header, is botocore's own code; the tests compare
    its headers with botocore's signer's for the same request and moment.
    """

    def add_auth(self, request: AWSRequest | _Request) -> None:
        request.context["headers_to_sign"] = None
        super().add_auth(request)

    def headers_to_sign(self, request: AWSRequest | _Request) -> dict[str, str]:  # type: ignore[override]
        signed = request.context.get("headers_to_sign")
        if signed is None:
            signed = {name.lower(): value for name, value in request.headers.items()}
            for name in _UNSIGNED_HEADERS.intersection(signed):
                del signed[name]
            signed.setdefault("host", _host_from_url(request.url))
            request.context["headers_to_sign"] = signed
        return signed

    def canonical_headers(self, headers_to_sign: dict[str, str]) -> str:  # type: ignore[override]
        return "\n".join(f"{name}:{' '.join(headers_to_sign[name].split())}" for name in sorted(headers_to_sign))

    def signed_headers(self, headers_to_sign: dict[str, str]) -> str:  # type: ignore[override]
        return ";".join(sorted(headers_to_sign))

    def signature(self, string_to_sign: str, request: AWSRequest | _Request) -> str:
        key = _signing_key(self.credentials.secret_key, request.context["timestamp"][:8], self._region_name,
                           self._service_name)
        return self._sign(key, string_to_sign, hex=True)  # type: ignore[no-any-return]


@lru_cache(maxsize=16)
def _signing_key(secret_key: str, day: str, region: str, service: str) -> bytes:
    """Return SigV4's signing key for one day, region and service, derived as botocore derives it."""
    key = SigV4Auth._sign(None, f"AWS4{secret_key}".encode(), day)  # type: ignore[arg-type]
    for part in (region, service, "aws4_request"):
        key = SigV4Auth._sign(None, key, part)  # type: ignore[arg-type]
    return key  # type: ignore[no-any-return]


class LeanSender:
    """Send the DynamoDB calls of one PynamoDB connection as signed JSON over an HTTP session.

    It needs no botocore client: creating one loads the service model, the endpoint rules
    and the partitions (about 50 ms of a cold start, more than the rest of the first
    request). The session is set up as botocore sets up a client's (timeouts, pool size,
    TCP_NODELAY, proxies and CA bundle from the environment); the client is created only
    when botocore must take a call over.

    Where botocore would take the credentials from the connection's keys or from the
    environment (the first source in its chain; what Lambda uses) and no AWS config file
    exists, even its session is skipped: creating one registers about 120 event handlers
    (about 30 ms of a cold start). Anywhere else the session resolves them.
    """

    def __init__(self, connection: Connection) -> None:
        self.credentials = _plain_credentials(connection)
        self.session = None if self.credentials is not None else connection.session
        self.region = connection.region
        self.url = (connection.host or _aws_endpoint(connection.region)).rstrip("/") + "/"
        creator = EndpointCreator(None)
        ca_bundle = (
            os.environ.get("AWS_CA_BUNDLE") if self.session is None else self.session.get_config_variable("ca_bundle")
        )
        self.http = URLLib3Session(
            verify=creator._get_verify_value(ca_bundle),
            proxies=creator._get_proxies(self.url),
            timeout=(connection._connect_timeout_seconds, connection._read_timeout_seconds),
            max_pool_connections=connection._max_pool_connections,
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        self.headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "Accept-Encoding": "identity",  # the CRC32 DynamoDB sends is of the uncompressed body
            "User-Agent": f"Botocore/{botocore.__version__} md/lean_dynamodb",  # fixed, not rebuilt per call
            **dict(connection._extra_headers or {}),
        }

    def call(
        self, connection: Connection, operation_name: str, params: dict[str, Any]
    ) -> dict[str, Any] | AWSResponse | HTTPClientError | None:
        """Send a call; return its parsed response, or the outcome botocore must take over, or None if unsent."""
        credentials = self.credentials if self.session is None else self.session.get_credentials()
        if credentials is None:  # botocore raises its NoCredentialsError: let it
            return None
        try:
            body = _encode_json(params)
        except TypeError:  # bytes: botocore base64-encodes blobs
            return None
        request = _Request(self.url, body.encode(), {**self.headers, "X-Amz-Target": TARGET_PREFIX + operation_name})
        Signer(credentials.get_frozen_credentials(), SIGNING_NAME, self.region).add_auth(request)
        request.headers["Content-Length"] = str(len(request.body))  # unsigned, as botocore adds it after signing
        try:
            response = self.http.send(request)
        except HTTPClientError as error:
            return error
        if response.status_code != 200:
            return response
        content = response.content
        expected_crc = response.headers.get("x-amz-crc32")
        if expected_crc is not None and zlib.crc32(content) != int(expected_crc):
            return response
        if _BINARY_KEY.search(content):
            return _parse_with_botocore(connection.client, operation_name, response)
        parsed = json.loads(content)
        parsed["ResponseMetadata"] = {
            "RequestId": response.headers.get("x-amzn-requestid", ""),
            "HTTPStatusCode": 200,
            "HTTPHeaders": dict(response.headers),
            "RetryAttempts": 0,
        }
        return parsed  # type: ignore[no-any-return]


def _plain_credentials(connection: Connection) -> Credentials | None:
    """Return the credentials botocore would use when they need no session to find, else None."""
    if connection._aws_access_key_id and connection._aws_secret_access_key:
        return Credentials(
            connection._aws_access_key_id, connection._aws_secret_access_key, connection._aws_session_token
        )
    # A profile (named, or a config file that may name a credential process, SSO...) needs the session.
    if os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE"):
        return None
    if _config_file_exists():
        return None
    return EnvProvider().load()  # type: ignore[no-any-return]


def _aws_endpoint(region: str) -> str:
    """Return DynamoDB's regional endpoint, or raise LookupError where botocore must resolve it."""
    # The isolated partitions have endpoints of their own; FIPS, dual-stack or an endpoint
    # URL may be asked for in the environment or in a config file: botocore knows them all.
    if "iso" in region or any(os.environ.get(name) for name in _ENDPOINT_SETTINGS) or _config_file_exists():
        raise LookupError(region)
    return f"https://dynamodb.{region}.amazonaws.com{'.cn' if region.startswith('cn-') else ''}"


_ENDPOINT_SETTINGS = (
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


def _config_file_exists() -> bool:
    return os.path.exists(os.path.expanduser(os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")))


def _parse_with_botocore(client: Any, operation_name: str, response: Any) -> dict[str, Any]:
    operation = client.meta.service_model.operation_model(operation_name)
    raw = {"status_code": response.status_code, "headers": response.headers, "body": response.content}
    return client._response_parser.parse(raw, operation.output_shape)  # type: ignore[no-any-return]


def _sender_of(connection: Connection) -> LeanSender | None:
    sender = connection.__dict__.get("_lean_sender")
    if sender is None:
        try:
            sender = LeanSender(connection)
        except LookupError:
            sender = False  # no lean path for this connection
        connection._lean_sender = sender  # type: ignore[attr-defined]
    return sender or None


Pipeline = Callable[[Connection, str, dict[str, Any]], dict[str, Any]]


def _send(connection: Connection, operation_name: str, params: dict[str, Any], pipeline: Pipeline) -> dict[str, Any]:
    """Make a call on the lean path; `pipeline` is botocore's, for what the lean path hands over."""
    sender = _sender_of(connection) if operation_name in LEAN_OPERATIONS else None
    if sender is None:
        return pipeline(connection, operation_name, params)
    token = IDEMPOTENCY_TOKENS.get(operation_name)
    if token is not None and token not in params:
        params = {**params, token: str(uuid.uuid4())}
    outcome = sender.call(connection, operation_name, params)
    if isinstance(outcome, dict):
        return outcome
    if outcome is None:  # nothing was sent
        return pipeline(connection, operation_name, params)
    with _handed_over(connection.client, operation_name, outcome):
        return pipeline(connection, operation_name, params)


# The outcome of a lean attempt that botocore's pipeline takes as its own first attempt's, per thread:
# (client, operation name, the answer or the connection error).
_pending = threading.local()
_HAND_OVER = "lean_dynamodb.take_over"  # the hook's id: one per client


@contextmanager
def _handed_over(client: Any, operation_name: str, outcome: AWSResponse | HTTPClientError) -> Iterator[None]:
    # Registered once per client (botocore copies the event hooks into each client).
    client.meta.events.register("before-send.dynamodb", partial(_take_over, client), unique_id=_HAND_OVER)
    _pending.value = (client, operation_name, outcome)
    try:
        yield
    finally:  # unclaimed if botocore failed before sending (a parameter it refuses, signing)
        _pending.value = None


def _take_over(client: Any, event_name: str, **_: Any) -> AWSResponse | None:
    """botocore's before-send hook: answer the first attempt with the lean attempt's outcome."""
    pending = getattr(_pending, "value", None)
    if pending is None or pending[0] is not client or event_name != f"before-send.dynamodb.{pending[1]}":
        return None  # a request of botocore's own, a retry say: send it
    _pending.value = None
    outcome = pending[2]
    if isinstance(outcome, HTTPClientError):
        raise outcome  # botocore takes an exception here for a failed send, and retries it as one
    return outcome  # type: ignore[no-any-return]


def _make_api_call(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> dict[str, Any]:
    return _send(self, operation_name, operation_kwargs, _botocore_make_api_call)


def _client_call(connection: Connection, operation_name: str, params: dict[str, Any]) -> dict[str, Any]:
    return connection.client._make_api_call(operation_name, params)  # type: ignore[no-any-return]


def call(connection: Connection, operation_name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Make a call as `connection.client` makes it (its response, errors and retries), on the lean path if on.

    For calls that need botocore's own error (PynamoDB's keeps only the code and message).
    """
    if not installed():
        return _client_call(connection, operation_name, params)
    return _send(connection, operation_name, params, _client_call)


def install() -> None:
    """Send PynamoDB's calls through the lean path from now on."""
    Connection._make_api_call = _make_api_call  # type: ignore[method-assign]


def uninstall() -> None:
    """Send every call through botocore's pipeline again."""
    Connection._make_api_call = _botocore_make_api_call  # type: ignore[method-assign]


def installed() -> bool:
    """Say whether calls take the lean path."""
    return Connection._make_api_call is _make_api_call
