"""Item keys and Relay global ids that carry them.

A key is what PynamoDB's `Model.get` and `batch_get` take: the hash key for a model
without a range key, `(hash_key, range_key)` for one with a range key.

A global id is base64 of `"<TypeName>:<key text>"`, the format of graphql-relay's
`to_global_id`. For a hash-only model the key text is the hash key itself (numbers in
their decimal form, binary keys in base64), so `to_global_id("User", user_id)` equals
`graphql_relay.to_global_id("User", user_id)` and ids issued by graphene-pynamodb stay
valid. For a model with a range key it is the JSON array `[hash_key, range_key]`, so
composite-key items refetch through `node`. The type name says which model the key
belongs to, and that model's key attribute types say how to read the text back.
Malformed ids decode to None: callers answer null, never an internal error.
"""

from __future__ import annotations

import binascii
import functools
import json
import math
from base64 import b64decode, b64encode
from typing import Any, NamedTuple

from pynamodb.attributes import Attribute
from pynamodb.constants import BINARY, NUMBER, STRING

_compact_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_json_string = json.encoder.encode_basestring  # the string encoder of ensure_ascii=False, in C


def compact_json(value: Any) -> str:
    """Return json.dumps(value, separators=(",", ":"), ensure_ascii=False).

    Every global id and cursor carries a key as a JSON array, mostly of strings: encoded
    here string by string, without the encoder json builds on each call (most of its cost).
    """
    if type(value) is list:
        try:
            return "[" + ",".join(map(_json_string, value)) + "]"
        except TypeError:  # not all strings: json's encoder
            pass
    return _compact_json(value)

Key = Any  # a hash key, or a (hash key, range key) tuple


class KeySchema(NamedTuple):
    """The Python names and attributes of a model's hash key and range key."""

    hash_name: str
    hash_attribute: Attribute
    range_name: str | None
    range_attribute: Attribute | None


@functools.cache
def key_schema(model: type) -> KeySchema:
    """Return the key attributes of `model`."""
    hash_key = range_key = (None, None)
    for name, attribute in model.get_attributes().items():
        if attribute.is_hash_key:
            hash_key = (name, attribute)
        elif attribute.is_range_key:
            range_key = (name, attribute)
    if hash_key[1] is None:
        raise TypeError(f"{model.__name__} has no hash key")
    return KeySchema(*hash_key, *range_key)


def item_key(item: Any) -> Key:
    """Return the key of a model instance."""
    schema = key_schema(type(item))
    hash_key = getattr(item, schema.hash_name)
    if schema.range_name is None:
        return hash_key
    return hash_key, getattr(item, schema.range_name)


def normalize_key(model: type, key: Key) -> Key:
    """Return `key` checked against the key attribute types of `model`, or raise ValueError."""
    schema = key_schema(model)
    if schema.range_attribute is None:
        return _key_value(schema.hash_attribute, key)
    if not isinstance(key, (tuple, list)) or len(key) != 2:
        raise ValueError(f"{model.__name__} has a range key: expected (hash_key, range_key), got {key!r}")
    return _key_value(schema.hash_attribute, key[0]), _key_value(schema.range_attribute, key[1])


def _key_value(attribute: Attribute, value: Any) -> Any:
    # DynamoDB key attributes are strings, numbers or binary, and never empty.
    kind = attribute.attr_type
    if kind == STRING and isinstance(value, str) and value:
        return value
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == NUMBER and is_number and math.isfinite(value):
        return value
    if kind == BINARY and isinstance(value, bytes) and value:
        return value
    raise ValueError(f"{value!r} is not a valid {attribute.attr_name} key")


def _text_of(value: Any) -> str:
    if isinstance(value, bytes):
        return b64encode(value).decode("ascii")
    if isinstance(value, str):
        return value
    return json.dumps(value)


def key_text(key: Key) -> str:
    """Return the text a global id carries for `key`."""
    if isinstance(key, tuple):
        parts = [b64encode(part).decode("ascii") if isinstance(part, bytes) else part for part in key]
        return compact_json(parts)
    return _text_of(key)


def parse_key_text(model: type, text: str) -> Key | None:
    """Return the key of `model` that `text` carries, or None if it carries none."""
    schema = key_schema(model)
    try:
        if schema.range_attribute is None:
            return _key_value(schema.hash_attribute, _parse_scalar(schema.hash_attribute, text))
        parts = json.loads(text)
        if not isinstance(parts, list) or len(parts) != 2:
            return None
        return (
            _key_value(schema.hash_attribute, _from_json(schema.hash_attribute, parts[0])),
            _key_value(schema.range_attribute, _from_json(schema.range_attribute, parts[1])),
        )
    except (ValueError, binascii.Error, RecursionError):  # json.JSONDecodeError is a ValueError
        return None


def _parse_scalar(attribute: Attribute, text: str) -> Any:
    if attribute.attr_type == NUMBER:
        return json.loads(text)
    if attribute.attr_type == BINARY:
        return b64decode(text, validate=True)
    return text


def _from_json(attribute: Attribute, value: Any) -> Any:
    if attribute.attr_type == BINARY and isinstance(value, str):
        return b64decode(value, validate=True)
    return value


def _type_name(type_: Any) -> str:
    return type_ if isinstance(type_, str) else type_._meta.name


def to_global_id(type_: Any, hash_key: Any, range_key: Any = None) -> str:
    """Return the global id of the item of `type_` (a type or its name) with these keys."""
    key = hash_key if range_key is None else (hash_key, range_key)
    return global_id_text(_type_name(type_), key_text(key))


def global_id_text(type_name: str, text: str) -> str:
    """Return the Relay global id of the item of `type_name` whose key is `text` (graphql_relay's, in one call)."""
    return b64encode(f"{type_name}:{text}".encode()).decode("ascii")


def split_global_id(global_id: Any) -> tuple[str, str] | None:
    """Return the type name and key text of a global id, or None if it is malformed."""
    if not isinstance(global_id, str):
        return None
    try:
        decoded = b64decode(global_id, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, separator, text = decoded.partition(":")
    if not separator or not type_name or not text:
        return None
    return type_name, text


def from_global_id(global_id: Any, type_: Any) -> Key | None:
    """Return the key in a global id of `type_` (a PynamoObjectType), or None for any other id."""
    parts = split_global_id(global_id)
    if parts is None or parts[0] != type_._meta.name:
        return None
    return parse_key_text(type_._meta.model, parts[1])
