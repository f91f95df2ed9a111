"""The registry maps a PynamoDB model (or MapAttribute subclass) to its Graphene object type.

Relation fields and typed map attributes find their object type through it. Each
`PynamoObjectType` registers itself in `Meta.registry` (the global registry by default)
unless `Meta.skip_registry` is true; the type registered last for a model wins.
"""

from __future__ import annotations

from typing import Any


class Registry:
    """Map models and map attribute classes to their object types."""

    def __init__(self) -> None:
        self._types: dict[type, Any] = {}

    def register(self, object_type: Any) -> None:
        """Make `object_type` the type of its `Meta.model`."""
        self._types[object_type._meta.model] = object_type

    def get_type_for_model(self, model: type) -> Any:
        """Return the object type registered for `model`, or None."""
        return self._types.get(model)


_global_registry = Registry()


def get_global_registry() -> Registry:
    """Return the registry types use when their Meta names none."""
    return _global_registry


def reset_global_registry() -> None:
    """Forget every type in the global registry."""
    global _global_registry
    _global_registry = Registry()
