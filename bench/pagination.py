"""Measure Relay pagination on DynamoDB: items DynamoDB read and latency, by list size.

    python bench/pagination.py [--sizes 100 1000 10000] [--repeat 30]

For one user with N todos (1% of them completed) it times, through the real WSGI app
(token check included), `todos(first: 10)`, the page after 50 pages of 10 (item 500;
the last page when N < 510) and `todos(status: "completed", first: 10)`. Items read are
DynamoDB's ScannedCount for the page, as graphene_pynamo reports it.

Two more columns put the figures in context: "raw Query" is one `Query(Limit=11)` sent
straight to the same store, the floor that any layer pays; "read all" is reading the
whole list, what the original graphene-pynamodb connection did for every page. Note
that moto's Query filters the whole partition in Python, so on this emulator even the
raw Query grows with N; DynamoDB reads by key and does not.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERY = """query($status: String, $after: String) {
  user(id: "me") { todos(status: $status, first: 10, after: $after) {
    edges { cursor node { id text complete } } pageInfo { hasNextPage endCursor } } } }"""
DEEP_POSITION = 500  # 50 pages of 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    from local_dynamodb import LocalDynamoDB

    store = LocalDynamoDB(port=0, record_operations=False)
    store.start()
    try:
        rows = run(store, args.sizes, args.repeat)
    finally:
        store.stop()
    print_table(rows)


def run(store: Any, sizes: list[int], repeat: int) -> list[dict[str, Any]]:
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
        }
    )
    tables.create_tables()
    client = app.test_client()
    rows = []
    for size in sizes:
        email = f"bench{size}@example.com"
        signup = client.post("/signup", json={"email": email, "password": secrets.token_urlsafe(12)}).get_json()
        owner = models.User.find_by_email(email)
        todos = seed(owner.id, size)
        headers = {"Authorization": f"Bearer {signup['access_token']}"}
        deep = min(DEEP_POSITION, max(size - 10, 0))
        cases = {
            "first: 10": {},
            f"after {deep} (page {deep // 10 + 1})": {"after": cursor_at(owner.id, todos[deep - 1])},
            'status: "completed"': {"status": "completed"},
        }
        raw_ms = timed(lambda owner_id=owner.id: list(models.Todo.query(owner_id, limit=11)), repeat)
        all_ms = timed(lambda owner_id=owner.id: list(models.Todo.query(owner_id)), max(3, repeat // 10))
        for name, variables in cases.items():
            stats = items_read(owner, variables)

            def request(variables: dict[str, Any] = variables, headers: dict[str, str] = headers) -> None:
                response = client.post("/graphql", json={"query": QUERY, "variables": variables}, headers=headers)
                assert response.status_code == 200 and "errors" not in response.get_json(), response.get_json()

            rows.append(
                {
                    "N": size,
                    "page": name,
                    "requests": stats.requests,
                    "items read": stats.items_read,
                    "items returned": stats.items_returned,
                    "latency ms": timed(request, repeat),
                    "raw Query ms": raw_ms,
                    "read all ms": all_ms,
                }
            )
    return rows


def seed(owner_id: str, size: int) -> list[Any]:
    """Write `size` todos oldest first, every 100th completed, and set the owner's counters."""
    from ulid import ULID

    import models

    start = int(time.time() * 1000) - size
    todos = []
    for index in range(size):
        todo_id = str(ULID.from_timestamp((start + index) / 1000))
        complete = index % 100 == 99
        todos.append(
            models.Todo(
                owner_id,
                todo_id,
                text=f"todo {index}",
                complete=complete,
                completed_id=todo_id if complete else None,
            )
        )
    with models.Todo.batch_write() as batch:
        for todo in todos:
            batch.save(todo)
    completed = sum(1 for todo in todos if todo.complete)
    models.User(owner_id).update([models.User.todo_count.set(size), models.User.completed_count.set(completed)])
    return sorted(todos, key=lambda todo: todo.id)


def cursor_at(owner_id: str, todo: Any) -> str:
    import graphene_pynamo as gp
    from schema import todo_list

    return gp.cursor_for(todo_list(owner_id, "any"), todo)


def items_read(owner: Any, variables: dict[str, Any]) -> Any:
    """Run the query once in-process and return what DynamoDB read for it."""
    from schema import Context, schema

    context = Context(viewer=owner, request_id="bench")
    result = schema.execute(QUERY, variable_values=variables, context_value=context)
    assert not result.errors, result.errors
    return context.loaders.stats


def timed(function: Any, repeat: int) -> float:
    """Return the median wall time of `function` in milliseconds, after a warm-up."""
    for _ in range(3):
        function()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def print_table(rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = [f"{value:.2f}" if isinstance(value, float) else str(value) for value in row.values()]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
