"""Global ids carrying hash and range keys, and refetching through node and nodes."""

from __future__ import annotations

from base64 import b64encode
from typing import Any

import graphql_relay
import pytest
from graphene import relay
from pynamo_testapp import Todo, User, add_todos, add_user, execute, sortable_id
from pynamodb.attributes import BinaryAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from graphene_pynamo import PynamoObjectType, Registry, from_global_id, to_global_id


def node_type(name: str, **attributes: Any) -> type[PynamoObjectType]:
    """Return a Node type named `name` for a model with these attributes."""
    model = type(name + "Model", (Model,), {"Meta": type("Meta", (), {"table_name": name}), **attributes})
    meta = {"model": model, "registry": Registry(), "interfaces": (relay.Node,)}
    return type(name, (PynamoObjectType,), {"Meta": meta})


Counter = node_type("Counter", number=NumberAttribute(hash_key=True))
Blob = node_type("Blob", digest=BinaryAttribute(hash_key=True, legacy_encoding=False))
Reading = node_type("Reading", sensor=UnicodeAttribute(hash_key=True), at=NumberAttribute(range_key=True))


def raw_id(text: str) -> str:
    """Return `text` in base64, as a global id carries it."""
    return b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("object_type", "key"),
    [
        (User, "ada"),
        (User, "émile:with a colon"),
        (Counter, 42),
        (Counter, 2.5),
        (Blob, b"\x00\xff"),
        (Todo, ("ada", sortable_id(7))),
        (Reading, ("sensor-1", 1700000000)),
        (Reading, ("sensor-1", 0.25)),
    ],
)
def test_keys_round_trip_through_global_ids(object_type, key):
    """Decode the key that a global id was made from."""
    global_id = to_global_id(object_type, *key) if isinstance(key, tuple) else to_global_id(object_type, key)

    assert from_global_id(global_id, object_type) == key


@pytest.mark.parametrize("key", ["ada", "a:b", 42])
def test_hash_key_ids_are_graphql_relay_ids(key):
    """Keep ids of hash-key-only types equal to graphql-relay's, so existing ids stay valid."""
    assert to_global_id("User", key) == graphql_relay.to_global_id("User", str(key))


def test_composite_ids_carry_both_keys_as_json():
    """Carry hash and range key as a JSON array after the type name."""
    assert graphql_relay.from_global_id(to_global_id(Todo, "ada", "01H")) == ("Todo", '["ada","01H"]')


@pytest.mark.parametrize(
    ("global_id", "object_type"),
    [
        (None, User),
        (42, User),
        ("", User),
        ("not base64!", User),
        (raw_id("User"), User),
        (raw_id(":ada"), User),
        (raw_id("User:"), User),
        (raw_id("Todo:ada"), User),
        ("//79", User),
        (raw_id("Todo:ada"), Todo),
        (raw_id('Todo:["ada"]'), Todo),
        (raw_id('Todo:["ada","x","y"]'), Todo),
        (raw_id('Todo:{"ada":"x"}'), Todo),
        (raw_id('Todo:["ada",1]'), Todo),
        (raw_id('Todo:["","x"]'), Todo),
        (raw_id('Todo:["ada",'), Todo),
        (raw_id("Counter:forty-two"), Counter),
        (raw_id("Counter:true"), Counter),
        (raw_id("Counter:NaN"), Counter),
        (raw_id("Counter:1e999"), Counter),
        (raw_id("Blob:not base64!"), Blob),
        (raw_id('Reading:["s","1"]'), Reading),
        (raw_id('Reading:["s",true]'), Reading),
        (raw_id("Todo:" + "[" * 5000 + "]" * 5000), Todo),  # json.loads raises RecursionError, not ValueError
        (raw_id("Counter:" + "[" * 5000 + "]" * 5000), Counter),
    ],
)
def test_malformed_ids_decode_to_none(global_id, object_type):
    """Decode ids that are not base64, name another type or carry no valid key to None."""
    assert from_global_id(global_id, object_type) is None


@pytest.fixture
def ada_and_todos(tables: Any) -> list[Any]:
    add_user("ada", "Ada")
    add_user("grace", "Grace")
    return add_todos("ada", 2) + add_todos("grace", 1, start=2)


NODE_QUERY = """
query ($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on User { name }
    ... on Todo { text owner { name } }
  }
}
"""


def test_node_refetches_composite_key_items(ada_and_todos):
    """Refetch a todo (hash and range key) and a user (hash key) by their global ids."""
    todo_id = to_global_id(Todo, "ada", sortable_id(1))
    user_id = to_global_id(User, "ada")

    todo = execute(NODE_QUERY, {"id": todo_id})
    user = execute(NODE_QUERY, {"id": user_id})

    assert not todo.errors and not user.errors
    assert todo.data == {
        "node": {"__typename": "Todo", "id": todo_id, "text": "todo 1", "owner": {"name": "Ada"}}
    }
    assert user.data == {"node": {"__typename": "User", "id": user_id, "name": "Ada"}}


@pytest.mark.parametrize(
    "global_id",
    [
        "garbage",
        "",
        raw_id("Todo:ada"),
        raw_id('Todo:["ada","missing"]'),
        raw_id("Nope:ada"),
        raw_id("PageInfo:x"),
        raw_id("Query:x"),
        raw_id("String:x"),
        to_global_id("User", "nobody"),
    ],
)
def test_node_answers_null_for_ids_it_cannot_resolve(ada_and_todos, global_id):
    """Answer null, without errors, for malformed ids, unknown types and missing items."""
    result = execute(NODE_QUERY, {"id": global_id})

    assert not result.errors
    assert result.data == {"node": None}


def test_nodes_returns_objects_in_order(ada_and_todos):
    """Return one object per id in the order asked, null for ids that name nothing."""
    ids = [
        to_global_id(Todo, "grace", sortable_id(2)),
        "garbage",
        to_global_id(User, "ada"),
        to_global_id(Todo, "ada", sortable_id(0)),
    ]
    result = execute("query ($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids})

    assert not result.errors
    assert result.data == {"nodes": [{"id": ids[0]}, None, {"id": ids[2]}, {"id": ids[3]}]}


def test_ids_in_responses_are_the_ids_to_global_id_makes(ada_and_todos):
    """Give items the global ids to_global_id makes from their keys."""
    result = execute('{ user(id: "ada") { id todos { edges { node { id } } } } }')

    assert not result.errors
    assert result.data == {
        "user": {
            "id": to_global_id(User, "ada"),
            "todos": {
                "edges": [
                    {"node": {"id": to_global_id(Todo, "ada", sortable_id(0))}},
                    {"node": {"id": to_global_id(Todo, "ada", sortable_id(1))}},
                ]
            },
        }
    }


class _Text(str):
    """A str subclass, as PynamoDB attributes may return (models.StoredEmail)."""


@pytest.mark.parametrize(
    "value",
    [[], ["a"], ["u" * 26, "01JD"], ['q"uote', "back\\slash", "tab\t", "nl\n", "\x00\x1f\x7f", "é中😀", "\ud800"],
     [_Text("subclass")], ["a", 1], [1.5, -2], [True, None], "text", 7],
    ids=["empty", "one", "two", "escapes", "str-subclass", "string-and-number", "numbers", "bool-none",
         "not-a-list", "number"],
)
def test_compact_json_is_json_dumps_compact(value: Any) -> None:
    import json

    from graphene_pynamo.ids import compact_json

    assert compact_json(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class _PrefixedNode(relay.Node):
    """A Node interface whose global ids are its own."""

    class Meta:
        name = "PrefixedNode"

    @classmethod
    def to_global_id(cls, type_: str, id: str) -> str:  # noqa: A002 - Graphene's name
        return f"custom:{type_}:{id}"


def _item_id(interface: Any) -> str:
    """Return the id an item type with `interface` gives a stored todo, through a schema of its own."""
    import graphene
    from pynamo_testapp import TodoModel

    class ItemWithId(PynamoObjectType):
        class Meta:
            model = TodoModel
            interfaces = (interface,)
            registry = Registry()
            only_fields = ("text",)

    class Query(graphene.ObjectType):
        item = graphene.Field(ItemWithId)

        @staticmethod
        def resolve_item(_root: Any, _info: Any) -> Any:
            return TodoModel("ada", sortable_id(3), text="t")

    result = graphene.Schema(query=Query, types=[ItemWithId]).execute("{ item { id } }")
    assert result.errors is None, result.errors
    return result.data["item"]["id"]


@pytest.mark.parametrize(
    ("interface", "expected"),
    [
        (relay.Node, graphql_relay.to_global_id("ItemWithId", f'["ada","{sortable_id(3)}"]')),
        (_PrefixedNode, f'custom:ItemWithId:["ada","{sortable_id(3)}"]'),
    ],
    ids=["relay-node", "node-with-its-own-ids"],
)
def test_an_item_type_id_is_its_nodes_global_id(interface: Any, expected: str) -> None:
    """Made at once for relay.Node's own ids, by the interface where it makes its own."""
    assert _item_id(interface) == expected
