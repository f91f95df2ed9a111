"""The GraphQL schema: Relay nodes, the viewer, and the Todo domain of Relay's TodoMVC example."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import graphene
from graphene import relay
from graphql import get_introspection_query

import graphene_pynamo as gp
import models
from errors import NotFound, Unauthenticated, ValidationFailed

TODO_STATUSES = ("any", "active", "completed")


@dataclass
class Context:
    """What every resolver can see of the request: `info.context`."""

    viewer: models.User | None
    request_id: str
    loaders: gp.Loaders = field(default_factory=gp.Loaders)


def require_viewer(info: graphene.ResolveInfo) -> models.User:
    """Return the signed-in user, or raise Unauthenticated."""
    viewer = info.context.viewer
    if viewer is None:
        raise Unauthenticated()
    return viewer


class Todo(gp.PynamoObjectType):
    """Something to do, on its owner's list."""

    class Meta:
        model = models.Todo
        interfaces = (relay.Node,)
        only_fields = ("text", "complete")

    @classmethod
    async def get_node(cls, info: graphene.ResolveInfo, id: str) -> models.Todo | None:  # noqa: A002
        viewer = require_viewer(info)
        todo = await super().get_node(info, id)
        return todo if todo is not None and todo.user_id == viewer.id else None


def todo_list(owner_id: str, status: str) -> gp.PynamoQuery:
    """Return the owner's todos with `status`, oldest first."""
    if status == "any":
        return gp.PynamoQuery(models.Todo, owner_id, consistent_read=True)
    if status == "completed":  # the sparse index holds exactly the completed ones
        return gp.PynamoQuery(models.Todo, owner_id, index=models.Todo.completed_index, consistent_read=True)
    if status == "active":
        return gp.PynamoQuery(
            models.Todo, owner_id, filter_condition=models.Todo.complete == False, consistent_read=True  # noqa: E712
        )
    raise ValidationFailed(f"status must be one of {', '.join(TODO_STATUSES)}.", field="status")


class User(gp.PynamoObjectType):
    """A person who can sign in. Only the viewer is visible."""

    class Meta:
        model = models.User
        interfaces = (relay.Node,)
        only_fields = ("email", "first_name", "last_name", "created_at")
        use_connection = False  # no field lists users: the cold start need not build UserConnection

    user_id = graphene.String(required=True, description="The id to pass as userId in mutations.")
    total_count = graphene.Int(required=True)
    completed_count = graphene.Int(required=True)
    todos = gp.PynamoConnectionField(Todo, status=graphene.String(default_value="any"))

    @staticmethod
    def resolve_user_id(user: models.User, _info: graphene.ResolveInfo) -> str:
        return user.id

    @staticmethod
    def resolve_total_count(user: models.User, _info: graphene.ResolveInfo) -> int:
        return int(user.todo_count)

    @staticmethod
    def resolve_completed_count(user: models.User, _info: graphene.ResolveInfo) -> int:
        return int(user.completed_count)

    @staticmethod
    def resolve_todos(user: models.User, _info: graphene.ResolveInfo, status: str, **_paging: Any) -> gp.PynamoQuery:
        return todo_list(user.id, status)

    @classmethod
    def get_node(cls, info: graphene.ResolveInfo, id: str) -> models.User | None:  # noqa: A002
        viewer = require_viewer(info)
        return viewer if id == viewer.id else None


def global_id_of(user: models.User) -> str:
    """Return the Relay global id of `user`."""
    return gp.to_global_id(User, user.id)


def todo_global_id(todo: models.Todo) -> str:
    return gp.to_global_id(Todo, todo.user_id, todo.id)


class Query(graphene.ObjectType):
    viewer = graphene.Field(User, description="The signed-in user.")
    user = graphene.Field(User, id=graphene.String(), description='The viewer, by "me", userId or global id.')
    node = gp.NodeField()
    nodes = gp.NodesField()

    @staticmethod
    def resolve_viewer(_root: None, info: graphene.ResolveInfo) -> models.User:
        return require_viewer(info)

    @staticmethod
    def resolve_user(_root: None, info: graphene.ResolveInfo, id: str | None = None) -> models.User | None:  # noqa: A002
        viewer = require_viewer(info)
        return viewer if id in ("me", viewer.id, global_id_of(viewer)) else None


# Mutations: each takes `input` with an optional clientMutationId and returns it.


def own_user_id(info: graphene.ResolveInfo, user_id: str) -> str:
    """Return the viewer's id if `user_id` names the viewer, else raise NotFound."""
    viewer = require_viewer(info)
    if user_id not in (viewer.id, global_id_of(viewer)):
        raise NotFound("No such user.")
    return viewer.id


def own_todo_id(info: graphene.ResolveInfo, global_id: str) -> tuple[str, str]:
    """Return (owner id, todo id) if `global_id` names one of the viewer's todos' keys, else raise NotFound."""
    viewer = require_viewer(info)
    key = gp.from_global_id(global_id, Todo)
    if key is None or key[0] != viewer.id:
        raise NotFound("No such todo.")
    return key[0], key[1]


def fresh_user(user_id: str) -> models.User:
    """Read the user again, so payloads show the counters as the mutation left them."""
    return models.User.get(user_id, consistent_read=True)


class AddTodo(relay.ClientIDMutation):
    class Input:
        text = graphene.String(required=True)
        user_id = graphene.ID(required=True)

    todo_edge = graphene.Field(lambda: Todo._meta.connection.Edge, required=True)
    user = graphene.Field(User, required=True)

    @classmethod
    def mutate_and_get_payload(cls, _root: None, info: graphene.ResolveInfo, text: str, user_id: str, **_: Any) -> Any:
        owner_id = own_user_id(info, user_id)
        todo = models.Todo.add(owner_id, text)
        edge = Todo._meta.connection.Edge(node=todo, cursor=gp.cursor_for(todo_list(owner_id, "any"), todo))
        return cls(todo_edge=edge, user=fresh_user(owner_id))


class ChangeTodoStatus(relay.ClientIDMutation):
    class Input:
        complete = graphene.Boolean(required=True)
        id = graphene.ID(required=True)
        user_id = graphene.ID(required=True)

    todo = graphene.Field(Todo, required=True)
    user = graphene.Field(User, required=True)

    @classmethod
    def mutate_and_get_payload(
        cls, _root: None, info: graphene.ResolveInfo, complete: bool, id: str, user_id: str, **_: Any  # noqa: A002
    ) -> Any:
        owner_id = own_user_id(info, user_id)
        todo = models.Todo.set_complete(*own_todo_id(info, id), complete)
        return cls(todo=todo, user=fresh_user(owner_id))


class MarkAllTodos(relay.ClientIDMutation):
    class Input:
        complete = graphene.Boolean(required=True)
        user_id = graphene.ID(required=True)

    changed_todos = graphene.List(graphene.NonNull(Todo))
    user = graphene.Field(User, required=True)

    @classmethod
    def mutate_and_get_payload(
        cls, _root: None, info: graphene.ResolveInfo, complete: bool, user_id: str, **_: Any
    ) -> Any:
        owner_id = own_user_id(info, user_id)
        changed = models.Todo.mark_all(owner_id, complete)
        return cls(changed_todos=changed, user=fresh_user(owner_id))


class RemoveCompletedTodos(relay.ClientIDMutation):
    class Input:
        user_id = graphene.ID(required=True)

    deleted_todo_ids = graphene.List(graphene.NonNull(graphene.ID))
    user = graphene.Field(User, required=True)

    @classmethod
    def mutate_and_get_payload(cls, _root: None, info: graphene.ResolveInfo, user_id: str, **_: Any) -> Any:
        owner_id = own_user_id(info, user_id)
        removed = models.Todo.remove_completed(owner_id)
        return cls(deleted_todo_ids=[todo_global_id(todo) for todo in removed], user=fresh_user(owner_id))


class RemoveTodo(relay.ClientIDMutation):
    class Input:
        id = graphene.ID(required=True)
        user_id = graphene.ID(required=True)

    deleted_todo_id = graphene.ID(required=True)
    user = graphene.Field(User, required=True)

    @classmethod
    def mutate_and_get_payload(
        cls, _root: None, info: graphene.ResolveInfo, id: str, user_id: str, **_: Any  # noqa: A002
    ) -> Any:
        owner_id = own_user_id(info, user_id)
        removed = models.Todo.remove(*own_todo_id(info, id))
        return cls(deleted_todo_id=todo_global_id(removed), user=fresh_user(owner_id))


class RenameTodo(relay.ClientIDMutation):
    class Input:
        id = graphene.ID(required=True)
        text = graphene.String(required=True)

    todo = graphene.Field(Todo, required=True)

    @classmethod
    def mutate_and_get_payload(
        cls, _root: None, info: graphene.ResolveInfo, id: str, text: str, **_: Any  # noqa: A002
    ) -> Any:
        return cls(todo=models.Todo.rename(*own_todo_id(info, id), text))


class Mutation(graphene.ObjectType):
    add_todo = AddTodo.Field()
    change_todo_status = ChangeTodoStatus.Field()
    mark_all_todos = MarkAllTodos.Field()
    remove_completed_todos = RemoveCompletedTodos.Field()
    remove_todo = RemoveTodo.Field()
    rename_todo = RenameTodo.Field()


schema = graphene.Schema(query=Query, mutation=Mutation, types=[User, Todo])


def sdl() -> str:
    """Return the schema in SDL, what relay-compiler reads."""
    return str(schema) + "\n"


@cache
def introspection() -> dict[str, Any]:
    """Return the introspection result as `{"data": ...}`, what Relay's schema.json tooling reads."""
    return {"data": schema.execute(get_introspection_query(descriptions=True)).data}
