"""Measure requests through the WSGI app in-process (the Lambda model), next to the floor.

    python bench/wsgi.py [--repeat 300]

Own time is the time a request spends outside DynamoDB HTTP sends (each send is timed),
so it is our CPU, not the store's. The floor is the least any Python stack does for the
same answer, measured in the same run: verify the HS256 token with PyJWT, the same
DynamoDB read through a botocore client, json.dumps. Figures:

- the authenticated `{ viewer { id email firstName lastName } }`: own time, p50/p99
  latency, requests per second, DynamoDB requests per request;
- `todos(first: 10)` and `todos(first: 100)` pages: own time per edge, and the floor's
  per item (one Query of as many items, then JSON);
- the `addTodo` mutation: own time, and the floor's for the same writes (one
  TransactWriteItems: the todo and the user's count; the user read again for the payload);
- DynamoDB requests per operation: `nodes` with 100 todo ids, and a two-level nested
  query (the viewer's todos, each with its node fields).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from typing import Any

from common import AUDIENCE, ISSUER, PASSWORD, SECRET, SendTimer, app_settings, measure, store_process

VIEWER = "{ viewer { id email firstName lastName } }"
PAGE = (
    "query($n: Int) { viewer { todos(first: $n) { edges { cursor node { id text complete } } "
    "pageInfo { hasNextPage endCursor } } } }"
)
NESTED = "{ viewer { id todos(first: 10) { edges { node { id text complete } } } } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Todo { text complete } } }"
ADD = (
    "mutation($input: AddTodoInput!) { addTodo(input: $input) { todoEdge { cursor node { id text complete } } "
    "user { id totalCount } } }"
)
PREFIX = "benchwsgi_"
ROUNDS = 5  # ours and the floor take turns, so that a noisy neighbour slows both alike


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    timer = SendTimer()
    with store_process() as url:
        rows = run(url, timer, args.repeat)
    print_report(rows, args.repeat)


def run(url: str, timer: SendTimer, repeat: int) -> dict[str, Any]:
    import botocore.session
    import jwt

    import models
    import tables
    from app import create_app
    from schema import todo_global_id

    app = create_app(app_settings(url, PREFIX, ARGON2_TIME_COST=1, ARGON2_MEMORY_COST=1024, ARGON2_PARALLELISM=1))
    tables.create_tables()
    client = app.test_client()
    signup = client.post("/signup", json={"email": "bench@example.com", "password": PASSWORD, "firstName": "B"})
    token = signup.get_json()["access_token"]
    user_id = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)["sub"]
    todos = [models.Todo.add(user_id, f"todo {number}") for number in range(100)]
    headers = {"Authorization": f"Bearer {token}"}

    def graphql(query: str, **variables: Any) -> Any:
        def send() -> Any:
            response = client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
            assert response.status_code == 200 and b'"errors"' not in response.data, response.data[:300]
            return response

        return send

    # The floor: the same answers with nothing but PyJWT, a botocore client and json.dumps.
    botocore_client = botocore.session.get_session().create_client(
        "dynamodb", region_name="us-east-1", endpoint_url=url, aws_access_key_id="x", aws_secret_access_key="x"
    )
    users, todo_table = PREFIX + "users", PREFIX + "todos"

    def floor_viewer() -> str:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
        item = botocore_client.get_item(TableName=users, Key={"id": {"S": claims["sub"]}})["Item"]
        viewer = {"id": item["id"]["S"], "email": item["email"]["S"], "firstName": item["first_name"]["S"],
                  "lastName": item["last_name"]["S"]}  # fmt: skip
        return json.dumps({"data": {"viewer": viewer}})

    def floor_page(size: int) -> Any:
        def page() -> str:
            claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
            items = botocore_client.query(
                TableName=todo_table, KeyConditionExpression="user_id = :u",
                ExpressionAttributeValues={":u": {"S": claims["sub"]}}, Limit=size + 1, ConsistentRead=True,
            )["Items"]  # fmt: skip
            edges = [{"node": {"id": i["id"]["S"], "text": i["text"]["S"], "complete": i["complete"]["BOOL"]}}
                     for i in items[:size]]  # fmt: skip
            return json.dumps({"data": {"viewer": {"todos": {"edges": edges}}}})

        return page

    def floor_add() -> str:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
        user, todo = {"id": {"S": claims["sub"]}}, str(uuid.uuid4())
        botocore_client.transact_write_items(TransactItems=[
            {"Put": {"TableName": todo_table, "ConditionExpression": "attribute_not_exists(id)", "Item": {
                "user_id": user["id"], "id": {"S": todo}, "text": {"S": "bench"}, "complete": {"BOOL": False}}}},
            {"Update": {"TableName": users, "Key": user, "UpdateExpression": "ADD todo_count :one",
                        "ConditionExpression": "attribute_exists(id)",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        ])  # fmt: skip
        item = botocore_client.get_item(TableName=users, Key=user, ConsistentRead=True)["Item"]
        payload = {"todoEdge": {"node": {"id": todo, "text": "bench", "complete": False}},
                   "user": {"id": item["id"]["S"], "totalCount": int(item["todo_count"]["N"])}}  # fmt: skip
        return json.dumps({"data": {"addTodo": payload}})

    viewer_id = graphql("{ viewer { id } }")().get_json()["data"]["viewer"]["id"]
    rows: dict[str, Any] = {}
    # Interleaved rounds, so that a noisy neighbour slows both sides alike.
    rounds = ROUNDS
    for name, function, size in [
        ("viewer", graphql(VIEWER), 1),
        ("viewer floor", floor_viewer, 1),
        ("page 10", graphql(PAGE, n=10), 10),
        ("page 10 floor", floor_page(10), 10),
        ("page 100", graphql(PAGE, n=100), 100),
        ("page 100 floor", floor_page(100), 100),
        ("addTodo", graphql(ADD, input={"text": "bench", "userId": viewer_id}), 1),
        ("addTodo floor", floor_add, 1),
    ] * rounds:
        figures = measure(timer, function, repeat // rounds if size < 100 else max(30, repeat // (2 * rounds)))
        figures["size"] = size
        rows.setdefault(name, []).append(figures)
    ids = [todo_global_id(todo) for todo in todos]
    for name, function in [
        ("nodes(100 ids)", graphql(NODES, ids=ids)),
        ("viewer todos(first: 10) nodes", graphql(NESTED)),
    ]:
        rows[name] = [measure(timer, function, 10, warmup=2)]
    return rows


def _median(rows: list[dict[str, float]], key: str) -> float:
    values = sorted(row[key] for row in rows)
    return values[len(values) // 2]


def print_report(rows: dict[str, Any], repeat: int) -> None:
    viewer, floor = rows["viewer"], rows["viewer floor"]
    print("| figure | ours | floor | ours / floor |")
    print("|---|---|---|---|")
    figures = [
        ("own_p50_ms", "own time, ms (p50)"),
        ("p50_ms", "latency p50, ms"),
        ("p99_ms", "latency p99, ms"),
        ("per_second", "requests per second"),
        ("sends", "DynamoDB requests per request"),
    ]
    for key, label in figures:
        ours, least = _median(viewer, key), _median(floor, key)
        print(f"| viewer query: {label} | {ours:.2f} | {least:.2f} | {ours / least:.2f}x |")
    for size in (10, 100):
        ours = _median(rows[f"page {size}"], "own_p50_ms") / size
        least = _median(rows[f"page {size} floor"], "own_p50_ms") / size
        sends = _median(rows[f"page {size}"], "sends")
        label = f"todos(first: {size}): own time per edge, ms ({sends:.0f} DynamoDB requests)"
        print(f"| {label} | {ours:.3f} | {least:.3f} | {ours / least:.2f}x |")
    ours, least = _median(rows["addTodo"], "own_p50_ms"), _median(rows["addTodo floor"], "own_p50_ms")
    sends = _median(rows["addTodo"], "sends"), _median(rows["addTodo floor"], "sends")
    label = f"addTodo mutation: own time, ms (p50; {sends[0]:.0f} and {sends[1]:.0f} DynamoDB requests)"
    print(f"| {label} | {ours:.2f} | {least:.2f} | {ours / least:.2f}x |")
    print()
    print("| operation | DynamoDB requests | latency p50, ms |")
    print("|---|---|---|")
    for name in ("nodes(100 ids)", "viewer todos(first: 10) nodes"):
        [row] = rows[name]
        print(f"| `{name}` (token check included) | {row['sends']:.0f} | {row['p50_ms']:.1f} |")
    print(f"\n{repeat // ROUNDS} viewer requests in each of {ROUNDS} interleaved rounds, medians of the rounds; "
          f"measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")  # fmt: skip


if __name__ == "__main__":
    main()
