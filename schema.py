"""The GraphQL schema: Relay's Node interface, the viewer, and node refetching."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import graphene
from graphene import relay
from graphql import get_introspection_query
from graphql_relay import from_global_id, to_global_id

import models
from errors import Unauthenticated


@dataclass
class Context:
    """What every resolver can see of the request: `info.context`."""

    viewer: models.User | None
    request_id: str


def require_viewer(info: graphene.ResolveInfo) -> models.User:
    """Return the signed-in user, or raise Unauthenticated."""
    viewer = info.context.viewer
    if viewer is None:
        raise Unauthenticated()
    return viewer


class User(graphene.ObjectType):
    """A person who can sign in. Only the viewer is visible."""

    class Meta:
        interfaces = (relay.Node,)

    email = graphene.String(required=True)
    first_name = graphene.String(required=True)
    last_name = graphene.String(required=True)
    created_at = graphene.DateTime(required=True)

    @classmethod
    def is_type_of(cls, root: Any, info: graphene.ResolveInfo) -> bool:
        return isinstance(root, (cls, models.User))

    @classmethod
    def get_node(cls, info: graphene.ResolveInfo, user_id: str) -> models.User | None:
        viewer = require_viewer(info)
        return viewer if user_id == viewer.id else None


def global_id_of(user: models.User) -> str:
    """Return the Relay global id of `user`."""
    return to_global_id(User._meta.name, user.id)


def load_node(info: graphene.ResolveInfo, global_id: str) -> Any:
    """Return the object behind `global_id` if the viewer may see it, else None."""
    try:
        type_name, key = from_global_id(global_id)
    except Exception:  # graphql-relay raises assorted errors on garbage
        return None
    graphene_type = info.schema.get_type(type_name)
    node_type = getattr(graphene_type, "graphene_type", None)
    if node_type is None or relay.Node not in getattr(node_type._meta, "interfaces", ()):
        return None
    return node_type.get_node(info, key)


class Query(graphene.ObjectType):
    viewer = graphene.Field(User, description="The signed-in user.")
    node = graphene.Field(relay.Node, id=graphene.ID(required=True), description="Fetch an object by its global id.")
    nodes = graphene.NonNull(
        graphene.List(relay.Node),
        ids=graphene.NonNull(graphene.List(graphene.NonNull(graphene.ID))),
        description="Fetch objects by their global ids, in order; null where not visible.",
    )

    @staticmethod
    def resolve_viewer(_root: None, info: graphene.ResolveInfo) -> models.User:
        return require_viewer(info)

    @staticmethod
    def resolve_node(_root: None, info: graphene.ResolveInfo, id: str) -> Any:  # noqa: A002 (Relay's name)
        return load_node(info, id)

    @staticmethod
    def resolve_nodes(_root: None, info: graphene.ResolveInfo, ids: list[str]) -> list[Any]:
        return [load_node(info, global_id) for global_id in ids]


schema = graphene.Schema(query=Query, types=[User])


def sdl() -> str:
    """Return the schema in SDL, what relay-compiler reads."""
    return str(schema) + "\n"


@cache
def introspection() -> dict[str, Any]:
    """Return the introspection result as `{"data": ...}`, what Relay's schema.json tooling reads."""
    return {"data": schema.execute(get_introspection_query(descriptions=True)).data}
