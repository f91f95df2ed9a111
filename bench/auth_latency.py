"""Measure what authentication costs per request: an authenticated `viewer` query, and a login.

    python bench/auth_latency.py                 # the working tree
    python bench/auth_latency.py --source DIR    # another checkout (e.g. the code before a change)

The app of the source tree serves through Flask's test client, on an embedded DynamoDB
(moto, on 127.0.0.1) with cheap argon2 parameters, so the figures are the app's own work
and its DynamoDB round trips. Prints the medians and the DynamoDB operations each sends.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"


def median_ms(send: Callable[[], Any], times: int) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        response = send()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.get_json()
    return round(statistics.median(samples), 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="the checkout whose app to measure")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--logins", type=int, default=50)
    arguments = parser.parse_args()
    sys.path.insert(0, str(arguments.source.resolve()))

    import config
    import models
    import tables
    from app import create_app
    from local_dynamodb import LocalDynamoDB

    store = LocalDynamoDB(port=0)
    store.start()
    try:
        settings = {
            "APP_ENV": "test",
            "JWT_SECRET_KEY": "bench-only-secret-" + "x" * 40,
            "TABLE_PREFIX": "bench_",
            "DYNAMODB_HOST": store.url,
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
            "ARGON2_PARALLELISM": 1,
            "LOG_LEVEL": "WARNING",
        }
        models.configure(config.load_settings(settings, dotenv=False))
        tables.create_tables()
        client = create_app(settings).test_client()
        credentials = {"email": "bench@example.com", "password": PASSWORD}
        token = client.post("/signup", json=credentials).get_json()["access_token"]

        def viewer() -> Any:
            return client.post(
                "/graphql", json={"query": "{ viewer { email } }"}, headers={"Authorization": f"Bearer {token}"}
            )

        def login() -> Any:
            return client.post("/login", json=credentials)

        operations = {}
        for name, send in (("viewer", viewer), ("login", login)):
            store.operations.clear()
            send()
            operations[name] = list(store.operations)
        result = {
            "source": str(arguments.source.resolve()),
            "viewer_median_ms": median_ms(viewer, arguments.queries),
            "login_median_ms": median_ms(login, arguments.logins),
            "operations": operations,
        }
    finally:
        store.stop()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
