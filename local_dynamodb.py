"""An embedded DynamoDB-compatible server (moto's server mode) for development and tests."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

_WRITE_OPERATIONS = frozenset(
    {
        "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
        "CreateTable", "DeleteTable", "UpdateTable", "UpdateTimeToLive",
    }
)


class LocalDynamoDB:
    """Serve moto's DynamoDB on a loopback port in a background thread.

    DynamoDB applies each request atomically; moto does not lock its backend, so two
    concurrent conditional writes could both pass their checks. Serving one request
    at a time gives the emulator the atomicity that the real service guarantees.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8000, *, record_operations: bool = True) -> None:
        self.host = host
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.record_operations = record_operations
        self.operations: list[str] = []  # with record_operations: names served, e.g. "BatchGetItem"
        self.writes = 0  # write requests served, so a snapshot can be skipped when nothing changed

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        """Start serving and return the endpoint URL; port 0 picks a free port."""
        # moto is a development dependency: import it only when the embedded store starts.
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        class QuietRequestHandler(MotoRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                """Log nothing per request: a page of the app makes several."""

        app = self._serialized(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self.host, self.port, app, threaded=True, request_handler=QuietRequestHandler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-dynamodb", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving; the data, kept in memory, is gone."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None

    def _serialized(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., list[bytes]]:
        lock = threading.Lock()

        def serve_one_at_a_time(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            with lock:
                operation = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]  # "DynamoDB_20120810.GetItem"
                if operation in _WRITE_OPERATIONS:
                    self.writes += 1
                if operation and self.record_operations:
                    self.operations.append(operation)
                body = app(environ, start_response)
                try:
                    return list(body)
                finally:
                    close = getattr(body, "close", None)
                    if close is not None:
                        close()

        return serve_one_at_a_time

    def reset(self) -> None:
        """Drop every table and item."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass


