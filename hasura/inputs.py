"""Typed inputs: Hasura's JSON checked against dataclasses, with a 400 that names the first bad field."""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from typing import Any, TypeVar

from errors import ValidationFailed

T = TypeVar("T")
_SCALARS = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}


def parse(cls: type[T], value: Any, path: str = "", *, ignore_unknown: bool = False) -> T:
    """Return `value` as an instance of the dataclass `cls`, or raise ValidationFailed naming the field.

    A field's `metadata` may set `max_length` (strings and lists); fields with a default may be left out.
    Unknown fields are refused, unless `ignore_unknown` (for Hasura's own envelopes, which may grow).
    """
    if not isinstance(value, dict):
        raise _invalid(path or "input", "must be an object")
    arguments = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        name = field.metadata.get("name", field.name)
        where = f"{path}.{name}" if path else name
        if name not in value or (value[name] is None and not _optional(_hints(cls)[field.name])):
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise _invalid(where, "is required")
            continue
        arguments[field.name] = _convert(_hints(cls)[field.name], value[name], where, field.metadata, ignore_unknown)
    unknown = sorted(set(value) - {field.metadata.get("name", field.name) for field in dataclasses.fields(cls)})  # type: ignore[arg-type]
    if unknown and not ignore_unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise _invalid(where, "is not a field of this input")
    return cls(**arguments)


def to_json(value: Any) -> Any:
    """Return a dataclass output (or lists and dicts of them) as JSON data, with each field's `name`."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.metadata.get("name", field.name): to_json(getattr(value, field.name))
            for field in dataclasses.fields(value)
        }
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _optional(hint: Any) -> bool:
    return _is_union(hint) and type(None) in typing.get_args(hint)


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _convert(hint: Any, value: Any, where: str, metadata: Any, ignore_unknown: bool) -> Any:
    if _is_union(hint):
        options = [option for option in typing.get_args(hint) if option is not type(None)]
        if value is None:
            return None
        if len(options) != 1:
            raise TypeError(f"{where}: only `X | None` unions are supported")
        hint = options[0]
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        return parse(hint, value, where, ignore_unknown=ignore_unknown)
    if origin in (list, dict) or hint in (list, dict):
        expected = origin or hint
        if not isinstance(value, expected):
            raise _invalid(where, "must be a list" if expected is list else "must be an object")
        _check_length(value, where, metadata)
        (item_hint,) = typing.get_args(hint)[-1:] or (Any,)
        if expected is list:
            return [
                _convert(item_hint, item, f"{where}[{index}]", {}, ignore_unknown) for index, item in enumerate(value)
            ]
        return {key: _convert(item_hint, item, f"{where}.{key}", {}, ignore_unknown) for key, item in value.items()}
    if hint in _SCALARS:
        # bool is an int in Python, and JSON's integers are valid numbers: check exactly.
        valid = isinstance(value, hint) and not (hint is not bool and isinstance(value, bool))
        if hint is float and isinstance(value, int) and not isinstance(value, bool):
            value, valid = float(value), True
        if not valid:
            raise _invalid(where, f"must be {_SCALARS[hint]}")
        if hint is str:
            _check_length(value, where, metadata)
        return value
    raise TypeError(f"{where}: unsupported input type {hint!r}")


def _check_length(value: Any, where: str, metadata: Any) -> None:
    longest = metadata.get("max_length")
    if longest is not None and len(value) > longest:
        raise _invalid(where, f"must be at most {longest} {'characters' if isinstance(value, str) else 'items'} long")


def _invalid(where: str, problem: str) -> ValidationFailed:
    return ValidationFailed(f"{where} {problem}.", field=where)
