"""The execution deadline: past GRAPHQL_TIMEOUT no resolver starts, and the answer says TIMEOUT once."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest
from support import Auth

import deadline
import models

TIMEOUT_ERROR = {
    "message": "The operation ran out of time: fields after the deadline were not resolved.",
    "extensions": {"code": "TIMEOUT"},
}


@pytest.fixture
def make_client(app: Any, settings: dict[str, Any]) -> Any:
    from app import create_app

    return lambda **overrides: create_app({**settings, **overrides}).test_client()


def test_fields_after_the_deadline_are_null_with_one_timeout_error(make_client: Any, monkeypatch: Any) -> None:
    """GIVEN a clock that ticks once per field and a deadline 2.5 ticks after the start,
    WHEN four root fields run, THEN the first two resolve and the others are null with one TIMEOUT."""
    client = make_client(GRAPHQL_TIMEOUT=2.5)
    token = Auth(client).token()
    ticks = itertools.count(1)
    monkeypatch.setattr(deadline, "clock", lambda: next(ticks))
    response = Auth(client).graphql("{ a: viewer { id } b: viewer { id } c: viewer { id } d: viewer { id } }", token)
    body = response.get_json()
    user_id = body["data"]["a"]["id"]
    assert (response.status_code, body) == (
        200,
        {
            "data": {"a": {"id": user_id}, "b": None, "c": None, "d": None},
            "errors": [{**TIMEOUT_ERROR, "locations": [{"line": 1, "column": 20}], "path": ["b"]}],
        },
    )


def test_the_deadline_stops_a_slow_mutation_before_the_next_one(
    make_client: Any, monkeypatch: Any, dynamodb: Any
) -> None:
    """Mutations run one after another: the second never starts once the first ran past the deadline.

    Not even the first one's payload fields start: the client learns from the TIMEOUT error
    that `a` ran and must refetch."""
    client = make_client(GRAPHQL_TIMEOUT=0.2)
    auth = Auth(client)
    token = auth.token()
    user_id = auth.graphql("{ viewer { userId } }", token).get_json()["data"]["viewer"]["userId"]
    real_add = models.Todo.add

    def slow_add(*args: Any) -> Any:
        time.sleep(0.5)
        return real_add(*args)

    monkeypatch.setattr(models.Todo, "add", slow_add)
    add = 'addTodo(input: {text: "x", userId: $u, clientMutationId: "%s"}) { clientMutationId }'
    started = time.perf_counter()
    mutation = f"mutation($u: ID!) {{ a: {add % 'a'} b: {add % 'b'} c: {add % 'c'} }}"
    response = auth.graphql(mutation, token, {"u": user_id})
    elapsed = time.perf_counter() - started
    assert response.get_json() == {
        "data": {"a": {"clientMutationId": None}, "b": None, "c": None},
        "errors": [{**TIMEOUT_ERROR, "locations": [{"line": 1, "column": 89}], "path": ["a", "clientMutationId"]}],
    }
    assert elapsed < 1.4  # one slow mutation (0.5 s), not three (1.5 s)
    counts = auth.graphql("{ viewer { totalCount } }", token).get_json()
    assert counts == {"data": {"viewer": {"totalCount": 1}}}


def test_operations_within_the_deadline_are_untouched(client: Any, auth: Auth) -> None:
    token = auth.token()
    assert auth.graphql("{ viewer { totalCount todos { edges { cursor } } } }", token).get_json() == {
        "data": {"viewer": {"totalCount": 0, "todos": {"edges": []}}}
    }


class _AwaitableText(str):
    def __await__(self) -> Any:
        yield


async def _coroutine() -> None:
    return None


def _future() -> asyncio.Future[None]:
    loop = asyncio.new_event_loop()
    future = loop.create_future()
    loop.close()
    return future


@pytest.mark.parametrize(
    "make",
    [lambda: "text", lambda: 1, lambda: 1.5, lambda: True, lambda: None, lambda: {}, lambda: [], lambda: (),
     lambda: object(), _coroutine, _future,
     lambda: _AwaitableText("awaitable text")],
    ids=["str", "int", "float", "bool", "none", "dict", "list", "tuple", "object", "coroutine", "future",
         "awaitable-str-subclass"],
)
def test_the_awaitable_check_agrees_with_graphql_cores(make: Any) -> None:
    from graphql.pyutils import is_awaitable

    value = make()
    try:
        assert deadline.DeadlineExecutionContext.is_awaitable(value) is is_awaitable(value)
    finally:
        if asyncio.iscoroutine(value):
            value.close()
