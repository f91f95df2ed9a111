"""A lean path for DynamoDB reads, behind PynamoDB's connection.

On a loopback endpoint botocore's per-call pipeline (event hooks, endpoint rules, a
user-agent string rebuilt per call, serialization and parsing by walking the service
model) costs more CPU than the round trip itself. DynamoDB speaks plain JSON, so a read
can be sent as that JSON, signed by botocore's SigV4 signer with the client's own
credentials, over the client's own HTTP session (its pool, timeouts and TLS settings).

Anything out of the ordinary goes back to botocore's pipeline, which then makes the call
as it always did: a status other than 200, a connection error, a CRC32 mismatch, bytes
in the request. Only reads take this path, so sending such a request again is safe, and
every error, retry and exception type is botocore's own. A response holding binary
values is parsed by botocore's parser, which decodes them.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import HTTPClientError
from pynamodb.connection.base import Connection

# Reads only: on a fallback the request is sent again through botocore, harmless for a read.
READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
_MAY_HOLD_BINARY = (b'"B"', b'"BS"')

_botocore_make_api_call = Connection._make_api_call


class LeanSender:
    """Send DynamoDB reads of one botocore client as signed JSON over its HTTP session."""

    def __init__(self, client: Any, extra_headers: Any = None) -> None:
        self.client = client
        self.url = client.meta.endpoint_url.rstrip("/") + "/"
        self.region = client.meta.region_name
        self.signing_name = client.meta.service_model.signing_name
        self.target_prefix = client.meta.service_model.metadata["targetPrefix"] + "."
        # Computed once: botocore rebuilds this string on every call.
        user_agent = client._user_agent_creator.to_string() if hasattr(client, "_user_agent_creator") else ""
        self.headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "Accept-Encoding": "identity",  # the CRC32 DynamoDB sends is of the uncompressed body
            **({"User-Agent": user_agent} if user_agent else {}),
            **dict(extra_headers or {}),
        }

    def call(self, operation_name: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """Return the response of a read, or None when botocore's pipeline must make the call."""
        credentials = self.client._request_signer._credentials
        if credentials is None:
            return None
        try:
            body = json.dumps(params, separators=(",", ":"))
        except TypeError:  # bytes: botocore base64-encodes blobs
            return None
        request = AWSRequest(
            method="POST",
            url=self.url,
            data=body.encode(),
            headers={**self.headers, "X-Amz-Target": self.target_prefix + operation_name},
        )
        SigV4Auth(credentials.get_frozen_credentials(), self.signing_name, self.region).add_auth(request)
        try:
            response = self.client._endpoint.http_session.send(request.prepare())
        except HTTPClientError:  # botocore retries connection errors: let it
            return None
        if response.status_code != 200:
            return None
        content = response.content
        expected_crc = response.headers.get("x-amz-crc32")
        if expected_crc is not None and zlib.crc32(content) != int(expected_crc):
            return None
        if any(marker in content for marker in _MAY_HOLD_BINARY):
            return self._parse_with_botocore(operation_name, response)
        parsed = json.loads(content)
        parsed["ResponseMetadata"] = {
            "RequestId": response.headers.get("x-amzn-requestid", ""),
            "HTTPStatusCode": 200,
            "HTTPHeaders": dict(response.headers),
            "RetryAttempts": 0,
        }
        return parsed

    def _parse_with_botocore(self, operation_name: str, response: Any) -> dict[str, Any]:
        operation = self.client.meta.service_model.operation_model(operation_name)
        raw = {"status_code": response.status_code, "headers": response.headers, "body": response.content}
        return self.client._response_parser.parse(raw, operation.output_shape)  # type: ignore[no-any-return]


def _sender_of(connection: Connection) -> LeanSender:
    client = connection.client  # PynamoDB may replace its client (lost credentials): follow it
    sender = getattr(connection, "_lean_sender", None)
    if sender is None or sender.client is not client:
        sender = LeanSender(client, connection._extra_headers)
        connection._lean_sender = sender  # type: ignore[attr-defined]
    return sender


def _make_api_call(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> dict[str, Any]:
    if operation_name in READ_OPERATIONS:
        response = _sender_of(self).call(operation_name, operation_kwargs)
        if response is not None:
            return response
    return _botocore_make_api_call(self, operation_name, operation_kwargs)  # type: ignore[no-any-return]


def install() -> None:
    """Send PynamoDB's reads through the lean path from now on."""
    Connection._make_api_call = _make_api_call  # type: ignore[method-assign]


def uninstall() -> None:
    """Send every call through botocore's pipeline again."""
    Connection._make_api_call = _botocore_make_api_call  # type: ignore[method-assign]


def installed() -> bool:
    """Say whether reads take the lean path."""
    return Connection._make_api_call is _make_api_call
