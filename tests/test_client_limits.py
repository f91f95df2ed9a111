"""max_response_bytes: the client reads no more of an answer than its bound, sync and async, over HTTP."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
from support import serve_wsgi

from client import AsyncGraphQLClient, GraphQLClient, ResponseTooLarge, TransportError

LIMIT = 10_000


class Padded:
    """Answer every request with a GraphQL result of `size` bytes; without Content-Length (chunked) or
    gzip-encoded if asked. Records each request's Accept-Encoding."""

    def __init__(self, size: int, *, length: bool = True, encoding: str | None = None) -> None:
        prefix, suffix = b'{"data":{"pad":"', b'"}}'
        self.body = prefix + b"x" * (size - len(prefix) - len(suffix)) + suffix
        self.length, self.encoding = length, encoding
        self.accept_encodings: list[str | None] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.accept_encodings.append(environ.get("HTTP_ACCEPT_ENCODING"))
        body = gzip.compress(self.body) if self.encoding == "gzip" else self.body
        headers = [("Content-Type", "application/json")]
        if self.encoding:
            headers.append(("Content-Encoding", self.encoding))
        if self.length:
            headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return iter([body[i : i + 4096] for i in range(0, len(body), 4096)])


def run(asynchronous: bool, url: str, limit: int | None) -> Any:
    """Execute a query with a client of each kind and return its data (or raise its error)."""
    if not asynchronous:
        with GraphQLClient(url, max_response_bytes=limit, max_retries=0) as client:
            return client.execute("{ pad }")

    async def main() -> Any:
        async with AsyncGraphQLClient(url, max_response_bytes=limit, max_retries=0) as client:
            return await client.execute("{ pad }")

    return asyncio.run(main())


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def asynchronous(request: pytest.FixtureRequest) -> bool:
    return request.param


@pytest.mark.parametrize(
    ("server", "limit", "error", "message"),
    [
        (Padded(LIMIT + 1), LIMIT, ResponseTooLarge, f"answered with more than {LIMIT} bytes"),
        (Padded(LIMIT + 1, length=False), LIMIT, ResponseTooLarge, f"answered with more than {LIMIT} bytes"),
        (Padded(50 * LIMIT, length=False), LIMIT, ResponseTooLarge, f"answered with more than {LIMIT} bytes"),
        (Padded(100, encoding="gzip"), LIMIT, TransportError, "answered with Content-Encoding 'gzip', not the "
                                                              "identity asked for"),
    ],
    ids=["declared-length", "chunked-just-over", "chunked-far-over", "compressed-anyway"],
)
def test_an_answer_past_the_bound_is_refused(
    asynchronous: bool, server: Padded, limit: int, error: type, message: str
) -> None:
    server.accept_encodings.clear()  # one server serves the sync and the async case
    with serve_wsgi(server) as base_url, pytest.raises(error) as raised:
        run(asynchronous, f"{base_url}/graphql", limit)
    assert str(raised.value) == f"{base_url} {message}"
    assert server.accept_encodings == ["identity"]


@pytest.mark.parametrize(
    ("server", "limit", "accept_encoding"),
    [
        (Padded(LIMIT), LIMIT, "identity"),
        (Padded(LIMIT, length=False), LIMIT, "identity"),
        (Padded(50 * LIMIT, encoding="gzip"), None, "gzip, deflate"),  # no bound: any size, any encoding
    ],
    ids=["exactly-the-bound", "chunked-at-the-bound", "unbounded"],
)
def test_an_answer_within_the_bound_is_read_whole(
    asynchronous: bool, server: Padded, limit: int | None, accept_encoding: str
) -> None:
    server.accept_encodings.clear()
    with serve_wsgi(server) as base_url:
        data = run(asynchronous, f"{base_url}/graphql", limit)
    assert data == json.loads(server.body)["data"]
    assert server.accept_encodings[0].startswith(accept_encoding)
