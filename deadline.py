"""The execution deadline: once GRAPHQL_TIMEOUT has passed, no further resolver starts.

The operation answers with what it resolved until then and one TIMEOUT error, and the
request's thread is free again. A resolver that has already started (one DynamoDB call)
runs to its end: botocore's own timeouts bound it.
"""

from __future__ import annotations

import time
from typing import Any

from graphql import ExecutionContext, FieldNode, GraphQLError, GraphQLObjectType, Undefined, located_error
from graphql.execution.execute import get_field_def
from graphql.pyutils import Path, is_awaitable

from errors import AppError


class OperationTimeout(AppError):
    code = "TIMEOUT"
    status = 503
    message = "The operation ran out of time: fields after the deadline were not resolved."


_NEVER_AWAITABLE = frozenset({str, int, float, bool, type(None), dict, list, tuple})


class DeadlineExecutionContext(ExecutionContext):
    """Start no resolver once `timeout` seconds have passed since execution began.

    The fields that would start answer null (or null their nearest nullable parent, as
    any field error does), and one TIMEOUT error says so.
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
        # Once per field, hundreds of times in a large page: no frame of ours between here and the clock.
        if clock() <= self.deadline:
            return ExecutionContext.execute_field(self, parent_type, source, field_nodes, path)
        field_def = get_field_def(self.schema, parent_type, field_nodes[0])
        if not field_def:
            return Undefined
        error = located_error(OperationTimeout(), field_nodes, path.as_list())
        self.handle_field_error(error, field_def.type, path)
        return None


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
