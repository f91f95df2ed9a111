"""The embedded store's data on disk: acknowledged writes survive kill -9, restored as one consistent moment."""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from test_run import RunPy, request_json

from local_data import DurableData
from local_dynamodb import LocalDynamoDB

pytestmark = pytest.mark.slow

ADD = """mutation($text: String!, $userId: ID!) {
  addTodo(input: {text: $text, userId: $userId}) { todoEdge { node { id } } } }"""
MARK_ALL = """mutation($complete: Boolean!, $userId: ID!) {
  markAllTodos(input: {complete: $complete, userId: $userId}) { user { completedCount } } }"""
REMOVE_COMPLETED = """mutation($userId: ID!) {
  removeCompletedTodos(input: {userId: $userId}) { deletedTodoIds } }"""
LIST = """query($after: String) { viewer { totalCount completedCount
  todos(first: 100, after: $after) { edges { node { id complete } } pageInfo { hasNextPage endCursor } } } }"""


def write_until_stopped(
    run: RunPy, token: str, user_id: str, worker: int, stop: threading.Event, acked: list[str], removed: list[str]
) -> None:
    """Add todos (and now and then mark all complete or remove the completed) until `stop`; note what was acked."""
    url = f"{run.base_url}/graphql"
    count = 0
    while not stop.is_set():
        count += 1
        try:
            if count % 7 == 0:
                variables = {"complete": True, "userId": user_id}
                status, body = request_json(url, {"query": MARK_ALL, "variables": variables}, token)
            elif count % 11 == 0:
                status, body = request_json(url, {"query": REMOVE_COMPLETED, "variables": {"userId": user_id}}, token)
                if status == 200 and not body.get("errors"):
                    removed += body["data"]["removeCompletedTodos"]["deletedTodoIds"]
            else:
                variables = {"text": f"todo {worker}.{count}", "userId": user_id}
                status, body = request_json(url, {"query": ADD, "variables": variables}, token)
                if status == 200 and not body.get("errors"):
                    acked.append(body["data"]["addTodo"]["todoEdge"]["node"]["id"])
        except (OSError, http.client.HTTPException):  # e.g. IncompleteRead: the server died while answering
            break  # the server is gone: whatever was not answered was not acknowledged


def read_all(run: RunPy, token: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return the viewer's counters and every todo, page by page."""
    todos: list[dict[str, Any]] = []
    after = None
    while True:
        status, body = request_json(f"{run.base_url}/graphql", {"query": LIST, "variables": {"after": after}}, token)
        assert status == 200 and "errors" not in body, body
        viewer = body["data"]["viewer"]
        todos += [edge["node"] for edge in viewer["todos"]["edges"]]
        if not viewer["todos"]["pageInfo"]["hasNextPage"]:
            return {"totalCount": viewer["totalCount"], "completedCount": viewer["completedCount"]}, todos
        after = viewer["todos"]["pageInfo"]["endCursor"]


@pytest.mark.parametrize(
    ("signal_number", "group"),
    [
        pytest.param(signal.SIGKILL, True, id="kill -9"),
        pytest.param(signal.SIGINT, True, id="Ctrl-C"),
    ],
)
def test_acknowledged_writes_survive_a_crash_under_load_with_exact_counters(
    tmp_path: Path, signal_number: int, group: bool
) -> None:
    """GIVEN 3 clients writing WHEN run.py is killed mid-run THEN every acked todo is back and counters match."""
    data_dir = tmp_path / "data"
    first = RunPy(data_dir, snapshot_interval=0.3)  # snapshots happen during the writes too
    try:
        first.start()
        signup = first.signup()
        token, user_id = signup["access_token"], signup["user"]["id"]
        stop = threading.Event()
        acked_lists: list[list[str]] = [[] for _ in range(3)]
        removed_lists: list[list[str]] = [[] for _ in range(3)]
        threads = [
            threading.Thread(
                target=write_until_stopped,
                args=(first, token, user_id, worker, stop, acked_lists[worker], removed_lists[worker]),
            )
            for worker in range(3)
        ]
        for thread in threads:
            thread.start()
        # At least 1.5 s (snapshots every 0.3 s happen meanwhile), and 20 acknowledged todos however slow the machine.
        started = time.monotonic()
        while time.monotonic() - started < 1.5 or (
            sum(map(len, acked_lists)) < 20 and time.monotonic() - started < 60
        ):
            time.sleep(0.1)
        first.stop(signal_number, group=group)  # while the clients are still writing
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        first.kill()
    acked = {todo_id for worker in acked_lists for todo_id in worker}
    removed = {todo_id for worker in removed_lists for todo_id in worker}
    assert len(acked) > 10, "the clients wrote too little to test anything"

    second = RunPy(data_dir)
    try:
        second.start()
        counters, todos = read_all(second, second.login()["access_token"])
    finally:
        second.kill()
    ids = {todo["id"] for todo in todos}
    assert acked - removed <= ids  # no acknowledged todo is lost...
    assert counters == {  # ...and the counters were restored from the same moment as the todos
        "totalCount": len(todos),
        "completedCount": sum(1 for todo in todos if todo["complete"]),
    }


def test_a_journal_already_in_the_snapshot_is_not_replayed_twice(
    tmp_path: Path, dynamodb: LocalDynamoDB, settings: dict[str, Any]
) -> None:
    """GIVEN a crash after the snapshot replaced but before the journal was cleared THEN nothing is applied twice."""
    import config
    import models

    models.configure(config.load_settings({**settings, "TABLE_PREFIX": "journal_"}, dotenv=False))
    data = DurableData(dynamodb, tmp_path, interval=3600)
    try:
        assert data.restore() == 0
        user = models.User(email="ada@example.com")
        user.password = "correct horse battery"
        user.save()
        models.Todo.add(user.id, "one")
        journal = data.journal_path.read_text()
        assert [json.loads(line)["seq"] for line in journal.splitlines()] == [1, 2]
        assert data.save() == 3  # the user, its email claim, the todo
        assert data.journal_path.read_text() == ""
        data.journal_path.write_text(journal)  # as if the process died before clearing it

        _stop_journal(dynamodb)
        for model in models.MODELS:  # the store comes back empty, as after a restart
            model.delete_table()
        assert data.restore() == 3
        assert models.User.get(user.id, consistent_read=True).todo_count == 1
        assert [todo.text for todo in models.Todo.query(user.id)] == ["one"]
    finally:
        _stop_journal(dynamodb)
        for model in models.MODELS:
            if model.exists():
                model.delete_table()
        models.configure(config.load_settings(settings, dotenv=False))


def _stop_journal(store: LocalDynamoDB) -> None:
    if store.journal is not None:
        store.journal.close()
        store.journal = None
