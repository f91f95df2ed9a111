"""Operation limits: what one GraphQL operation may ask for before anything runs.

Each limit is its own small rule with its own error code. Every rule walks the document
once: a fragment is measured once and its measure reused at every spread, so a
"fragment bomb" (each fragment spreading the next twice) costs time linear in its text
even though it expands to billions of fields. The expanded counts are big integers,
which is exactly what makes such a document refused.

- `depth`, `aliases`, `root_fields` and `repeated_fields` read only the document: they
  run before validation, so a document that breaks them never reaches graphql-core's
  rules (some of which are quadratic in the number of fields).
- `NoIntrospection` (a validation rule) refuses `__schema` and `__type` when
  introspection is off.
- `cost` reads the schema and the request's variables: the items an operation may read.
  A connection field (a field with `first`/`last` arguments whose type has `edges` and
  `pageInfo`) costs its clamped page size times what each item selects, plus one; a
  list field with a list argument (`nodes(ids:)`) costs the number of ids times what
  each item selects, plus one; every other field costs one plus what it selects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef


class Limits(NamedTuple):
    """The limits of one GraphQL endpoint; the defaults are the settings' defaults."""

    max_document_size: int = 16_384
    max_tokens: int = 1000
    max_depth: int = 20
    max_aliases: int = 15
    max_root_fields: int = 10
    max_repeated_fields: int = 10
    max_cost: int = 5000
    page_size: int = 100  # what a connection without first/last returns, and the clamp of first/last


def limit_error(code: str, message: str, node: Any = None) -> GraphQLError:
    """Return the request error of a refused operation."""
    return GraphQLError(message, node, extensions={"code": code})


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    """Return the document's fragment definitions by name."""
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def operations_of(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [definition for definition in document.definitions if isinstance(definition, OperationDefinitionNode)]


class _Fragments:
    """Measure each fragment once; a spread that closes a cycle measures 0 (validation refuses cycles)."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode], measure: Callable[[Any], Any], zero: Any):
        self.fragments = fragments
        self.measure = measure
        self.zero = zero
        self.memo: dict[str, Any] = {}
        self.visiting: set[str] = set()

    def __call__(self, spread: FragmentSpreadNode) -> Any:
        name = spread.name.value
        if name in self.memo:
            return self.memo[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self.visiting:
            return self.zero
        self.visiting.add(name)
        try:
            value = self.measure(fragment)
        finally:
            self.visiting.discard(name)
        self.memo[name] = value
        return value


def depth(operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]) -> int:
    """Return how many fields deep the operation nests, fragments expanded."""

    def of(selection_set: SelectionSetNode | None) -> int:
        deepest = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                deepest = max(deepest, 1 + of(selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, of(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, fragment(selection))
        return deepest

    fragment = _Fragments(fragments, lambda definition: of(definition.selection_set), 0)
    return of(operation.selection_set)


def aliases(operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]) -> int:
    """Return how many aliased fields the operation has, fragments expanded."""
    return _count_fields(operation, fragments, lambda field, of: (field.alias is not None) + of(field.selection_set))


def root_fields(operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]) -> int:
    """Return how many fields the operation selects at its root, fragments expanded (each mutation runs one)."""
    return _count_fields(operation, fragments, lambda _field, _of: 1)


def _count_fields(
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    per_field: Callable[[FieldNode, Callable[[SelectionSetNode | None], int]], int],
) -> int:
    """Sum `per_field(field, of)` over the fields of the operation's selection set, fragments expanded.

    `of(selection_set)` sums over a nested set: a field that counts its children calls it.
    """

    def of(selection_set: SelectionSetNode | None) -> int:
        count = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                count += per_field(selection, of)
            elif isinstance(selection, InlineFragmentNode):
                count += of(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                count += fragment(selection)
        return count

    fragment = _Fragments(fragments, lambda definition: of(definition.selection_set), 0)
    return of(operation.selection_set)


def repeated_fields(document: DocumentNode) -> tuple[int, Any]:
    """Return the most fields one selection set of `document` gives one response name, and that selection set.

    Inline fragments count as part of the set they are in (graphql-core merges them); each
    named fragment is its own set, counted once. graphql-core compares every pair of fields
    with the same response name, so this number squared is what its validation costs.
    """
    most, where = 0, None
    pending: list[SelectionSetNode] = [
        definition.selection_set
        for definition in document.definitions
        if isinstance(definition, (OperationDefinitionNode, FragmentDefinitionNode))
    ]
    while pending:
        selection_set = pending.pop()
        counts: dict[str, int] = {}
        merged = [selection_set]
        while merged:
            for selection in merged.pop().selections:
                if isinstance(selection, FieldNode):
                    name = (selection.alias or selection.name).value
                    counts[name] = counts.get(name, 0) + 1
                    if selection.selection_set:
                        pending.append(selection.selection_set)
                elif isinstance(selection, InlineFragmentNode):
                    merged.append(selection.selection_set)
        top = max(counts.values(), default=0)
        if top > most:
            most, where = top, selection_set
    return most, where


def check_document(document: DocumentNode, limits: Limits) -> list[GraphQLError]:
    """Return the errors of the operations in `document` that break a limit the document alone decides."""
    repeated, where = repeated_fields(document)
    if repeated > limits.max_repeated_fields:
        message = f"A selection set names one field {repeated} times; the limit is {limits.max_repeated_fields}."
        return [limit_error("TOO_MANY_REPEATED_FIELDS", message, where)]
    fragments = fragments_of(document)
    errors = []
    for operation in operations_of(document):
        try:
            measured = (
                ("QUERY_TOO_DEEP", depth(operation, fragments), limits.max_depth, "is nested {} levels deep"),
                ("TOO_MANY_ALIASES", aliases(operation, fragments), limits.max_aliases, "has {} aliases"),
                ("TOO_MANY_ROOT_FIELDS", root_fields(operation, fragments), limits.max_root_fields,
                 "selects {} root fields"),
            )
        except RecursionError:  # a chain of fragments longer than the interpreter's stack
            errors.append(limit_error("QUERY_TOO_DEEP", "The operation nests fragments too deeply.", operation))
            continue
        for code, value, limit, what in measured:
            if value > limit:
                message = f"The operation {what.format(value)}; the limit is {limit}."
                errors.append(limit_error(code, message, operation))
    return errors


class NoIntrospection(ASTValidationRule):
    """Refuse `__schema` and `__type` (not `__typename`, which clients need) with a code of its own."""

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(
                GraphQLError(
                    f"Introspection is off: {node.name.value} cannot be queried. "
                    "Fetch the schema from /graphql-schema or the graphql-schema command.",
                    node,
                    extensions={"code": "INTROSPECTION_DISABLED"},
                )
            )


def cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    page_size: int,
) -> int:
    """Return how many items `operation` may read with `variables`: its DynamoDB-aware cost."""
    arguments = _Arguments(operation, variables or {})
    kinds = _KINDS.get(schema)
    if kinds is None:
        _KINDS[schema] = kinds = {}

    def of(selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None) -> tuple[int, int]:
        """Return (cost paid once, cost paid per item of the page) of a selection set on `parent`."""
        once = per_item = 0
        in_connection = _is_connection_type(kinds, parent)
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                field_cost, is_list = field(selection, parent)
                if in_connection and is_list:
                    per_item += field_cost
                else:
                    once += field_cost
            else:
                if isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    child = schema.get_type(condition.name.value) if condition else parent
                    part = of(selection.selection_set, child)
                else:
                    part = fragment(selection)
                once, per_item = once + part[0], per_item + part[1]
        return once, per_item

    def field(node: FieldNode, parent: GraphQLNamedType | None) -> tuple[int, bool]:
        kind, named, ids = _field_kind(kinds, schema, parent, node.name.value)
        once, per_item = of(node.selection_set, named)
        if kind is _Kind.CONNECTION:
            return 1 + once + _page_items(node, arguments, page_size) * per_item, False
        if kind is _Kind.LIST_BY_IDS:
            return 1 + arguments.length(node, ids) * (once + per_item), True
        return 1 + once + per_item, kind is _Kind.LIST

    fragment = _Fragments(
        fragments_of(document),
        lambda definition: of(definition.selection_set, schema.get_type(definition.type_condition.name.value)),
        (0, 0),
    )
    root = _root_type(schema, operation.operation)
    return sum(of(operation.selection_set, root))


def _root_type(schema: GraphQLSchema, operation: OperationType) -> GraphQLObjectType | None:
    if operation is OperationType.QUERY:
        return schema.query_type
    if operation is OperationType.MUTATION:
        return schema.mutation_type
    return schema.subscription_type


class _Kind(Enum):
    FIELD = "field"
    LIST = "list"
    LIST_BY_IDS = "list by ids"  # nodes(ids:): a list field with a list argument
    CONNECTION = "connection"


# What the schema says of each field, by schema: the cost is computed on every request.
_KINDS: WeakKeyDictionary[GraphQLSchema, dict[tuple[str | None, str], Any]] = WeakKeyDictionary()


def _field_kind(
    kinds: dict[tuple[str | None, str], Any], schema: GraphQLSchema, parent: GraphQLNamedType | None, name: str
) -> tuple[_Kind, GraphQLNamedType | None, str | None]:
    """Return what the field `name` of `parent` is, its named type and its list argument's name."""
    key = (getattr(parent, "name", None), name)
    kind = kinds.get(key)
    if kind is None:
        kinds[key] = kind = _classify(kinds, schema, parent, name)
    return kind


def _classify(
    kinds: dict[tuple[str | None, str], Any], schema: GraphQLSchema, parent: GraphQLNamedType | None, name: str
) -> tuple[_Kind, GraphQLNamedType | None, str | None]:
    definition = _field_definition(schema, parent, name)
    if definition is None:  # validation reports it; count it like any field
        return _Kind.FIELD, None, None
    named = get_named_type(definition.type)
    if _is_connection_type(kinds, named) and ("first" in definition.args or "last" in definition.args):
        return _Kind.CONNECTION, named, None
    if isinstance(get_nullable_type(definition.type), GraphQLList):
        ids = next((arg_name for arg_name, arg in definition.args.items() if _is_list_argument(arg)), None)
        return (_Kind.LIST, named, None) if ids is None else (_Kind.LIST_BY_IDS, named, ids)
    return _Kind.FIELD, named, None


def _field_definition(schema: GraphQLSchema, parent: GraphQLNamedType | None, name: str) -> Any:
    if name == "__typename":
        return TypeNameMetaFieldDef
    if parent is schema.query_type and name in ("__schema", "__type"):
        return SchemaMetaFieldDef if name == "__schema" else TypeMetaFieldDef
    fields = getattr(parent, "fields", None)
    return fields.get(name) if fields else None


def _is_connection_type(kinds: dict[tuple[str | None, str], Any], named: Any) -> bool:
    """Say whether `named` is a Relay connection type: `edges` and `pageInfo`, as the Relay spec names them."""
    if not isinstance(named, GraphQLObjectType):
        return False
    key = (named.name, "")  # no field has an empty name: this slot holds the type's own answer
    answer = kinds.get(key)
    if answer is None:
        kinds[key] = answer = "edges" in named.fields and "pageInfo" in named.fields
    return answer


def _is_list_argument(argument: Any) -> bool:
    return isinstance(get_nullable_type(argument.type), GraphQLList)


class _Arguments:
    """Read literal and variable argument values of the operation's fields."""

    def __init__(self, operation: OperationDefinitionNode, variables: Mapping[str, Any]) -> None:
        self.variables = dict(variables)
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in self.variables and definition.default_value is not None:
                self.variables[name] = _literal(definition.default_value, {})

    def value(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return _literal(argument.value, self.variables)
        return None

    def length(self, node: FieldNode, name: str) -> int:
        value = self.value(node, name)
        return len(value) if isinstance(value, list) else 1


def _literal(node: ValueNode, variables: Mapping[str, Any]) -> Any:
    if isinstance(node, VariableNode):
        return variables.get(node.name.value)
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, ListValueNode):
        return [_literal(item, variables) for item in node.values]
    return None


def _page_items(node: FieldNode, arguments: _Arguments, page_size: int) -> int:
    """Return the items a connection page may hold: first/last clamped to the page size, else the page size."""
    asked = [value for value in (arguments.value(node, "first"), arguments.value(node, "last")) if type(value) is int]
    if not asked:
        return page_size
    return max(min(max(value, 0), page_size) for value in asked)
