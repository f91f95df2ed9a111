"""Batching: node loads become BatchGetItem calls, one round trip per level of the query."""

from __future__ import annotations

import asyncio
from typing import Any

import graphql
import pytest
from pynamo_testapp import (
    Context,
    Todo,
    TodoModel,
    User,
    UserModel,
    add_todos,
    add_user,
    execute,
    schema,
    sortable_id,
)
from pynamodb.exceptions import GetError

import graphene_pynamo.loaders as loaders
from graphene_pynamo import Loaders, ModelLoader, ReadStats, to_global_id

NODES = """
query ($ids: [ID!]!) {
  nodes(ids: $ids) { id ... on Todo { text } ... on User { name } }
}
"""


def todo_node(n: int, user: str = "ada") -> dict[str, Any]:
    """Return what NODES shows of todo number `n`."""
    return {"id": to_global_id(Todo, user, sortable_id(n)), "text": f"todo {n}"}


def error_codes(result: Any) -> list[tuple[str, Any]]:
    """Return the message and code of each error of a result."""
    return [(error.message, error.extensions.get("code")) for error in result.errors or ()]


def test_nodes_with_100_ids_is_one_batch_get(tables):
    """Load 100 todos, of two users, with exactly one BatchGetItem."""
    expected = [todo_node(n) for n in range(60)] + [todo_node(n, "grace") for n in range(60, 100)]
    add_todos("ada", 60)
    add_todos("grace", 40, start=60)
    tables.operations.clear()
    context = Context()

    result = execute(NODES, {"ids": [node["id"] for node in expected]}, context)

    assert not result.errors
    assert result.data == {"nodes": expected}
    assert tables.operations == ["BatchGetItem"]
    assert context.loaders.stats == ReadStats(requests=1, items_read=100, items_returned=100)


def test_nodes_restores_duplicates_and_order_and_answers_null_for_missing(tables):
    """Answer every id in order, duplicates included, null for missing items, in one call."""
    add_user("ada")
    add_todos("ada", 3)
    tables.operations.clear()
    ada = {"id": to_global_id(User, "ada"), "name": "Ada"}
    missing = to_global_id(Todo, "ada", "missing")
    ids = [todo_node(2)["id"], ada["id"], todo_node(0)["id"], missing, todo_node(2)["id"], ada["id"]]

    result = execute(NODES, {"ids": ids})

    assert not result.errors
    assert result.data == {"nodes": [todo_node(2), ada, todo_node(0), None, todo_node(2), ada]}
    assert sorted(tables.operations) == ["BatchGetItem", "BatchGetItem"]  # one per table


def test_nodes_refuses_more_than_100_ids(tables):
    """Reject a nodes query for more than 100 ids with BAD_USER_INPUT, reading nothing."""
    result = execute(NODES, {"ids": [to_global_id(User, f"u{n}") for n in range(101)]})

    assert result.data is None
    assert error_codes(result) == [("`ids` may name at most 100 objects.", "BAD_USER_INPUT")]
    assert tables.operations == []


NESTED = """
query ($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on Todo { text owner { name buddy { name buddy { name } } } }
  }
}
"""


def test_nested_lists_cost_one_round_trip_per_level(tables):
    """Load todos, their owners, the owners' buddies and theirs: four levels, four BatchGetItem calls."""
    for n in range(5):
        add_user(f"owner{n}", buddy_id=f"buddy{n}")
        add_user(f"buddy{n}", buddy_id=f"friend{n}")
        add_user(f"friend{n}")
        add_todos(f"owner{n}", 4, start=4 * n)
    tables.operations.clear()
    ids = [todo_node(t, f"owner{t // 4}")["id"] for t in range(20)]

    result = execute(NESTED, {"ids": ids})

    assert not result.errors
    assert result.data == {
        "nodes": [
            {
                "text": f"todo {t}",
                "owner": {
                    "name": f"Owner{t // 4}",
                    "buddy": {"name": f"Buddy{t // 4}", "buddy": {"name": f"Friend{t // 4}"}},
                },
            }
            for t in range(20)
        ]
    }
    assert tables.operations == ["BatchGetItem"] * 4


def test_items_loaded_once_per_request(tables):
    """Serve repeated loads of an item from the request's cache, across levels."""
    add_user("ada")
    add_todos("ada", 3)
    tables.operations.clear()

    result = execute('{ user(id: "ada") { name todos { edges { node { owner { name } } } } } }')

    assert not result.errors
    assert result.data == {
        "user": {"name": "Ada", "todos": {"edges": [{"node": {"owner": {"name": "Ada"}}}] * 3}}
    }
    assert tables.operations == ["BatchGetItem", "Query"]


def test_queries_without_loads_stay_synchronous(tables):
    """Execute a query that loads no node without an event loop."""
    add_user("ada")

    result = graphql.execute(
        schema.graphql_schema,
        graphql.parse("{ users { edges { node { name } } } }"),
        context_value=Context(),
    )

    assert isinstance(result, graphql.ExecutionResult)
    assert result.data == {"users": {"edges": [{"node": {"name": "Ada"}}]}}


def test_load_many_sends_at_most_100_keys_per_call(tables):
    """Split 250 keys into BatchGetItem calls of 100, 100 and 50, and keep their order."""
    todos = add_todos("ada", 250)
    keys = [(todo.user_id, todo.id) for todo in reversed(todos)]
    tables.operations.clear()
    loader = ModelLoader(TodoModel)

    items = asyncio.run(loader.load_many(keys))

    assert [item.text for item in items] == [f"todo {n}" for n in reversed(range(250))]
    assert tables.operations == ["BatchGetItem"] * 3
    assert loader.stats == ReadStats(requests=3, items_read=250, items_returned=250)


@pytest.fixture
def no_backoff(monkeypatch: Any) -> None:
    monkeypatch.setattr(loaders, "BACKOFF_BASE_SECONDS", 0)


def test_unprocessed_keys_are_asked_for_again(tables, monkeypatch, no_backoff):
    """Ask again for the keys DynamoDB leaves unprocessed, until it has answered for all."""
    todos = add_todos("ada", 6)
    real_page = TodoModel._batch_get_page
    calls = []

    def throttled_page(keys: list[Any], consistent_read: Any, attributes_to_get: Any) -> Any:
        calls.append(len(keys))
        if len(calls) == 1:  # DynamoDB answers for the first two keys only
            items, _ = real_page(keys[:2], consistent_read, attributes_to_get)
            return items, keys[2:]
        return real_page(keys, consistent_read, attributes_to_get)

    monkeypatch.setattr(TodoModel, "_batch_get_page", throttled_page)

    items = asyncio.run(ModelLoader(TodoModel).load_many([(todo.user_id, todo.id) for todo in todos]))

    assert [item.text for item in items] == [todo.text for todo in todos]
    assert calls == [6, 4]


def test_loading_gives_up_when_keys_stay_unprocessed(tables, monkeypatch, no_backoff):
    """Raise GetError after MAX_BATCH_ATTEMPTS calls that leave keys unprocessed."""
    calls = []

    def stuck_page(keys: list[Any], consistent_read: Any, attributes_to_get: Any) -> Any:
        calls.append(len(keys))
        return [], keys

    monkeypatch.setattr(TodoModel, "_batch_get_page", stuck_page)

    with pytest.raises(GetError, match="DynamoDB left 1 keys unprocessed 6 times"):
        asyncio.run(ModelLoader(TodoModel).load(("ada", "x")))
    assert calls == [1] * loaders.MAX_BATCH_ATTEMPTS


def test_primed_items_are_not_read_again(tables):
    """Return a primed item without reading it, and read a cleared one again."""
    ada = add_user("ada")
    tables.operations.clear()
    loader = Loaders().for_model(UserModel)
    loader.prime(ada)

    async def load_twice() -> tuple[Any, Any]:
        primed = await loader.load("ada")
        loader.clear("ada")
        return primed, await loader.load("ada")

    primed, reread = asyncio.run(load_twice())

    assert primed is ada
    assert reread.name == "Ada" and reread is not ada
    assert tables.operations == ["BatchGetItem"]


@pytest.mark.parametrize(
    ("model", "key"),
    [(UserModel, ""), (UserModel, 42), (UserModel, ("ada", "x")), (TodoModel, "ada"), (TodoModel, ("ada",))],
)
def test_malformed_keys_fail_the_load_alone(tables, model, key):
    """Raise ValueError for a key that does not fit the model, before reading anything."""
    with pytest.raises(ValueError):
        asyncio.run(ModelLoader(model).load(key))
    assert tables.operations == []


def test_node_loads_need_loaders_on_the_context(tables):
    """Fail with a message saying what to put on the context when it has no loaders."""
    result = execute(NODES, {"ids": [to_global_id(User, "ada")]}, context=object())

    assert result.data == {"nodes": [None]}
    assert [error.message for error in result.errors] == [
        "graphene_pynamo needs a Loaders per request on the GraphQL context as `loaders`"
    ]
