"""What a connection reads: one partition (`PynamoQuery`) or a whole table (`PynamoScan`).

A `PynamoConnectionField` resolver returns one of these; the field reads the page the
client asked for. Both mirror the arguments of PynamoDB's `Model.query` and `Model.scan`:

    PynamoQuery(TodoModel, user_id)                                     # a user's todos, oldest first
    PynamoQuery(TodoModel, user_id, filter_condition=TodoModel.complete == True)
    PynamoQuery(TodoModel, user_id, index=TodoModel.completed_index)    # a sparse index instead
    PynamoQuery(TodoModel, user_id, range_key_condition=TodoModel.id >= "01J")
    PynamoScan(UserModel)                                               # every user, in no useful order

A Query lists its partition in sort key order (`scan_index_forward=False` reverses the
list), so clients can page both ways. A Scan visits items in storage order, which has
no reverse: Scan sources page forward only (`first`/`after`).
"""

from __future__ import annotations

import json
from base64 import b64encode
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.indexes import Index
from pynamodb.pagination import PageIterator

from .ids import key_schema


class _Source:
    model: Any
    index: Index | None
    filter_condition: Condition | None
    consistent_read: bool
    pages_backward = True

    def _key_attributes(self) -> list[Any]:
        schema = key_schema(self.model)
        attributes = [schema.hash_attribute, schema.range_attribute]
        if self.index is not None:
            index_attributes = self.index.Meta.attributes.values()
            attributes += [next((a for a in index_attributes if a.is_hash_key), None)]
            attributes += [next((a for a in index_attributes if a.is_range_key), None)]
        return attributes

    @property
    def key_types(self) -> dict[str, str]:
        """Map the attributes of a position in this list (its ExclusiveStartKey) to their types."""
        return {attribute.attr_name: attribute.attr_type for attribute in self._key_attributes() if attribute}

    @property
    def index_name(self) -> str | None:
        """Return the name of the index this source reads, or None for the table."""
        return None if self.index is None else self.index.Meta.index_name


def _check_index(model: Any, index: Any) -> Index | None:
    if index is not None and not isinstance(index, Index):
        raise TypeError(
            f"index must be an index of {model.__name__}, like {model.__name__}.my_index; got {index!r}"
        )
    return index


def _condition_identity(condition: Condition | None) -> Any:
    if condition is None:
        return None
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    expression = condition.serialize(names, values)
    return [expression, names, values]


def _identity(*parts: Any) -> bytes:
    def binary(value: Any) -> str:
        if isinstance(value, bytes):
            return b64encode(value).decode("ascii")
        raise TypeError(f"cannot describe {value!r}")

    return json.dumps(parts, default=binary, sort_keys=True, separators=(",", ":")).encode()


class PynamoQuery(_Source):
    """List the items of one partition of `model` (or of `index`) with DynamoDB Query."""

    def __init__(
        self,
        model: Any,
        hash_key: Any,
        *,
        range_key_condition: Condition | None = None,
        filter_condition: Condition | None = None,
        index: Index | None = None,
        scan_index_forward: bool = True,
        consistent_read: bool = False,
    ) -> None:
        self.model = model
        self.hash_key = hash_key
        self.range_key_condition = range_key_condition
        self.filter_condition = filter_condition
        self.index = _check_index(model, index)
        self.scan_index_forward = scan_index_forward
        self.consistent_read = consistent_read

    @property
    def sort_key(self) -> str | None:
        """Return the name of the attribute the list is ordered by, if any."""
        attributes = self._key_attributes()
        sort_attribute = attributes[3] if self.index is not None else attributes[1]
        return None if sort_attribute is None else sort_attribute.attr_name

    @property
    def identity(self) -> bytes:
        """Describe this list, so cursors signed for it are valid on it only."""
        hash_attribute = self._key_attributes()[2 if self.index is not None else 0]
        hash_value = {hash_attribute.attr_type: hash_attribute.serialize(self.hash_key)}
        return _identity(
            "Query",
            self.model.__name__,
            self.model.Meta.table_name,
            self.index_name,
            hash_value,
            _condition_identity(self.range_key_condition),
            _condition_identity(self.filter_condition),
            self.scan_index_forward,
        )

    def pages(self, *, forward: bool, start: dict[str, Any] | None, page_size: int) -> PageIterator:
        """Return an iterator over raw Query pages in list order (`forward`) or reverse."""
        return self.model.query(
            self.hash_key,
            range_key_condition=self.range_key_condition,
            filter_condition=self.filter_condition,
            index_name=self.index_name,
            scan_index_forward=self.scan_index_forward if forward else not self.scan_index_forward,
            consistent_read=self.consistent_read,
            last_evaluated_key=start,
            page_size=page_size,
        ).page_iter


class PynamoScan(_Source):
    """List every item of `model` (or of `index`) with DynamoDB Scan; pages forward only."""

    pages_backward = False
    sort_key = None

    def __init__(
        self,
        model: Any,
        *,
        filter_condition: Condition | None = None,
        index: Index | None = None,
        consistent_read: bool = False,
    ) -> None:
        self.model = model
        self.filter_condition = filter_condition
        self.index = _check_index(model, index)
        self.consistent_read = consistent_read

    @property
    def identity(self) -> bytes:
        """Describe this list, so cursors signed for it are valid on it only."""
        return _identity(
            "Scan",
            self.model.__name__,
            self.model.Meta.table_name,
            self.index_name,
            _condition_identity(self.filter_condition),
        )

    def pages(self, *, forward: bool, start: dict[str, Any] | None, page_size: int) -> PageIterator:
        """Return an iterator over raw Scan pages."""
        return self.model.scan(
            filter_condition=self.filter_condition,
            index_name=self.index_name,
            consistent_read=self.consistent_read,
            last_evaluated_key=start,
            page_size=page_size,
        ).page_iter
