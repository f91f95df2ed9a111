"""Run the backend locally: `python run.py`. Also the `app` for `flask --app run` and for Lambda.

With DYNAMODB_HOST unset, an embedded DynamoDB-compatible store (moto) serves on
127.0.0.1:DYNAMODB_PORT, and its data is kept in DATA_DIR (see local_data.py): every
acknowledged write in a journal, and a snapshot of all tables every SNAPSHOT_INTERVAL
seconds when something changed, and at exit.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import config
from app import create_app

if TYPE_CHECKING:
    from local_data import DurableData

app = create_app()


def start_embedded_store(settings: dict[str, Any]) -> DurableData:
    """Start the embedded store, restore its data and keep saving it."""
    from local_data import DurableData
    from local_dynamodb import LocalDynamoDB

    store = LocalDynamoDB(port=settings["DYNAMODB_PORT"], record_operations=False)
    try:
        store.start()
    except OSError as error:
        sys.exit(
            f"Cannot serve the embedded DynamoDB on 127.0.0.1:{settings['DYNAMODB_PORT']} ({error.strerror}): "
            "is another `python run.py` running? Stop it or set DYNAMODB_PORT."
        )
    data = DurableData(store, Path(settings["DATA_DIR"]), settings["SNAPSHOT_INTERVAL"])
    restored = data.restore()
    data.run_in_background()
    print(f"Embedded DynamoDB on {store.url}: restored {restored} items from {data.path}.")
    return data


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
