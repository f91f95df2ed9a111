"""How operations execute: past GRAPHQL_TIMEOUT no resolver starts (one TIMEOUT), and the answers are graphql-core's."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest
from support import Auth

import execution
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
    monkeypatch.setattr(execution, "clock", lambda: next(ticks))
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
        assert execution.AppExecutionContext.is_awaitable(value) is is_awaitable(value)
    finally:
        if asyncio.iscoroutine(value):
            value.close()


# AppExecutionContext against graphql-core's own ExecutionContext: the same answers, errors included.

_SDL = """
    enum Color { RED GREEN }
    scalar Picky
    interface Named { name: String! }
    type Pet implements Named { name: String! legs: Int }
    type Robot implements Named { name: String! model: String }
    union Thing = Pet | Robot
    type Query {
      text: String  count: Int  ratio: Float  flag: Boolean  id: ID
      required: String!  requiredCount: Int!  nothing: String!  maybe: String
      echo(word: String = "hi", times: Int): String!
      color: Color  colorName: Color  picky: Picky!  pickyRaises: Picky
      boolAsText: String  floatAsInt: Int  hugeInt: Int  textSubclass: String!
      words: [String!]!  holes: [String!]  notAList: [String]
      broken: String  brokenRequired: String!
      slow: String!  slowBroken: String  slowNull: String!
      pet: Named  things: [Thing!]!  nested: Query!
    }
"""


class _Text(str):
    pass


class _Root:
    text, count, ratio, flag, id = "a", 3, 0.5, True, "x1"
    required, requiredCount, nothing, maybe = "b", 0, None, None
    color, colorName = "RED", "BLUE"
    picky = "odd"
    pickyRaises = "boom"
    boolAsText, floatAsInt, hugeInt = False, 1.5, 2**40
    textSubclass = _Text("sub")
    words, holes, notAList = ["x", "y"], ["x", None], "xyz"

    def echo(self, info: Any, word: str, times: int | None = None) -> str:
        return word * (times or 1)

    def broken(self, info: Any) -> str:
        raise ValueError("broken resolver")

    def brokenRequired(self, info: Any) -> str:
        raise ValueError("broken required resolver")

    async def slow(self, info: Any) -> str:
        return "late"

    async def slowBroken(self, info: Any) -> str:
        raise ValueError("late failure")

    async def slowNull(self, info: Any) -> None:
        return None

    def pet(self, info: Any) -> dict[str, Any]:
        return {"__typename": "Pet", "name": "Rex", "legs": 4}

    def things(self, info: Any) -> list[dict[str, Any]]:
        return [{"__typename": "Pet", "name": "Rex", "legs": 4}, {"__typename": "Robot", "name": "R2", "model": "D2"}]

    def nested(self, info: Any) -> _Root:
        return self


def _schema() -> Any:
    from graphql import build_schema

    schema = build_schema(_SDL)

    def picky(value: Any) -> Any:
        if value == "boom":
            raise ValueError("Picky cannot serialize boom")
        return None if value == "odd" else value

    schema.type_map["Picky"].serialize = picky
    for name in ("Named", "Thing"):
        schema.type_map[name].resolve_type = lambda value, info, abstract: value["__typename"]
    return schema


_OPERATIONS = {
    "leaves": "{ text count ratio flag id required requiredCount __typename }",
    "null leaves": "{ maybe nothing }",
    "arguments": '{ a: echo b: echo(word: "yo") c: echo(word: "ab", times: 3) }',
    "variables": 'query($w: String, $t: Int) { echo(word: $w, times: $t) }',
    "enums": "{ color colorName }",
    "a scalar that serializes to null": "{ picky }",
    "a scalar that raises": "{ pickyRaises }",
    "values of another type": "{ boolAsText floatAsInt hugeInt textSubclass }",
    "lists": "{ words holes notAList }",
    "resolvers that raise": "{ text broken }",
    "a required field that raises": "{ text brokenRequired }",
    "abstract types": "{ pet { __typename name ... on Pet { legs } } "
                      "things { ... on Robot { model } ... on Named { name } } }",
    "nesting": "{ nested { nested { text count } words } }",
    "introspection": '{ __schema { queryType { name } } __type(name: "Color") { enumValues { name } } }',
    "async resolvers": "{ slow text }",
    "async errors": "{ slowBroken slowNull text }",
    "async in nested objects": "{ nested { slow nested { slowBroken text } } }",
}


@pytest.mark.parametrize("operation", list(_OPERATIONS.values()), ids=list(_OPERATIONS))
def test_the_answer_is_graphql_cores(operation: str) -> None:
    from graphql import ExecutionContext, execute, parse

    schema, document = _schema(), parse(operation)

    def run(context_class: type[ExecutionContext]) -> Any:
        result = execute(schema, document, _Root(), variable_values={"w": "z", "t": 2},
                         execution_context_class=context_class)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return result.formatted

    assert run(execution.AppExecutionContext) == run(ExecutionContext)


def test_a_middleware_runs_on_every_field_as_in_graphql_core() -> None:
    from graphql import ExecutionContext, execute, parse

    def shout(next_: Any, root: Any, info: Any, **args: Any) -> Any:
        value = next_(root, info, **args)
        return value.upper() if isinstance(value, str) else value

    def run(context_class: type[ExecutionContext]) -> Any:
        document = parse('{ text echo(word: "yo") required nested { text } }')
        result = execute(_schema(), document, _Root(), middleware=[shout], execution_context_class=context_class)
        return result.formatted

    assert run(execution.AppExecutionContext) == run(ExecutionContext) == {
        "data": {"text": "A", "echo": "YO", "required": "B", "nested": {"text": "A"}}
    }
