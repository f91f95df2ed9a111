"""`max_response_bytes`: a bound on how much of an answer the GraphQL client reads.

A server, or anything between, may answer with more than the caller can hold. The bound is
checked against Content-Length before the body is read and counted as the body arrives, so
memory stays bounded either way; past it the client raises ResponseTooLarge and closes the
connection. A client with a bound asks for the identity encoding and refuses an answer
compressed anyway: it counts bytes as they arrive, and a small compressed body can expand
without bound.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx

from client_errors import ResponseTooLarge, TransportError

REQUEST_HEADERS = {"Accept-Encoding": "identity"}


def response_hook(limit: int, asynchronous: bool) -> Callable[[httpx.Response], Any]:
    """Return the httpx response hook that holds answers to `limit` bytes (an async one for AsyncClient)."""

    def check(response: httpx.Response) -> None:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ResponseTooLarge(_too_large(response, limit))
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise TransportError(
                f"{_origin(response)} answered with Content-Encoding {encoding!r}, not the identity asked for"
            )
        response.stream = (_AsyncBounded if asynchronous else _Bounded)(response, limit)

    if not asynchronous:
        return check

    async def check_async(response: httpx.Response) -> None:
        check(response)

    return check_async


class _Bounded(httpx.SyncByteStream):
    def __init__(self, response: httpx.Response, limit: int) -> None:
        self._stream, self._response, self._limit = response.stream, response, limit

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self._stream:  # type: ignore[union-attr]
            seen += len(chunk)
            if seen > self._limit:
                raise ResponseTooLarge(_too_large(self._response, self._limit))
            yield chunk

    def close(self) -> None:
        self._stream.close()  # type: ignore[union-attr]


class _AsyncBounded(httpx.AsyncByteStream):
    def __init__(self, response: httpx.Response, limit: int) -> None:
        self._stream, self._response, self._limit = response.stream, response, limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self._stream:  # type: ignore[union-attr]
            seen += len(chunk)
            if seen > self._limit:
                raise ResponseTooLarge(_too_large(self._response, self._limit))
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()  # type: ignore[union-attr]


def _too_large(response: httpx.Response, limit: int) -> str:
    return f"{_origin(response)} answered with more than {limit} bytes"


def _origin(response: httpx.Response) -> str:
    url = response.request.url
    return f"{url.scheme}://{url.netloc.decode('ascii')}"
