"""Every benchmark still runs on this code (a few repetitions each): figures are taken with `python bench/run.py`."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import ROOT

BENCHMARKS = [
    # (arguments, lines the output must hold: the figures vary, what is counted does not)
    (["bench/wsgi.py", "--repeat", "10"],
     ["| viewer query: DynamoDB requests per request | 1.00 | 1.00 | 1.00x |",
      "| addTodo mutation: own time, ms (p50; 3 and 2 DynamoDB requests) |",
      "| `nodes(100 ids)` (token check included) | 2 |"]),
    (["bench/login.py", "--repeat", "1"], ["| login, right password |", "| login, unknown email |"]),
    (["bench/coldstart.py", "--source", "--runs", "1"],
     ["DynamoDB requests before the first event: () (and 1 SSM GetParameters for the secrets)",
      "DynamoDB requests serving the first event: BatchGetItem"]),
    (["bench/pagination.py", "--sizes", "100", "--repeat", "1"], ['| 100 | status: "completed" | 1 | 1 | 1 |']),
    (["bench/mark_all.py", "--todos", "5", "--calls", "1"], ["markAllTodos on 5 todos, 1 calls"]),
    (["bench/auth_latency.py", "--queries", "5", "--logins", "1"], ['"viewer": ["BatchGetItem"]']),
    (["bench/attacks.py", "bomb20"], ["| bomb20 | 833 B | 200 |", "{'BatchGetItem': 1}", "the limit is 5000."]),
    (["bench/login_attack.py", "--guesses", "5", "--burst", "2"],
     ['"wrong_guesses": {"401 INVALID_CREDENTIALS": 1, "429 TOO_MANY_ATTEMPTS": 4}', '"statuses": {"200": 2}']),
]


@pytest.mark.slow
@pytest.mark.parametrize(("arguments", "expected"), BENCHMARKS, ids=[row[0][0] for row in BENCHMARKS])
def test_the_benchmark_runs(arguments: list[str], expected: list[str]) -> None:
    process = subprocess.run(
        [sys.executable, *arguments], cwd=ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )
    assert process.returncode == 0, process.stderr[-2000:]
    assert [line for line in expected if line not in process.stdout] == [], process.stdout[-2000:]
