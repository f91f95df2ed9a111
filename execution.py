"""How an operation executes: graphql-core's execution with a deadline and fewer per-field steps.

The deadline: once GRAPHQL_TIMEOUT has passed, no further resolver starts. The operation
answers with what it resolved until then and one TIMEOUT error, and the request's thread
is free again. A resolver that has already started (one DynamoDB call) runs to its end:
botocore's own timeouts bound it.

Fewer steps: graphql-core takes every field of every object down one general path, and a
100-edge page executes about 500 fields and completes about 1,000 values. Where the general
path does work that cannot change the result, AppExecutionContext skips it:
- a field is looked up in its type directly (graphql-core's lookup only adds the
  introspection fields, whose names start with "__"), and a field that takes no arguments is
  resolved without building its empty arguments;
- a plain value (exactly a str, int, float or bool) for a leaf type, nullable or not, is
  serialized at once instead of being tested against every kind of type first.
Anything else (a middleware, an awaitable, an error, a value a scalar cannot serialize)
takes graphql-core's path or its equivalent. tests/test_execution.py compares the results
with graphql-core's own ExecutionContext's on a table of operations.
"""

from __future__ import annotations

import time
from typing import Any

from graphql import (
    ExecutionContext,
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    Undefined,
    located_error,
)
from graphql.execution.execute import get_field_def
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, is_awaitable

from errors import AppError


class OperationTimeout(AppError):
    code = "TIMEOUT"
    status = 503
    message = "The operation ran out of time: fields after the deadline were not resolved."


_NEVER_AWAITABLE = frozenset({str, int, float, bool, type(None), dict, list, tuple})
_PLAIN_VALUES = frozenset({str, int, float, bool})
_LEAF_TYPES = (GraphQLScalarType, GraphQLEnumType)


class AppExecutionContext(ExecutionContext):
    """Start no resolver once `timeout` seconds have passed since execution began; skip needless steps.

    The fields that would start after the deadline answer null (or null their nearest
    nullable parent, as any field error does), and one TIMEOUT error says so.
    """

    timeout: float = 10.0

    @staticmethod
    def is_awaitable(value: Any) -> bool:
        """graphql-core's check, which it makes about twenty times per edge of a page, minus its cost for
        the plain values resolvers mostly return (exactly these types: a subclass may be awaitable)."""
        return type(value) not in _NEVER_AWAITABLE and is_awaitable(value)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = clock() + self.timeout

    def execute_field(
        self, parent_type: GraphQLObjectType, source: Any, field_nodes: list[FieldNode], path: Path
    ) -> Any:
        node = field_nodes[0]
        name = node.name.value
        field_def = get_field_def(self.schema, parent_type, node) if name[:2] == "__" else parent_type.fields.get(name)
        if not field_def:
            return Undefined
        return_type = field_def.type
        # Once per field, hundreds of times in a large page: no frame of ours between here and the clock.
        if clock() > self.deadline:
            return self._field_error(OperationTimeout(), return_type, field_nodes, path)
        if self.middleware_manager:
            return ExecutionContext.execute_field(self, parent_type, source, field_nodes, path)
        resolve = field_def.resolve or self.field_resolver
        info = self.build_resolve_info(field_def, field_nodes, parent_type, path)
        try:
            if field_def.args:
                result = resolve(source, info, **get_argument_values(field_def, node, self.variable_values))
            else:
                result = resolve(source, info)
            if self.is_awaitable(result):
                return self._complete_when_resolved(return_type, field_nodes, info, path, result)
            completed = self.complete_value(return_type, field_nodes, info, path, result)
            if self.is_awaitable(completed):
                return self._await_completed(return_type, field_nodes, path, completed)
            return completed
        except Exception as raw_error:
            return self._field_error(raw_error, return_type, field_nodes, path)

    async def _complete_when_resolved(
        self, return_type: GraphQLOutputType, field_nodes: list[FieldNode], info: GraphQLResolveInfo,
        path: Path, result: Any,
    ) -> Any:
        try:
            completed = self.complete_value(return_type, field_nodes, info, path, await result)
            return await completed if self.is_awaitable(completed) else completed
        except Exception as raw_error:
            return self._field_error(raw_error, return_type, field_nodes, path)

    async def _await_completed(
        self, return_type: GraphQLOutputType, field_nodes: list[FieldNode], path: Path, completed: Any
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            return self._field_error(raw_error, return_type, field_nodes, path)

    def _field_error(
        self, raw_error: Exception, return_type: GraphQLOutputType, field_nodes: list[FieldNode], path: Path
    ) -> None:
        """Answer the field null with `raw_error` located on it, as graphql-core does (a non-null field
        raises it instead, to null its parent)."""
        self.handle_field_error(located_error(raw_error, field_nodes, path.as_list()), return_type, path)

    def complete_value(
        self, return_type: GraphQLOutputType, field_nodes: list[FieldNode], info: GraphQLResolveInfo,
        path: Path, result: Any,
    ) -> Any:
        if type(result) in _PLAIN_VALUES:
            leaf = return_type.of_type if type(return_type) is GraphQLNonNull else return_type
            if isinstance(leaf, _LEAF_TYPES):
                serialized = leaf.serialize(result)
                if serialized is not None and serialized is not Undefined:
                    return serialized
                # graphql-core's path serializes it again and raises its own error for the field
        return ExecutionContext.complete_value(self, return_type, field_nodes, info, path, result)


clock = time.monotonic  # the execution deadline's clock (tests replace it)


def one_timeout(errors: list[GraphQLError]) -> list[GraphQLError]:
    """Keep the first TIMEOUT error of the fields the deadline stopped: one is enough to say so."""
    kept, timed_out = [], False
    for error in errors:
        if isinstance(error.original_error, OperationTimeout):
            if timed_out:
                continue
            timed_out = True
        kept.append(error)
    return kept
