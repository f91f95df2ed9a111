"""Graphene 3 object types, Relay connections and batching loaders for PynamoDB models.

    import graphene
    from graphene import relay
    import graphene_pynamo as gp

    gp.configure(cursor_secret=settings["CURSOR_SECRET"])   # once, at startup

    class Todo(gp.PynamoObjectType):
        class Meta:
            model = TodoModel
            interfaces = (relay.Node,)

    class User(gp.PynamoObjectType):
        class Meta:
            model = UserModel
            interfaces = (relay.Node,)
            exclude_fields = ("password",)

        todos = gp.PynamoConnectionField(Todo)

        def resolve_todos(user, info, **paging):
            return gp.PynamoQuery(TodoModel, user.id)

    class Query(graphene.ObjectType):
        node = gp.NodeField()
        nodes = gp.NodesField()

    # per request: context.loaders = gp.Loaders(); execute, awaiting the result if needed

Modules: `types` (PynamoObjectType), `converter` (attribute -> field), `ids` (keys and
global ids), `sources` (PynamoQuery, PynamoScan), `connection` (PynamoConnectionField and
paging), `cursors` (signed cursors), `loaders` (per-request batching), `fields` (node,
nodes, RelatedField), `registry`, `settings` (configure). Nothing here talks to DynamoDB
at import time or imports anything from the app.
"""

from .connection import BAD_USER_INPUT, PynamoConnectionField, cursor_for
from .converter import AttributeField, convert_attribute
from .cursors import INVALID_CURSOR
from .fields import NodeField, NodesField, RelatedField
from .ids import from_global_id, to_global_id
from .loaders import Loaders, ModelLoader, ReadStats, get_loaders
from .registry import Registry, get_global_registry, reset_global_registry
from .settings import configure
from .sources import PynamoQuery, PynamoScan
from .types import PynamoObjectType

__all__ = [
    "BAD_USER_INPUT",
    "INVALID_CURSOR",
    "AttributeField",
    "Loaders",
    "ModelLoader",
    "NodeField",
    "NodesField",
    "PynamoConnectionField",
    "PynamoObjectType",
    "PynamoQuery",
    "PynamoScan",
    "ReadStats",
    "Registry",
    "RelatedField",
    "configure",
    "convert_attribute",
    "cursor_for",
    "from_global_id",
    "get_global_registry",
    "get_loaders",
    "reset_global_registry",
    "to_global_id",
]
