"""`PynamoObjectType`: a Graphene object type whose fields come from a PynamoDB model.

    class Todo(PynamoObjectType):
        class Meta:
            model = TodoModel
            interfaces = (relay.Node,)
            exclude_fields = ("owner_secret",)

        complete = graphene.Boolean(required=True)  # a declared field replaces the converted one

`Meta` takes graphene-pynamodb's options: `model` (a PynamoDB Model, or a MapAttribute
subclass to customise the object type of a map), `registry`, `skip_registry`,
`only_fields` / `exclude_fields` (Python attribute names), `interfaces`, `connection`,
`use_connection`, plus Graphene's own `name`, `description`, `possible_types` and
`default_resolver`. Fields keep the model's Python names, which Graphene shows in
camelCase (`first_name` -> `firstName`), in the order the model defines them. A map
attribute gets the type registered for its MapAttribute class, or a generated one named
after the class: define your own map types before the model types that use them.

With `relay.Node` among the interfaces, `id` is the global id carrying the item's hash
and range key (see `ids`), a model attribute named `id` is not exposed under that name,
`get_node` loads items through the request's batching loader (see `loaders`), and a
connection type `<Name>Connection` is created for `PynamoConnectionField`.

Configuration mistakes raise TypeError or ValueError while the class is defined, naming
the class: an unknown Meta option, a missing model, unknown names in only_fields or
exclude_fields, and attributes the converter cannot handle (naming model and attribute).
"""

from __future__ import annotations

from inspect import isclass
from typing import Any

from graphene import Connection, Field, ObjectType
from graphene.relay import GlobalID, Node
from graphene.relay.id_type import DefaultGlobalIDType
from graphene.relay.node import AbstractNode
from graphene.types.objecttype import ObjectTypeOptions
from graphene.types.utils import yank_fields_from_attrs
from pynamodb.attributes import Attribute, MapAttribute
from pynamodb.models import Model

from .converter import AttributeField, UnconvertibleAttribute, convert_attribute
from .ids import global_id_text, item_key, key_text, parse_key_text
from .loaders import get_loaders
from .registry import Registry, get_global_registry

_GRAPHENE_OPTIONS = {"name", "description", "possible_types", "default_resolver"}


class PynamoObjectTypeOptions(ObjectTypeOptions):
    model: Any = None
    registry: Registry | None = None
    connection: Any = None


class PynamoObjectType(ObjectType):
    """An object type with a field for each attribute of `Meta.model`."""

    class Meta:
        abstract = True

    @classmethod
    def __init_subclass_with_meta__(
        cls,
        model: Any = None,
        registry: Registry | None = None,
        skip_registry: bool = False,
        only_fields: Any = (),
        exclude_fields: Any = (),
        connection: Any = None,
        use_connection: bool | None = None,
        interfaces: Any = (),
        _meta: Any = None,
        **options: Any,
    ) -> None:
        unknown = sorted(set(options) - _GRAPHENE_OPTIONS)
        if unknown:
            raise TypeError(f"{cls.__name__}.Meta has unknown options: {', '.join(unknown)}")
        if not (isclass(model) and issubclass(model, (Model, MapAttribute))):
            raise TypeError(
                f"{cls.__name__}.Meta.model must be a PynamoDB Model or MapAttribute class, got {model!r}"
            )
        registry = get_global_registry() if registry is None else registry
        if not isinstance(registry, Registry):
            raise TypeError(f"{cls.__name__}.Meta.registry must be a Registry, got {registry!r}")
        is_node = any(issubclass(interface, AbstractNode) for interface in interfaces)
        if is_node and not issubclass(model, Model):
            raise TypeError(f"{cls.__name__}: a Node needs a Model with keys, not a MapAttribute")

        interface_fields: dict[str, Any] = {}
        for interface in interfaces:
            interface_fields.update(interface._meta.fields)
        declared = dict(interface_fields)  # Node's id hides a model attribute named id
        for base in reversed(cls.__mro__):
            declared.update(yank_fields_from_attrs(base.__dict__, _as=Field))
        try:
            fields = _attribute_fields(cls, model, registry, only_fields, exclude_fields, declared)
        except UnconvertibleAttribute as error:
            # Still an UnconvertibleAttribute (a TypeError): a map type generated for a model's
            # attribute re-raises it with the attribute's full path.
            raise UnconvertibleAttribute(
                error.attribute,
                error.path,
                f"{cls.__name__}: cannot convert {model.__name__}.{'.'.join(error.path)} "
                f"({type(error.attribute).__name__}): exclude it with Meta.exclude_fields, declare the field "
                "on the class, or register a converter with @convert_attribute.register",
            ) from None

        if use_connection is None:
            use_connection = is_node
        if connection is not None and not (isclass(connection) and issubclass(connection, Connection)):
            raise TypeError(f"{cls.__name__}.Meta.connection must be a Connection class, got {connection!r}")
        if use_connection and connection is None:
            connection = Connection.create_type(f"{options.get('name') or cls.__name__}Connection", node=cls)

        _meta = PynamoObjectTypeOptions(cls)
        _meta.model = model
        _meta.registry = registry
        _meta.connection = connection
        # Graphene adds the interface and declared fields to these, keeping the order given here.
        _meta.fields = {**interface_fields, **fields}
        super().__init_subclass_with_meta__(_meta=_meta, interfaces=interfaces, **options)
        if is_node and type(_meta.fields.get("id")) is GlobalID:  # Graphene put the interface's back
            _meta.fields["id"] = _ItemGlobalID.like(_meta.fields["id"])

        if is_node and getattr(cls, "resolve_id", None) is None:
            cls.resolve_id = _resolve_id
        if not skip_registry:
            registry.register(cls)

    @classmethod
    def is_type_of(cls, root: Any, info: Any) -> bool:
        """Say whether `root` is an item of this type's model."""
        return isinstance(root, cls._meta.model)

    @classmethod
    async def get_node(cls, info: Any, id: str) -> Any:  # noqa: A002 - Graphene's name for it
        """Load the item whose key the global id carries, or return None.

        Override it to check access, e.g. `item = await super().get_node(info, id)` and
        return None unless the viewer may see `item`.
        """
        key = parse_key_text(cls._meta.model, id)
        if key is None:
            return None
        item = await get_loaders(info).for_model(cls._meta.model).load(key)
        return item if isinstance(item, cls._meta.model) else None


def _resolve_id(root: Any, info: Any) -> str:
    # relay.Node's id field base64-encodes "<TypeName>:<this text>".
    return key_text(item_key(root))


class _ItemGlobalID(GlobalID):
    """relay.Node's id field on an item type: one call where Graphene's takes four.

    Every node of every page resolves it. With Node's own global ids (Graphene's default
    global id type, `to_global_id` not overridden) and the id taken from the item's key
    (`_resolve_id`), the id is made at once, as Graphene would make it; otherwise
    Graphene's own resolution runs.
    """

    @classmethod
    def like(cls, field: GlobalID) -> _ItemGlobalID:
        copy = cls(field.node, required=True, global_id_type=field.node._meta.global_id_type,
                   description=field.description)
        copy.parent_type_name = field.parent_type_name
        return copy

    def wrap_resolve(self, parent_resolver: Any) -> Any:
        node = self.node
        if not (
            parent_resolver is _resolve_id
            and node._meta.global_id_type is DefaultGlobalIDType
            and getattr(node.to_global_id, "__func__", None) is Node.to_global_id.__func__
        ):
            return super().wrap_resolve(parent_resolver)
        type_name = self.parent_type_name

        def resolve_item_global_id(root: Any, info: Any, **_args: Any) -> str:
            return global_id_text(type_name or info.parent_type.name, key_text(item_key(root)))

        return resolve_item_global_id


def _attribute_fields(
    cls: type, model: Any, registry: Registry, only_fields: Any, exclude_fields: Any, declared: dict[str, Any]
) -> dict[str, Any]:
    """Return a field per attribute: declared on the class, else converted, unless left out by Meta."""
    attributes = _attributes_in_definition_order(model)
    if only_fields and exclude_fields:
        raise ValueError(f"{cls.__name__}.Meta: set only_fields or exclude_fields, not both")
    for option, names in (("only_fields", only_fields), ("exclude_fields", exclude_fields)):
        if isinstance(names, str):
            raise TypeError(f"{cls.__name__}.Meta.{option} must be a list of names, got {names!r}")
        unknown = sorted(set(names) - set(attributes))
        if unknown:
            names = ", ".join(unknown)
            raise ValueError(f"{cls.__name__}.Meta.{option} names no attribute of {model.__name__}: {names}")
    fields = {}
    for name, attribute in attributes.items():
        if name in declared:
            fields[name] = declared[name]  # in the model's place
            continue
        if (only_fields and name not in only_fields) or name in exclude_fields:
            continue
        try:
            field = convert_attribute(attribute, registry)
        except UnconvertibleAttribute as error:
            raise UnconvertibleAttribute(error.attribute, (name, *error.path)) from None
        if isinstance(field, AttributeField) and issubclass(model, Model):
            field.model = model  # made from this model's attribute: its items can be read directly
        fields[name] = field
    return fields


def _attributes_in_definition_order(model: Any) -> dict[str, Attribute]:
    # get_attributes() sorts by name; the schema reads better in the order the model was written.
    attributes = model.get_attributes()
    names: dict[str, None] = {}
    for klass in reversed(model.__mro__):
        for name in vars(klass):
            if name in attributes:
                names.setdefault(name)
    return {name: attributes[name] for name in names}
