"""Convert PynamoDB attributes to Graphene fields.

`convert_attribute` is a `functools.singledispatch` function with one registration per
attribute type; register your own attribute types the same way:

    @convert_attribute.register(MoneyAttribute)
    def convert_money(attribute, registry):
        return AttributeField(graphene.String, attribute)

| PynamoDB attribute                          | GraphQL type                             |
|---------------------------------------------|------------------------------------------|
| UnicodeAttribute, DiscriminatorAttribute     | String                                   |
| NumberAttribute                             | Float (declare an Int field to narrow it) |
| VersionAttribute                            | Int                                      |
| BooleanAttribute                            | Boolean                                  |
| BinaryAttribute                             | Base64                                   |
| UTCDateTimeAttribute, TTLAttribute          | DateTime                                 |
| JSONAttribute                               | JSONString                               |
| UnicodeSetAttribute, NumberSetAttribute, BinarySetAttribute | [String!], [Float!], [Base64!] (sorted) |
| ListAttribute(of=X)                         | [X] (X may be a MapAttribute subclass)    |
| ListAttribute without `of`                  | JSONString                               |
| MapAttribute subclass with attributes       | its object type (registered, or generated)  |
| raw MapAttribute, DynamicMapAttribute       | JSONString                               |

An attribute with `null=False` (PynamoDB's default) becomes a non-null field. Anything
else raises `UnconvertibleAttribute`, which `PynamoObjectType` turns into an error naming
the model and the attribute while the class is defined.
"""

from __future__ import annotations

import functools
from base64 import b64encode
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import graphene
from graphene.types.resolver import dict_or_attr_resolver
from graphene.utils.thenables import maybe_thenable
from pynamodb.attributes import (
    Attribute,
    BinaryAttribute,
    BinarySetAttribute,
    BooleanAttribute,
    DiscriminatorAttribute,
    DynamicMapAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.models import Model

from .registry import Registry


class UnconvertibleAttribute(TypeError):
    """An attribute has no Graphene type; `path` names it inside its model."""

    def __init__(self, attribute: Attribute, path: tuple[str, ...] = (), message: str | None = None) -> None:
        self.attribute = attribute
        self.path = path
        super().__init__(message or f"no Graphene type for {type(attribute).__name__}")


class AttributeField(graphene.Field):
    """A field showing an attribute's value, shaped for its GraphQL type by `shape`.

    `model` is the model whose attribute it shows when the object type made the field from
    that model's attribute: items of exactly that model are then read directly.
    """

    def __init__(
        self, type_: Any, attribute: Attribute, *, shape: Callable[[Any], Any] | None = None, **kwargs
    ):
        kwargs.setdefault("required", not attribute.null)
        super().__init__(type_, **kwargs)
        self.attribute = attribute
        self.shape = shape
        self.model: type[Model] | None = None

    def wrap_resolve(self, parent_resolver: Callable[..., Any]) -> Callable[..., Any]:
        """Apply `shape` to what the resolver (a `resolve_<name>` method too) returns."""
        resolver = super().wrap_resolve(parent_resolver)
        resolver = self._read_directly(resolver) or resolver
        if self.shape is None:
            return resolver
        shape = _skip_none(self.shape)

        def resolve_shaped(root: Any, info: Any, **args: Any) -> Any:
            return maybe_thenable(resolver(root, info, **args), shape)

        return resolve_shaped

    def _read_directly(self, resolver: Callable[..., Any]) -> Callable[..., Any] | None:
        """Return a resolver that reads an item of exactly `model` as Graphene's default resolver
        would, without its calls, or None.

        Graphene's default resolver reads getattr(item, name) in two frames of its own and one
        of PynamoDB's descriptor, which answers item.attribute_values.get(name) (None when
        unset) where the attribute class keeps PynamoDB's __get__. A field of every item of a
        page (a 100-edge page with two such fields: 4% less own time).
        """
        model = self.model
        if model is None or self.resolver is not None or not _is_default_resolver(resolver):
            return None
        if type(self.attribute).__get__ is not Attribute.__get__:
            return None
        name = resolver.args[0]
        if getattr(model, name, None) is not self.attribute:  # the field reads another name
            return None

        def read_attribute(root: Any, info: Any, **args: Any) -> Any:
            if type(root) is model:
                return root.attribute_values.get(name)
            return resolver(root, info, **args)

        return read_attribute


def _is_default_resolver(resolver: Any) -> bool:
    """Say whether `resolver` is Graphene's default one, bound to a field name and a default value."""
    return (
        isinstance(resolver, functools.partial)
        and resolver.func is dict_or_attr_resolver
        and len(resolver.args) == 2
        and not resolver.keywords
    )


@functools.singledispatch
def convert_attribute(attribute: Attribute, registry: Registry) -> AttributeField:
    """Return the field for `attribute`, or raise UnconvertibleAttribute."""
    raise UnconvertibleAttribute(attribute)


@convert_attribute.register(UnicodeAttribute)
def convert_unicode(attribute: UnicodeAttribute, registry: Registry) -> AttributeField:
    return AttributeField(graphene.String, attribute)


@convert_attribute.register(DiscriminatorAttribute)
def convert_discriminator(attribute: DiscriminatorAttribute, registry: Registry) -> AttributeField:
    # The Python value is the model class; clients see the discriminator value stored for it.
    return AttributeField(graphene.String, attribute, shape=attribute.serialize)


@convert_attribute.register(NumberAttribute)
def convert_number(attribute: NumberAttribute, registry: Registry) -> AttributeField:
    return AttributeField(graphene.Float, attribute)


@convert_attribute.register(VersionAttribute)
def convert_version(attribute: VersionAttribute, registry: Registry) -> AttributeField:
    return AttributeField(graphene.Int, attribute)


@convert_attribute.register(BooleanAttribute)
def convert_boolean(attribute: BooleanAttribute, registry: Registry) -> AttributeField:
    return AttributeField(graphene.Boolean, attribute)


@convert_attribute.register(BinaryAttribute)
def convert_binary(attribute: BinaryAttribute, registry: Registry) -> AttributeField:
    return AttributeField(graphene.Base64, attribute)


@convert_attribute.register(UTCDateTimeAttribute)
def convert_utc_datetime(attribute: UTCDateTimeAttribute, registry: Registry) -> AttributeField:
    return AttributeField(graphene.DateTime, attribute)


@convert_attribute.register(TTLAttribute)
def convert_ttl(attribute: TTLAttribute, registry: Registry) -> AttributeField:
    return AttributeField(graphene.DateTime, attribute)


@convert_attribute.register(JSONAttribute)
def convert_json(attribute: JSONAttribute, registry: Registry) -> AttributeField:
    return AttributeField(graphene.JSONString, attribute)


@convert_attribute.register(UnicodeSetAttribute)
def convert_unicode_set(attribute: UnicodeSetAttribute, registry: Registry) -> AttributeField:
    return AttributeField(graphene.List(graphene.NonNull(graphene.String)), attribute, shape=sorted)


@convert_attribute.register(NumberSetAttribute)
def convert_number_set(attribute: NumberSetAttribute, registry: Registry) -> AttributeField:
    return AttributeField(graphene.List(graphene.NonNull(graphene.Float)), attribute, shape=sorted)


@convert_attribute.register(BinarySetAttribute)
def convert_binary_set(attribute: BinarySetAttribute, registry: Registry) -> AttributeField:
    return AttributeField(graphene.List(graphene.NonNull(graphene.Base64)), attribute, shape=sorted)


@convert_attribute.register(ListAttribute)
def convert_list(attribute: ListAttribute, registry: Registry) -> AttributeField:
    if attribute.element_type is None:
        return AttributeField(graphene.JSONString, attribute, shape=plain_value)
    element = convert_attribute(_element_attribute(attribute.element_type), registry)
    element_type = element.type.of_type if isinstance(element.type, graphene.NonNull) else element.type
    # Elements stay nullable: PynamoDB stores None list elements as NULL.
    shape = None if element.shape is None else _each(_skip_none(element.shape))
    return AttributeField(graphene.List(element_type), attribute, shape=shape)


@convert_attribute.register(MapAttribute)
def convert_map(attribute: MapAttribute, registry: Registry) -> AttributeField:
    map_class = type(attribute)
    if map_class.is_raw() or not map_class.get_attributes():
        return AttributeField(graphene.JSONString, attribute, shape=plain_value)
    return AttributeField(map_object_type(map_class, registry), attribute)


@convert_attribute.register(DynamicMapAttribute)
def convert_dynamic_map(attribute: DynamicMapAttribute, registry: Registry) -> AttributeField:
    return AttributeField(graphene.JSONString, attribute, shape=plain_value)


def map_object_type(map_class: type[MapAttribute], registry: Registry) -> Any:
    """Return the object type of a MapAttribute subclass, generating and registering one if needed."""
    object_type = registry.get_type_for_model(map_class)
    if object_type is None:
        from .types import PynamoObjectType  # the generated type is a PynamoObjectType itself

        meta = {"model": map_class, "registry": registry}
        namespace = {"Meta": meta, "__doc__": map_class.__doc__}
        object_type = type(map_class.__name__, (PynamoObjectType,), namespace)
    return object_type


def _element_attribute(element_class: type[Attribute]) -> Attribute:
    # PynamoDB builds list elements the same way: binary attributes need their encoding named.
    if issubclass(element_class, (BinaryAttribute, BinarySetAttribute)):
        return element_class(legacy_encoding=False)
    return element_class()


def _skip_none(shape: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else shape(value)


def _each(shape: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda values: [shape(value) for value in values]


def plain_value(value: Any) -> Any:
    """Return a PynamoDB value as plain JSON data: maps as dicts, sets as sorted lists, bytes in base64."""
    if isinstance(value, MapAttribute):
        value = value.attribute_values
    if isinstance(value, Mapping):
        return {str(key): plain_value(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return [plain_value(item) for item in sorted(value)]
    if isinstance(value, (list, tuple)):
        return [plain_value(item) for item in value]
    if isinstance(value, bytes):
        return b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.isoformat()
    return value
