"""The dev server's own errors answer JSON, and a stalled request is dropped after the socket timeout."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devserver import JSONErrorsRequestHandler


class QuickTimeout(JSONErrorsRequestHandler):
    timeout = 0.5


@pytest.fixture
def address(app: Any) -> Iterator[tuple[str, int]]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuickTimeout)
    thread = threading.Thread(target=server.serve_forever, name="dev-server", daemon=True)
    thread.start()
    try:
        yield server.server_address[:2]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def exchange(address: tuple[str, int], data: bytes) -> tuple[int, dict[str, str], bytes, float]:
    """Send `data`, read until the server closes; return status, headers, body and seconds taken."""
    started = time.perf_counter()
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(data)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    elapsed = time.perf_counter() - started
    if not received:
        return 0, {}, b"", elapsed
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body, elapsed


@pytest.mark.parametrize(
    ("case", "request_bytes", "status", "code"),
    [
        ("request line over 64 KB", b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, "URI_TOO_LONG"),
        ("header over 64 KB", b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431, "HEADERS_TOO_LARGE"),
        ("101 headers", b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(101)) + b"\r\n",
         431, "HEADERS_TOO_LARGE"),
        ("not HTTP", b"HELLO THERE FRIEND AND MORE\r\n\r\n", 400, "BAD_REQUEST"),
        ("bad version", b"GET / HTTP/9.9\r\n\r\n", 505, "HTTP_VERSION_NOT_SUPPORTED"),
        ("stalled body", b"POST /login HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
         408, "REQUEST_TIMEOUT"),
    ],
)
def test_server_level_errors_answer_json(
    address: tuple[str, int], case: str, request_bytes: bytes, status: int, code: str
) -> None:
    answer_status, headers, body, elapsed = exchange(address, request_bytes)
    assert (answer_status, headers["Content-Type"], json.loads(body)["code"]) == (status, "application/json", code)
    assert elapsed < 5


def test_a_request_line_that_never_comes_is_dropped_after_the_timeout(address: tuple[str, int]) -> None:
    status, _headers, body, elapsed = exchange(address, b"GET / HTTP/1.1\r\n")  # and then nothing
    assert (status, body) == (0, b"")
    assert 0.4 < elapsed < 5


def test_ordinary_requests_are_untouched(address: tuple[str, int]) -> None:
    status, headers, body, _elapsed = exchange(address, b"GET /nowhere HTTP/1.0\r\n\r\n")
    assert (status, headers["Content-Type"], json.loads(body)["code"]) == (404, "application/json", "NOT_FOUND")
