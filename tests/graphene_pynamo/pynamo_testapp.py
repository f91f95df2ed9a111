"""Test-only PynamoDB models and a small Relay schema built with graphene_pynamo."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass, field
from typing import Any

import graphene
import graphql
from graphene import relay
from pynamodb.attributes import BooleanAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, LocalSecondaryIndex
from pynamodb.models import Model

from graphene_pynamo import (
    Loaders,
    NodeField,
    NodesField,
    PynamoConnectionField,
    PynamoObjectType,
    PynamoQuery,
    PynamoScan,
    Registry,
    RelatedField,
)

TEST_SECRET = "graphene-pynamo-test-secret-0123456789abcdef"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def sortable_id(n: int) -> str:
    """Return a ULID-like id (48-bit time, 80 bits of randomness) that sorts by `n`."""
    value = ((1_700_000_000_000 + n) << 80) | (n * 7919 % (1 << 80))
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


class UserModel(Model):
    class Meta:
        table_name = "gp_users"

    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    buddy_id = UnicodeAttribute(null=True)


class CompletedIndex(LocalSecondaryIndex["TodoModel"]):
    """A sparse index: only completed todos have `completed_id`."""

    class Meta:
        index_name = "completed"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    completed_id = UnicodeAttribute(range_key=True)


class TodoModel(Model):
    class Meta:
        table_name = "gp_todos"

    user_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    text = UnicodeAttribute()
    complete = BooleanAttribute(default=False)
    completed_id = UnicodeAttribute(null=True)
    completed = CompletedIndex()


MODELS = (UserModel, TodoModel)

registry = Registry()


class Todo(PynamoObjectType):
    class Meta:
        model = TodoModel
        interfaces = (relay.Node,)
        registry = registry
        exclude_fields = ("completed_id",)

    owner = RelatedField(UserModel, "user_id", registry=registry)


class User(PynamoObjectType):
    class Meta:
        model = UserModel
        interfaces = (relay.Node,)
        registry = registry
        exclude_fields = ("buddy_id",)

    user_id = graphene.String(required=True)
    buddy = RelatedField(UserModel, "buddy_id", registry=registry)
    todos = PynamoConnectionField(Todo, status=graphene.String(default_value="any"))

    @staticmethod
    def resolve_user_id(user: UserModel, info: Any) -> str:
        return user.id

    @staticmethod
    def resolve_todos(user: UserModel, info: Any, status: str, **paging: Any) -> PynamoQuery:
        if status == "completed":  # a sparse index: reads only completed todos
            return PynamoQuery(TodoModel, user.id, index=TodoModel.completed)
        if status == "active":  # a filter: reads every todo, returns the active ones
            return PynamoQuery(TodoModel, user.id, filter_condition=TodoModel.complete == False)  # noqa: E712
        return PynamoQuery(TodoModel, user.id)


class Query(graphene.ObjectType):
    node = NodeField()
    nodes = NodesField()
    user = graphene.Field(User, id=graphene.String(required=True))
    users = PynamoConnectionField(User)

    @staticmethod
    def resolve_user(root: Any, info: Any, id: str) -> Any:  # noqa: A002
        return info.context.loaders.for_model(UserModel).load(id)

    @staticmethod
    def resolve_users(root: Any, info: Any, **paging: Any) -> PynamoScan:
        return PynamoScan(UserModel)


schema = graphene.Schema(query=Query)


@dataclass
class Context:
    loaders: Loaders = field(default_factory=Loaders)


def execute(query: str, variables: dict[str, Any] | None = None, context: Any = None) -> Any:
    """Run `query` the way the app does: synchronously, then on an event loop if it must wait."""
    document = graphql.parse(query)
    assert not graphql.validate(schema.graphql_schema, document)
    result = graphql.execute(
        schema.graphql_schema,
        document,
        context_value=Context() if context is None else context,
        variable_values=variables,
    )
    if inspect.isawaitable(result):
        result = asyncio.run(result)
    return result


def add_user(user_id: str, name: str | None = None, buddy_id: str | None = None) -> UserModel:
    """Save and return a user."""
    user = UserModel(user_id, name=name or user_id.title(), buddy_id=buddy_id)
    user.save()
    return user


def add_todos(user_id: str, count: int, completed: set[int] = frozenset(), start: int = 0) -> list[TodoModel]:
    """Save `count` todos of `user_id`, oldest first; those numbered in `completed` are complete."""
    todos = []
    with TodoModel.batch_write() as batch:
        for n in range(start, start + count):
            todo_id = sortable_id(n)
            done = n in completed
            completed_id = todo_id if done else None
            todo = TodoModel(user_id, todo_id, text=f"todo {n}", complete=done, completed_id=completed_id)
            batch.save(todo)
            todos.append(todo)
    return todos
