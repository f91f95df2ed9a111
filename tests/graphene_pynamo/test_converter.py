"""The attribute converter, and the class-definition checks of PynamoObjectType."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import graphene
import pytest
from graphene import relay
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
    NullAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.models import Model

from graphene_pynamo import AttributeField, PynamoObjectType, Registry, convert_attribute
from graphene_pynamo.converter import plain_value


class Address(MapAttribute):
    street = UnicodeAttribute()
    zip_code = UnicodeAttribute(null=True)


class Extras(DynamicMapAttribute):
    source = UnicodeAttribute(null=True)


class EmailAttribute(UnicodeAttribute):
    """A subclass of a supported attribute, like the app's."""


def model_with(**attributes: Attribute) -> type[Model]:
    """Return a PynamoDB model with a hash key `key` and `attributes`."""
    meta = type("Meta", (), {"table_name": "things"})
    return type("Thing", (Model,), {"Meta": meta, "key": UnicodeAttribute(hash_key=True), **attributes})


def type_for(model: type, registry: Registry | None = None, **meta: Any) -> type[PynamoObjectType]:
    """Return a PynamoObjectType for `model` in a registry of its own."""
    meta = {"model": model, "registry": registry or Registry(), **meta}
    return type(model.__name__ + "Type", (PynamoObjectType,), {"Meta": meta})


def query_value(object_type: type, item: Any, selection: str) -> Any:
    """Return `thing { <selection> }` resolved on `item`."""

    class Query(graphene.ObjectType):
        thing = graphene.Field(object_type)

        @staticmethod
        def resolve_thing(root: Any, info: Any) -> Any:
            return item

    schema = graphene.Schema(query=Query)
    result = schema.execute(f"{{ thing {{ {selection} }} }}")
    assert not result.errors, result.errors
    return schema, result.data["thing"]


@pytest.mark.parametrize(
    ("attribute", "value", "graphql_type", "selection", "output"),
    [
        (UnicodeAttribute(), "hi", "String!", "value", "hi"),
        (UnicodeAttribute(null=True), None, "String", "value", None),
        (EmailAttribute(), "ada@example.com", "String!", "value", "ada@example.com"),
        (NumberAttribute(), 3, "Float!", "value", 3.0),
        (VersionAttribute(), 2, "Int", "value", 2),
        (BooleanAttribute(), True, "Boolean!", "value", True),
        (BinaryAttribute(legacy_encoding=False), b"\x00\xff", "Base64!", "value", "AP8="),
        (
            UTCDateTimeAttribute(),
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            "DateTime!",
            "value",
            "2024-01-02T03:04:05+00:00",
        ),
        (
            TTLAttribute(null=True),
            datetime(2030, 1, 1, tzinfo=UTC),
            "DateTime",
            "value",
            "2030-01-01T00:00:00+00:00",
        ),
        (JSONAttribute(), {"a": [1, 2]}, "JSONString!", "value", '{"a": [1, 2]}'),
        (UnicodeSetAttribute(), {"b", "a"}, "[String!]", "value", ["a", "b"]),
        (NumberSetAttribute(), {2, 1.5}, "[Float!]", "value", [1.5, 2.0]),
        (BinarySetAttribute(legacy_encoding=False), {b"b", b"a"}, "[Base64!]", "value", ["YQ==", "Yg=="]),
        (ListAttribute(of=UnicodeAttribute), ["x", None], "[String]!", "value", ["x", None]),
        (ListAttribute(of=NumberAttribute, null=True), [1, 2], "[Float]", "value", [1.0, 2.0]),
        (ListAttribute(of=UnicodeSetAttribute), [{"b", "a"}], "[[String!]]!", "value", [["a", "b"]]),
        (
            ListAttribute(of=Address),
            [Address(street="Main St"), Address(street="Side St", zip_code="12345")],
            "[Address]!",
            "value { street zipCode }",
            [{"street": "Main St", "zipCode": None}, {"street": "Side St", "zipCode": "12345"}],
        ),
        (ListAttribute(), ["a", 1, {"b": True}], "JSONString!", "value", '["a", 1, {"b": true}]'),
        (MapAttribute(), {"a": 1, "b": [True]}, "JSONString!", "value", '{"a": 1, "b": [true]}'),
        (
            Address(),
            Address(street="Main St"),
            "Address!",
            "value { street zipCode }",
            {"street": "Main St", "zipCode": None},
        ),
        (
            Extras(null=True),
            Extras(source="import", other=2),
            "JSONString",
            "value",
            '{"source": "import", "other": 2}',
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Attribute) else None,
)
def test_each_attribute_type_has_a_graphql_type(attribute, value, graphql_type, selection, output):
    """Convert each attribute type to its GraphQL type and show its values in that type."""
    model = model_with(value=attribute)
    schema, data = query_value(type_for(model), model("k", value=value), selection)

    assert str(schema.graphql_schema.get_type("ThingType").fields["value"].type) == graphql_type
    assert data == {"value": output}


def test_discriminator_shows_the_stored_class_name():
    """Show a discriminator attribute as the value stored for the item's class."""

    class Shape(Model):
        class Meta:
            table_name = "shapes"

        key = UnicodeAttribute(hash_key=True)
        kind = DiscriminatorAttribute()

    class Circle(Shape, discriminator="circle"):
        pass

    schema, data = query_value(type_for(Shape), Circle("c1"), "kind")

    assert str(schema.graphql_schema.get_type("ShapeType").fields["kind"].type) == "String!"
    assert data == {"kind": "circle"}


def test_fields_follow_the_model_order_and_the_meta_options():
    """Expose attributes in definition order, minus excluded ones, with declared fields replacing them."""

    class Person(Model):
        class Meta:
            table_name = "people"

        id = UnicodeAttribute(hash_key=True)
        zeta = UnicodeAttribute()
        alpha = NumberAttribute()
        secret = UnicodeAttribute()

    class PersonType(PynamoObjectType):
        class Meta:
            model = Person
            registry = Registry()
            interfaces = (relay.Node,)
            exclude_fields = ("secret",)

        alpha = graphene.Int(required=True)
        nickname = graphene.String()

    class OnlyName(PynamoObjectType):
        class Meta:
            model = Person
            registry = Registry()
            only_fields = ("zeta",)

    assert list(PersonType._meta.fields) == ["id", "zeta", "alpha", "nickname"]
    assert str(PersonType._meta.fields["alpha"].type) == "Int!"
    assert isinstance(PersonType._meta.fields["id"], relay.GlobalID)  # the Node id, not the attribute
    assert list(OnlyName._meta.fields) == ["zeta"]
    assert PersonType._meta.connection._meta.name == "PersonTypeConnection"
    assert OnlyName._meta.connection is None


def test_resolver_methods_replace_values_and_keep_their_shape():
    """Shape what a resolve_<name> method returns like the attribute's own value."""
    tagged_model = model_with(tags=UnicodeSetAttribute())

    class Tagged(PynamoObjectType):
        class Meta:
            model = tagged_model
            registry = Registry()

        @staticmethod
        def resolve_tags(item: Any, info: Any) -> set[str]:
            return {"z", *item.tags}

    _, data = query_value(Tagged, tagged_model("k", tags={"b", "a"}), "tags")

    assert data == {"tags": ["a", "b", "z"]}


def test_map_types_come_from_the_registry():
    """Use a registered type for a map attribute, and reuse a generated one across models."""
    addresses = Registry()

    class PostalAddress(PynamoObjectType):
        class Meta:
            model = Address
            registry = addresses

        label = graphene.String()

    home = type_for(model_with(home=Address()), addresses)
    work = type_for(model_with(work=Address()), Registry())
    other = type_for(model_with(office=Address()), work._meta.registry)

    assert home._meta.fields["home"].type.of_type is PostalAddress
    assert work._meta.fields["work"].type.of_type is other._meta.fields["office"].type.of_type
    assert work._meta.fields["work"].type.of_type._meta.name == "Address"


def test_converters_can_be_registered_for_new_attribute_types():
    """Convert a custom attribute type once a converter is registered for it."""

    class MoneyAttribute(Attribute[str]):
        attr_type = "S"

    @convert_attribute.register(MoneyAttribute)
    def convert_money(attribute: MoneyAttribute, registry: Registry) -> AttributeField:
        return AttributeField(graphene.String, attribute, shape=lambda value: f"{value} EUR")

    model = model_with(price=MoneyAttribute())
    _, data = query_value(type_for(model), model("k", price="3.50"), "price")

    assert data == {"price": "3.50 EUR"}


def test_plain_value_makes_raw_maps_json():
    """Turn raw maps, sets, binary and datetimes into JSON data."""
    raw = MapAttribute(tags={"b", "a"}, blob=b"\x00", at=datetime(2024, 1, 1, tzinfo=UTC), nested={"n": [1]})

    assert plain_value(raw) == {
        "tags": ["a", "b"],
        "blob": "AA==",
        "at": "2024-01-01T00:00:00+00:00",
        "nested": {"n": [1]},
    }


class Holder(MapAttribute):
    broken = NullAttribute()


class Odd(Model):
    class Meta:
        table_name = "odd"

    key = UnicodeAttribute(hash_key=True)
    nothing = NullAttribute()
    holder = Holder()
    nothings = ListAttribute(of=NullAttribute)
    name = UnicodeAttribute()


def define(**meta: Any) -> type:
    """Define a PynamoObjectType named Broken with this Meta."""
    return type("Broken", (PynamoObjectType,), {"Meta": {"registry": Registry(), **meta}})


@pytest.mark.parametrize(
    ("meta", "error", "message"),
    [
        (
            {"model": Odd, "exclude_field": ("key",)},
            TypeError,
            r"^Broken\.Meta has unknown options: exclude_field$",
        ),
        ({}, TypeError, r"^Broken\.Meta\.model must be a PynamoDB Model or MapAttribute class, got None$"),
        ({"model": Odd("k")}, TypeError, r"^Broken\.Meta\.model must be a PynamoDB Model"),
        ({"model": Odd, "registry": {}}, TypeError, r"^Broken\.Meta\.registry must be a Registry, got \{\}$"),
        (
            {"model": Odd, "only_fields": ("name",), "exclude_fields": ("key",)},
            ValueError,
            r"^Broken\.Meta: set only_fields or exclude_fields, not both$",
        ),
        (
            {"model": Odd, "only_fields": ("name", "nope", "gone")},
            ValueError,
            r"^Broken\.Meta\.only_fields names no attribute of Odd: gone, nope$",
        ),
        (
            {"model": Odd, "exclude_fields": "name"},
            TypeError,
            r"^Broken\.Meta\.exclude_fields must be a list",
        ),
        (
            {"model": Odd, "only_fields": ("nothing",)},
            TypeError,
            r"^Broken: cannot convert Odd\.nothing \(NullAttribute\): exclude it with Meta\.exclude_fields",
        ),
        (
            {"model": Odd, "only_fields": ("holder",)},
            TypeError,
            r"^Broken: cannot convert Odd\.holder\.broken \(",
        ),
        (
            {"model": Odd, "only_fields": ("nothings",)},
            TypeError,
            r"^Broken: cannot convert Odd\.nothings \(",
        ),
        (
            {"model": Address, "interfaces": (relay.Node,)},
            TypeError,
            r"^Broken: a Node needs a Model with keys",
        ),
        (
            {"model": Odd, "only_fields": ("name",), "connection": str},
            TypeError,
            r"^Broken\.Meta\.connection must",
        ),
    ],
)
def test_configuration_mistakes_fail_at_class_definition(meta, error, message):
    """Raise, naming the class (and the model and attribute), while the class is defined."""
    with pytest.raises(error, match=message):
        define(**meta)


def test_unconvertible_attributes_can_be_excluded_or_declared():
    """Accept a model with unconvertible attributes once they are excluded or declared."""
    excluded = define(model=Odd, exclude_fields=("nothing", "holder", "nothings"))

    class Declared(PynamoObjectType):
        class Meta:
            model = Odd
            registry = Registry()

        nothing = graphene.String()
        holder = graphene.String()
        nothings = graphene.List(graphene.String)

    assert list(excluded._meta.fields) == ["key", "name"]
    assert list(Declared._meta.fields) == ["key", "nothing", "holder", "nothings", "name"]


class ShoutedAttribute(UnicodeAttribute):
    """An attribute class with a descriptor of its own: its fields must read through it."""

    def __get__(self, instance: Any, owner: Any) -> Any:
        value = super().__get__(instance, owner)
        return value.upper() if instance is not None and isinstance(value, str) else value


def test_attribute_fields_read_items_of_their_model_directly_and_answer_as_graphene_does():
    """An item of exactly the model is read from its attribute values; anything else through Graphene's
    default resolver (getattr), a field's own resolver or the attribute's own descriptor: the same answers."""
    base = model_with(
        plain=UnicodeAttribute(),
        renamed=UnicodeAttribute(attr_name="stored_as"),
        unset=UnicodeAttribute(null=True),
        shouted=ShoutedAttribute(),
        own=UnicodeAttribute(null=True),
    )

    class Things(PynamoObjectType):
        class Meta:
            model = base
            registry = Registry()

        own = AttributeField(graphene.String, base.own, resolver=lambda item, info: "from the field's resolver")

    subclass = type("SubThing", (base,), {"plain": ShoutedAttribute()})  # its items read `plain` its own way
    selection = "plain renamed unset shouted own"
    expected = {"plain": "p", "renamed": "r", "unset": None, "shouted": "S", "own": "from the field's resolver"}
    schema, data = query_value(Things, base("k", plain="p", renamed="r", shouted="s"), selection)
    assert data == expected
    _, data = query_value(Things, subclass("k", plain="p", renamed="r", shouted="s"), selection)
    assert data == {**expected, "plain": "P"}
    fields = schema.graphql_schema.get_type("Things").fields
    direct = {name: getattr(field.resolve, "__name__", "") == "read_attribute" for name, field in fields.items()}
    assert direct == {"plain": True, "renamed": True, "unset": True, "shouted": False, "own": False, "key": True}
