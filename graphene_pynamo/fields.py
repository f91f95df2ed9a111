"""Fields that load items by key through the request's loaders: `node`, `nodes`, relations.

    class Query(graphene.ObjectType):
        node = NodeField()      # node(id: ID!): Node
        nodes = NodesField()    # nodes(ids: [ID!]!): [Node]!

    class Todo(PynamoObjectType):
        ...
        owner = RelatedField(UserModel, "user_id")   # the User whose id is todo.user_id

`node` answers null for an id that is malformed, names an unknown type or a type that is
not a Node, or whose item does not exist: clients never see an internal error for a bad
id. It works for any Node type with a `get_node`; a PynamoObjectType's `get_node` goes
through the request's batching loader, so `nodes` with 100 ids is one BatchGetItem.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from inspect import isclass
from typing import Any

from graphene import ID, Field, List, NonNull, ObjectType
from graphene.relay import Node

from .connection import bad_user_input
from .ids import split_global_id
from .loaders import get_loaders
from .registry import Registry, get_global_registry

DEFAULT_MAX_IDS = 100


def resolve_node(info: Any, global_id: Any, interface: type = Node, only_type: type | None = None) -> Any:
    """Return the object (or an awaitable of it) that `global_id` names, or None."""
    parts = split_global_id(global_id)
    if parts is None:
        return None
    type_name, key_text = parts
    schema_type = info.schema.get_type(type_name)
    object_type = getattr(schema_type, "graphene_type", None)
    if not (isclass(object_type) and issubclass(object_type, ObjectType)):
        return None
    if not any(issubclass(candidate, interface) for candidate in object_type._meta.interfaces):
        return None
    if only_type is not None and object_type is not only_type:
        return None
    get_node = getattr(object_type, "get_node", None)
    return None if get_node is None else get_node(info, key_text)


class NodeField(Field):
    """`node(id: ID!)`: the object with this global id, or null."""

    def __init__(self, interface: type = Node, type_: type | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("description", "Fetches an object given its ID")
        id_argument = ID(required=True, description="The ID of the object")
        super().__init__(type_ or interface, id=id_argument, **kwargs)
        self.interface = interface
        self.only_type = type_

    def wrap_resolve(self, parent_resolver: Any) -> Any:
        """Resolve ids with `resolve_node`."""
        return partial(_resolve_node_field, self.interface, self.only_type)


def _resolve_node_field(interface: type, only_type: type | None, root: Any, info: Any, id: str) -> Any:  # noqa: A002
    return resolve_node(info, id, interface, only_type)


class NodesField(Field):
    """`nodes(ids: [ID!]!)`: the objects with these global ids, in order, null where there is none."""

    def __init__(self, interface: type = Node, *, max_ids: int = DEFAULT_MAX_IDS, **kwargs: Any) -> None:
        kwargs.setdefault("description", "Fetches objects given their IDs")
        ids = NonNull(List(NonNull(ID)), description="The IDs of objects")
        super().__init__(NonNull(List(interface)), ids=ids, **kwargs)
        self.interface = interface
        self.max_ids = max_ids

    def wrap_resolve(self, parent_resolver: Any) -> Any:
        """Resolve each id with `resolve_node`."""
        return partial(_resolve_nodes_field, self.interface, self.max_ids)


def _resolve_nodes_field(interface: type, max_ids: int, root: Any, info: Any, ids: list[str]) -> list[Any]:
    if len(ids) > max_ids:
        raise bad_user_input(f"`ids` may name at most {max_ids} objects.")
    # One awaitable per id: graphql-core awaits them together, so their loads share batches.
    return [resolve_node(info, global_id, interface) for global_id in ids]


class RelatedField(Field):
    """A field that loads the item of `model` whose key the parent holds, batched per request.

    `key` is the name of the parent's attribute holding the related item's hash key, or
    a function of the parent returning the related key (None for no item). The field's
    type is the object type registered for `model`, looked up when the schema is built.
    """

    def __init__(
        self, model: Any, key: str | Callable[[Any], Any], *, registry: Registry | None = None, **kwargs: Any
    ) -> None:
        self.model = model
        self.key = key
        self.registry = registry
        super().__init__(lambda: self._object_type(), **kwargs)  # Graphene calls functions, not methods

    def _object_type(self) -> Any:
        object_type = (self.registry or get_global_registry()).get_type_for_model(self.model)
        if object_type is None:
            raise TypeError(f"RelatedField: no PynamoObjectType is registered for {self.model.__name__}")
        return object_type

    def wrap_resolve(self, parent_resolver: Any) -> Any:
        """Load the related item through the request's loader."""
        return partial(_resolve_related, self.model, self.key)


def _resolve_related(model: Any, key: Any, root: Any, info: Any, **args: Any) -> Any:
    related_key = key(root) if callable(key) else getattr(root, key)
    if related_key is None:
        return None
    return get_loaders(info).for_model(model).load(related_key)
