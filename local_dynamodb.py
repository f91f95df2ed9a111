"""An embedded DynamoDB-compatible server (moto's server mode) for development and tests."""

from __future__ import annotations

import contextlib
import copy
import io
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
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
        # With a journal: every acknowledged write is appended to it before its answer is sent.
        self.journal: Journal | None = None
        self._lock = threading.Lock()
        self._moto_app: Any = None

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

        _install_cheap_transaction_rollback()
        self._moto_app = DomainDispatcherApplication(create_backend_app)
        app = self._serialized(self._moto_app)
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
        def serve_one_at_a_time(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            with self._lock:
                target = environ.get("HTTP_X_AMZ_TARGET", "")  # "DynamoDB_20120810.GetItem"
                operation = target.rpartition(".")[2]
                if operation in _WRITE_OPERATIONS:
                    self.writes += 1
                if operation and self.record_operations:
                    self.operations.append(operation)
                if self.journal is None or operation not in _WRITE_OPERATIONS:
                    return self._call(app, environ, start_response)
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"] = io.BytesIO(body)
                statuses: list[str] = []

                def remember_status(status: str, *args: Any) -> Any:
                    statuses.append(status)
                    return start_response(status, *args)

                answer = self._call(app, environ, remember_status)
                if statuses and statuses[-1].startswith("200"):
                    # Before the answer leaves: a write the client saw succeed is on disk.
                    self.journal.append(target, _region(environ), body)
                return answer

        return serve_one_at_a_time

    @staticmethod
    def _call(app: Callable[..., Iterable[bytes]], environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return list(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Hold every request back while the block runs: what it reads is one moment of every table."""
        with self._lock:
            yield

    def replay(self, target: str, region: str, body: bytes) -> int:
        """Apply one journaled write in-process (no HTTP, not journaled again) and return its status code."""
        from werkzeug.test import EnvironBuilder

        headers = {
            "X-Amz-Target": target,
            "Content-Type": "application/x-amz-json-1.0",
            # moto reads the region (and the account) from the credential scope; nothing is verified.
            "Authorization": f"AWS4-HMAC-SHA256 Credential=local/20000101/{region}/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=0",
        }
        builder = EnvironBuilder(method="POST", path="/", base_url=self.url, headers=headers, data=body)
        statuses: list[str] = []
        with self._lock:
            self._call(self._moto_app, builder.get_environ(), lambda status, *_: statuses.append(status))
        return int(statuses[0].split()[0])

    def table_items(self, table_name: str) -> Iterator[dict[str, Any]]:
        """Yield the items of `table_name` as DynamoDB JSON, read in-process (call it while paused)."""
        from moto.dynamodb.models import dynamodb_backends

        for account in list(dynamodb_backends.values()):
            for backend in list(account.values()):
                table = backend.tables.get(table_name)
                if table is not None:
                    for item in table.all_items():
                        yield item.to_json()["Attributes"]


_CREDENTIAL_REGION = re.compile(r"Credential=[^/]*/[^/]*/([^/]+)/")


def _region(environ: dict[str, Any]) -> str:
    """Return the region a signed request names (moto keeps one backend per region)."""
    match = _CREDENTIAL_REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else "us-east-1"


class Journal:
    """An append-only file of acknowledged writes: `{"seq", "target", "region", "body"}` per line."""

    def __init__(self, path: os.PathLike[str] | str, sequence: int = 0) -> None:
        self.path = path
        self.sequence = sequence  # of the last write appended
        # O_APPEND: each line is one write(2); once it returns, the line survives the process (kill -9).
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def append(self, target: str, region: str, body: bytes) -> None:
        import json

        self.sequence += 1
        record = {"seq": self.sequence, "target": target, "region": region, "body": body.decode("utf-8")}
        os.write(self._fd, (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8"))

    def clear(self) -> None:
        """Forget every line (they are in a snapshot now)."""
        os.ftruncate(self._fd, 0)

    def close(self) -> None:
        os.close(self._fd)


def _install_cheap_transaction_rollback() -> None:
    """Make moto's TransactWriteItems save and restore only the items it touches.

    moto 5.2 deep-copies every table a transaction names, once per action, to roll back
    on failure. Each copy is also a new `Table`, and moto's BaseModel appends every new
    instance to `Table.instances_tracked`, a class-level list that is never emptied: a
    100-action transaction on a 300-item table copies the table 100 times and keeps every
    copy for good. The embedded store serves one request at a time, so saving just the
    items the transaction touches is a complete rollback.
    """
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "saves_touched_items_only", False):
        return

    def share_table(table: Table, _memo: dict[int, Any]) -> Table:
        return table

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        with _TRANSACTIONS:  # one at a time in this process, also across LocalDynamoDB instances
            saved = _touched_items(backend, transact_items)
            Table.__deepcopy__ = share_table  # moto's "backup" of each table: the table itself
            try:
                original(backend, transact_items)
            except BaseException:
                _put_back(saved)
                raise
            finally:
                del Table.__deepcopy__

    transact_write_items.saves_touched_items_only = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items


_TRANSACTIONS = threading.Lock()


def _touched_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    """Return (table, hash key, range key, copy of the item or None) for each item the actions name."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    saved = []
    for action in transact_items:
        try:
            ((kind, operation),) = action.items()
            table = backend.tables[operation["TableName"]]
            key = operation["Item"] if kind == "Put" else operation["Key"]
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        except (KeyError, ValueError, TypeError, AttributeError):
            continue  # moto refuses such an action before it writes anything
        item = table.get_item(hash_key, range_key)
        saved.append((table, hash_key, range_key, copy.deepcopy(item)))
    return saved


def _put_back(saved: list[tuple[Any, Any, Any, Any]]) -> None:
    """Restore the items `_touched_items` saved (absent ones are removed again)."""
    for table, hash_key, range_key, item in reversed(saved):
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
        elif item is None:
            table.items[hash_key].pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item
