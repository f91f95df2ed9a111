"""Run the backend locally: `python run.py`. Also the `app` for `flask --app run` and for Lambda.

With DYNAMODB_HOST unset, an embedded DynamoDB-compatible store (moto) serves on
127.0.0.1:DYNAMODB_PORT, and its data is kept in DATA_DIR/dynamodb.jsonl: restored at
start, saved every SNAPSHOT_INTERVAL seconds when something changed, and at exit.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import config
from app import create_app

app = create_app()


class Snapshots:
    """Keep the embedded store's items in a JSON Lines file across restarts."""

    def __init__(self, store: Any, path: Path, interval: float) -> None:
        self.store = store
        self.path = path
        self.interval = interval
        self._saved_at_writes = -1
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def restore(self) -> int:
        """Import the last snapshot, if there is one, and return how many items it held."""
        import tables

        tables.create_tables()
        if not self.path.exists():
            return 0
        with open(self.path, encoding="utf-8") as lines:
            count = tables.import_data(lines)
        self._saved_at_writes = self.store.writes
        return count

    def save(self) -> None:
        """Export every table to the snapshot file if anything was written since the last save."""
        import tables

        with self._lock:
            writes = self.store.writes
            if writes == self._saved_at_writes:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_name(self.path.name + ".partial")
            with open(partial, "w", encoding="utf-8") as out:
                tables.export_data(out)
            os.replace(partial, self.path)  # atomic: a crash mid-save keeps the previous snapshot
            self._saved_at_writes = writes

    def run_in_background(self) -> None:
        """Save periodically until the process exits, and once more at exit."""

        def loop() -> None:
            while not self._stopped.wait(self.interval):
                self.save()

        threading.Thread(target=loop, name="snapshots", daemon=True).start()
        atexit.register(self.stop)

    def stop(self) -> None:
        self._stopped.set()
        self.save()


def start_embedded_store(settings: dict[str, Any]) -> Snapshots:
    """Start the embedded store, restore its data and keep saving it."""
    from local_dynamodb import LocalDynamoDB

    store = LocalDynamoDB(port=settings["DYNAMODB_PORT"], record_operations=False)
    try:
        store.start()
    except OSError as error:
        sys.exit(
            f"Cannot serve the embedded DynamoDB on 127.0.0.1:{settings['DYNAMODB_PORT']} ({error.strerror}): "
            "is another `python run.py` running? Stop it or set DYNAMODB_PORT."
        )
    snapshots = Snapshots(store, Path(settings["DATA_DIR"]) / "dynamodb.jsonl", settings["SNAPSHOT_INTERVAL"])
    restored = snapshots.restore()
    snapshots.run_in_background()
    print(f"Embedded DynamoDB on {store.url}: restored {restored} items from {snapshots.path}.")
    return snapshots


def banner(settings: dict[str, Any]) -> str:
    """Return the URLs and a curl session that signs up, logs in and queries."""
    base = f"http://{settings['HOST']}:{settings['PORT']}"
    json_header = "-H 'Content-Type: application/json'"
    return f"""
GraphQL:        {base}/graphql   (GraphiQL in a browser{'' if settings['GRAPHIQL'] else ': off'})
Schema (SDL):   {base}/graphql-schema?format=sdl
DynamoDB:       {config.dynamodb_endpoint(settings)}

Try it:
curl -s -X POST {base}/signup {json_header} \\
  -d '{{"email": "me@example.com", "password": "yourpass", "firstName": "Me", "lastName": "Myself"}}'
TOKEN=$(curl -s -X POST {base}/login {json_header} \\
  -d '{{"email": "me@example.com", "password": "yourpass"}}' \\
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
curl -s -X POST {base}/graphql {json_header} -H "Authorization: JWT $TOKEN" \\
  -d '{{"query": "{{ viewer {{ id email firstName lastName }} }}"}}'
"""


def main() -> None:
    settings = app.config
    # SIGTERM (docker stop, kill) exits like Ctrl-C does, so the data is saved at exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    reloader_child = os.environ.get("WERKZEUG_RUN_MAIN") == "true"
    if not reloader_child:  # the reloader's parent process owns the store; children come and go
        if config.uses_embedded_store(settings):
            start_embedded_store(settings)
        else:
            import tables

            created = tables.create_tables()
            print(f"DynamoDB at {config.dynamodb_endpoint(settings)}; created tables: {', '.join(created) or 'none'}.")
        print(banner(settings), flush=True)
    from devserver import JSONErrorsRequestHandler

    app.run(
        host=settings["HOST"],
        port=settings["PORT"],
        use_reloader=settings["RELOAD"],
        request_handler=JSONErrorsRequestHandler,  # JSON for the server's own errors; stalled sockets time out
    )


if __name__ == "__main__":
    main()
