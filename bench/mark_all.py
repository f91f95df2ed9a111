"""Measure `markAllTodos` on the embedded store: time per call and the memory the process keeps.

    python bench/mark_all.py [--todos 300] [--calls 10]

One user with N todos; the mutation alternates between complete and active, so every
call changes all N todos (transactions of 99 todos and the owner's counters). The app
and the embedded store run in this process, so the resident set size is theirs together.
BENCH_ROOT points at another checkout to measure its code with the same script.
"""

from __future__ import annotations

import argparse
import gc
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))

MUTATION = """mutation($complete: Boolean!, $userId: ID!) {
  markAllTodos(input: {complete: $complete, userId: $userId}) { changedTodos { id } user { completedCount } } }"""


def rss_mb() -> float:
    """Return this process's resident set size in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--todos", type=int, default=300)
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()

    from local_dynamodb import LocalDynamoDB

    store = LocalDynamoDB(port=0, record_operations=False)
    store.start()
    try:
        import models
        import tables
        from app import create_app

        app = create_app(
            {
                "APP_ENV": "test",
                "DYNAMODB_HOST": store.url,
                "TABLE_PREFIX": "bench_",
                "JWT_SECRET_KEY": secrets.token_urlsafe(48),
                "LOG_LEVEL": "WARNING",
                "ARGON2_MEMORY_COST": 1024,
            }
        )
        tables.create_tables()
        client = app.test_client()
        signup = client.post("/signup", json={"email": "bench@example.com", "password": "benchmark-pw"}).get_json()
        headers = {"Authorization": f"Bearer {signup['access_token']}"}
        owner = models.User.find_by_email("bench@example.com")
        for _ in range(args.todos):
            models.Todo.add(owner.id, "a todo")
        gc.collect()
        before = rss_mb()
        timings = []
        for call in range(args.calls):
            started = time.perf_counter()
            variables = {"complete": call % 2 == 0, "userId": owner.id}
            response = client.post("/graphql", json={"query": MUTATION, "variables": variables}, headers=headers)
            timings.append(time.perf_counter() - started)
            body = response.get_json()
            assert "errors" not in body and len(body["data"]["markAllTodos"]["changedTodos"]) == args.todos, body
        gc.collect()
        after = rss_mb()
    finally:
        store.stop()
    print(f"code: {ROOT}")
    print(f"markAllTodos on {args.todos} todos, {args.calls} calls")
    print(f"  time per call: median {statistics.median(timings):.3f} s, max {max(timings):.3f} s")
    print(f"  RSS: {before:.0f} MB before the calls, {after:.0f} MB after (+{after - before:.0f} MB)")


if __name__ == "__main__":
    main()
