"""Send the costly requests of issue 9 to a live server and print what each client got and when.

    python bench/attacks.py [--root DIR] [--timeout 60] [--todos 20] [ATTACK ...]

Each attack runs in a process of its own (the embedded store, the app on a threaded
werkzeug server, a user with `--todos` todos), so an attack that outlives the client's
`--timeout` is ended with its process instead of running on. `--root` measures another
checkout (e.g. the code before the limits: `git worktree add /tmp/before <commit>`).
For each attack it prints the request size, the status, the seconds until the answer
(or until the client gave up), the response size, the DynamoDB requests the server sent
meanwhile and the start of the answer.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ATTACKS = [
    "bomb20", "bomb25", "bomb30", "aliases500", "aliases1200", "addTodo200", "markAll50",
    "nested_graphql", "nested_login", "nested_signup", "viewer3500", "repeated60k", "repeated994",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("attacks", nargs="*", metavar="ATTACK", help=f"some of: {', '.join(ATTACKS)} (default: all)")
    parser.add_argument("--root", default=str(ROOT), help="the checkout to measure")
    parser.add_argument("--timeout", type=float, default=60, help="seconds a client waits")
    parser.add_argument("--todos", type=int, default=20, help="todos of the attacking user")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.root, args.timeout, args.todos)), flush=True)
        os._exit(0)  # the server thread may still be busy with an attack the client gave up on
    print("| attack | request | status | seconds | response | DynamoDB requests | answer |")
    print("|---|---|---|---|---|---|---|")
    for attack in args.attacks or ATTACKS:
        if attack not in ATTACKS:
            parser.error(f"unknown attack {attack!r}")
        command = [sys.executable, __file__, "--one", attack, "--root", args.root,
                   "--timeout", str(args.timeout), "--todos", str(args.todos)]
        try:
            child = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout + 120)
            rounds = json.loads(child.stdout.strip().splitlines()[-1])
        except (subprocess.TimeoutExpired, IndexError, ValueError):
            print(f"| {attack} | | | | | | did not finish |")
            continue
        for result in rounds:
            answer = result["answer"].replace("|", "\\|")[:100]
            print(f"| {attack} | {result['request_bytes']:,} B | {result['status']} | {result['seconds']:.3f} "
                  f"| {result['response_bytes']:,} B | {result['dynamodb']} | `{answer}` |")


def run_one(attack: str, root: str, timeout: float, todos: int) -> list[dict[str, Any]]:
    """Serve the app of `root` and send it `attack` (twice for the resent document); return what happened."""
    sys.path.insert(0, root)
    os.chdir(root)
    from werkzeug.serving import make_server

    from local_dynamodb import LocalDynamoDB

    store = LocalDynamoDB(port=0)
    store.start()
    settings = {
        "APP_ENV": "test", "JWT_SECRET_KEY": "bench-only-secret-that-is-long-enough-0123", "TABLE_PREFIX": "bench_",
        "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, "ARGON2_PARALLELISM": 1, "LOG_LEVEL": "CRITICAL",
        "DYNAMODB_HOST": store.url, "DATA_DIR": str(Path(root) / ".data" / "bench"), "GRAPHQL_REPORT_COST": False,
    }
    import models
    import tables
    from app import create_app

    app = create_app(settings)
    tables.create_tables()
    client = app.test_client()
    token = client.post("/signup", json={"email": "a@example.com", "password": "correct horse"}).get_json()[
        "access_token"
    ]
    headers = {"Authorization": f"Bearer {token}"}
    user_id = client.post("/graphql", json={"query": "{ viewer { userId } }"}, headers=headers).get_json()
    user_id = user_id["data"]["viewer"]["userId"]
    for n in range(todos):
        models.Todo.add(user_id, f"todo {n}")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    path, body = _attack(attack, user_id)
    rounds = []
    for _ in range(2 if attack.startswith("repeated") else 1):  # resent: is the refusal cached?
        store.operations.clear()
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.server_address[1]}{path}", data=body, method="POST",
            headers={"Content-Type": "application/json", **headers},
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        except OSError as error:  # the client gave up
            status, payload = None, f"no answer: {error}".encode()
        seconds = time.perf_counter() - started
        counts: dict[str, int] = {}
        for operation in store.operations:
            counts[operation] = counts.get(operation, 0) + 1
        rounds.append({
            "request_bytes": len(body), "status": status, "seconds": seconds, "response_bytes": len(payload),
            "dynamodb": counts, "answer": payload[:300].decode("utf-8", "replace"),
        })
    return rounds


def _attack(name: str, user_id: str) -> tuple[str, bytes]:
    def aliased(count: int, field: str) -> str:
        return " ".join(f"a{n}: {field}" for n in range(count))

    def bomb(levels: int) -> str:
        fragments = ["fragment F0 on User { id }"]
        fragments += [f"fragment F{n} on User {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, levels + 1)]
        return f"{{ viewer {{ ...F{levels} }} }}\n" + "\n".join(fragments)

    user = json.dumps(user_id)
    add_todo = "addTodo(input: {text: \"x\", userId: " + user + "}) { clientMutationId }"
    mark_all = "markAllTodos(input: {complete: true, userId: " + user + "}) { clientMutationId }"
    queries = {
        "bomb20": bomb(20),
        "bomb25": bomb(25),
        "bomb30": bomb(30),
        "aliases500": f"{{ viewer {{ {aliased(500, 'todos(first: 100) { edges { node { id text } } }')} }} }}",
        "aliases1200": f"{{ viewer {{ {aliased(1200, 'todos(first: 100) { edges { node { id } } }')} }} }}",
        "addTodo200": f"mutation {{ {aliased(200, add_todo)} }}",
        "markAll50": f"mutation {{ {aliased(50, mark_all)} }}",
        "viewer3500": "{" + "".join(f"a{n}:viewer{{id}}" for n in range(3500)) + "}",  # 52 KB: under 64 KB
        "repeated60k": "{ viewer { " + "id " * 20_000 + "} }",
        "repeated994": "{ viewer { " + "id " * 994 + "} }",  # 3 KB, 1,000 tokens
    }
    if name.startswith("nested_"):
        return f"/{name.removeprefix('nested_')}", b"[" * 1000 + b"]" * 1000
    return "/graphql", json.dumps({"query": queries[name]}).encode()


if __name__ == "__main__":
    main()
