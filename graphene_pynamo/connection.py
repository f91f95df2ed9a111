"""Relay connections paged by DynamoDB itself: `PynamoConnectionField`.

    class User(PynamoObjectType):
        class Meta:
            model = UserModel
            interfaces = (relay.Node,)

        todos = PynamoConnectionField(Todo, status=graphene.String(default_value="any"))

        def resolve_todos(user, info, status, **paging):
            complete = {"any": None, "active": False, "completed": True}[status]
            condition = None if complete is None else TodoModel.complete == complete
            return PynamoQuery(TodoModel, user.id, filter_condition=condition)

The resolver returns a `PynamoQuery` or `PynamoScan` (see `sources`), None for a null
connection, or a ready connection object; it receives the paging arguments too, and the
field does the paging. `PynamoConnectionField(Todo)` uses `Todo`'s connection type
(`TodoConnection`, made for Node types); a Connection subclass can be passed instead.

Paging follows the Relay Cursor Connections spec:
- `first`/`after` reads forward from `after` with `Limit` = first + 1 and `after` as
  ExclusiveStartKey: the extra item says whether `hasNextPage`. `last`/`before` reads
  backward from `before` with `ScanIndexForward` flipped, then restores list order; the
  extra item says whether `hasPreviousPage`. The other flag is false, as the spec allows.
  `first` with `before` (or `last` with `after`) stops at that cursor; with both `first`
  and `last`, the page is read forward and then cut to its last `last` edges.
- Page sizes are clamped to `max_page_size` (100 unless `configure` or the field says
  otherwise; no `first`/`last` means that many). Relay's `first: 2147483647` is a page
  of 100, never a DynamoDB Limit. Negative sizes are errors with code BAD_USER_INPUT.
- Without a filter a page reads at most first + 1 items. With a filter (DynamoDB applies
  FilterExpression after reading, and Limit counts items read, not items matched) the
  page reads on, doubling Limit, until it has first + 1 matches, the list ends, or it
  has read `max_items_read` items (1,000 by default; always at least first + 1). It then
  returns the matches it has, `hasNextPage` true, and an `endCursor` at the last position
  read, so the next page resumes there rather than reading the same items again.
- Every edge cursor and startCursor/endCursor can be sent back; cursors are signed and
  bound to their list (see `cursors`). Scan sources page forward only: `last` or
  `before` on them is a BAD_USER_INPUT error.

The connection object carries `read_stats` (a `ReadStats`: DynamoDB calls, items read,
items returned) and `source`; the same counts are added to `Loaders.stats` when the
context has loaders, so an app can report DynamoDB work per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from inspect import isclass
from typing import Any

from graphene import Field, NonNull
from graphene.relay import ConnectionField, PageInfo
from graphene.types.utils import get_type
from graphene.utils.thenables import maybe_thenable
from graphql import GraphQLError
from pynamodb.constants import BINARY, NUMBER

from .cursors import ListCursors, Position, encode_cursor
from .loaders import ReadStats, find_loaders
from .settings import get_settings
from .sources import PynamoQuery, PynamoScan
from .types import PynamoObjectType

BAD_USER_INPUT = "BAD_USER_INPUT"

Source = PynamoQuery | PynamoScan


def bad_user_input(message: str) -> GraphQLError:
    """Return the error a client gets for paging arguments we cannot serve."""
    return GraphQLError(message, extensions={"code": BAD_USER_INPUT})


@dataclass
class Page:
    """One page of a list: items in list order, their cursors, and the page info."""

    items: list[Any]
    cursors: list[str]
    has_previous_page: bool
    has_next_page: bool
    start_cursor: str | None
    end_cursor: str | None
    stats: ReadStats = field(default_factory=ReadStats)


def read_page(
    source: Source,
    *,
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
    max_page_size: int | None = None,
    max_items_read: int | None = None,
) -> Page:
    """Read the page of `source` that the Relay paging arguments select."""
    settings = get_settings()
    max_page_size = max_page_size or settings.max_page_size
    max_items_read = max_items_read or settings.max_items_read
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise bad_user_input(f"`{name}` must not be negative.")
    if not source.pages_backward and (last is not None or before is not None):
        raise bad_user_input(
            "This list is read by a DynamoDB Scan, which pages forward only: use first, after."
        )

    cursors_of_list = ListCursors(source.key_types, source.identity)
    after_position = None if after is None else cursors_of_list.decode(after)
    before_position = None if before is None else cursors_of_list.decode(before)
    forward = first is not None or last is None
    requested = first if forward else last
    size = max_page_size if requested is None else min(requested, max_page_size)
    start, bound = (after_position, before_position) if forward else (before_position, after_position)

    budget = max(max_items_read, size + 1)
    raw_items, resume, more, stats = _read(source, forward, start, bound, wanted=size + 1, budget=budget)
    raw_items = raw_items[:size]
    if not forward:
        raw_items.reverse()  # read backward from `before`; clients get list order
    cursors = [cursors_of_list.encode(raw) for raw in raw_items]
    resume_cursor = None if resume is None else cursors_of_list.encode(resume)

    has_previous_page, has_next_page = (False, more) if forward else (more, False)
    if forward and last is not None and len(raw_items) > min(last, max_page_size):
        keep = min(last, max_page_size)
        raw_items, cursors = raw_items[len(raw_items) - keep :], cursors[len(cursors) - keep :]
        has_previous_page = True
    start_cursor = cursors[0] if cursors else None
    end_cursor = cursors[-1] if cursors else None
    if resume_cursor is not None:  # the read bound stopped us: resume where reading stopped
        if forward:
            end_cursor = resume_cursor
        else:
            start_cursor = resume_cursor
    items = [source.model.from_raw_data(raw) for raw in raw_items]
    return Page(items, cursors, has_previous_page, has_next_page, start_cursor, end_cursor, stats)


def cursor_for(source: Source, item: Any) -> str:
    """Return the cursor of `item` on the list `source`, e.g. for the edge a mutation adds."""
    return encode_cursor(item.serialize(), source.key_types, source.identity)


def _read(
    source: Source, forward: bool, start: Position | None, bound: Position | None, wanted: int, budget: int
) -> tuple[list[dict[str, Any]], Position | None, bool, ReadStats]:
    """Read up to `wanted` raw items; return them, where to resume, whether more remain, and the stats."""
    stats = ReadStats()
    key_names, sort_key = list(source.key_types), source.sort_key
    ascending = forward == getattr(source, "scan_index_forward", True)

    def at_bound(raw: dict[str, Any]) -> bool:
        if bound is None:
            return False
        return _reached({name: raw[name] for name in key_names}, bound, sort_key, ascending)

    raw_items: list[dict[str, Any]] = []
    page_size = min(wanted, budget)
    pages = source.pages(forward=forward, start=start, page_size=page_size)
    while True:
        page = next(pages)
        stats.add(requests=1, items_read=page["ScannedCount"], items_returned=page["Count"])
        for raw in page.get("Items", ()):
            if at_bound(raw):
                return raw_items, None, False, stats
            raw_items.append(raw)
            if len(raw_items) == wanted:
                return raw_items, None, True, stats
        last_evaluated = page.get("LastEvaluatedKey")
        if last_evaluated is None:
            return raw_items, None, False, stats
        if stats.items_read >= budget:
            return raw_items, last_evaluated, True, stats
        # A page ends at Limit items read or at 1 MB. Unfiltered, one page of first + 1 does;
        # filtered, read on in growing pages: few round trips for sparse matches, little
        # over-reading for dense ones.
        page_size = min(budget - stats.items_read, max(wanted - len(raw_items), 2 * page_size))
        pages.page_size = page_size


def _reached(position: Position, bound: Position, sort_key: str | None, ascending: bool) -> bool:
    """Say whether `position` is the bound cursor's item or lies beyond it in reading order."""
    if position == bound:
        return True
    if sort_key is None:
        return False
    # Items sharing a sort key value (possible in an index) come in an order DynamoDB
    # keeps but does not define; up to the bound item itself they count as before it.
    value, limit = _sortable(position[sort_key]), _sortable(bound[sort_key])
    return value > limit if ascending else value < limit


def _sortable(typed_value: dict[str, Any]) -> Any:
    # DynamoDB orders strings by UTF-8 bytes (the same as by code points), numbers by value,
    # binary by unsigned bytes.
    ((kind, value),) = typed_value.items()
    if kind == NUMBER:
        return Decimal(value)
    if kind == BINARY:
        return bytes(value)
    return value


class PynamoConnectionField(ConnectionField):
    """A Relay connection field whose resolver returns a `PynamoQuery` or `PynamoScan`."""

    def __init__(
        self,
        type_: Any,
        *args: Any,
        max_page_size: int | None = None,
        max_items_read: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(type_, *args, **kwargs)
        self.max_page_size = max_page_size
        self.max_items_read = max_items_read

    @property
    def type(self) -> Any:
        """Return the connection type, taking a PynamoObjectType's own connection for it."""
        type_ = get_type(self._type)
        node = type_.of_type if isinstance(type_, NonNull) else type_
        if isclass(node) and issubclass(node, PynamoObjectType):
            connection = node._meta.connection
            if connection is None:
                raise TypeError(f"{node.__name__} has no connection: give it relay.Node or Meta.connection")
            return NonNull(connection) if isinstance(type_, NonNull) else connection
        return super().type

    def wrap_resolve(self, parent_resolver: Any) -> Any:
        """Page what the field's resolver returns."""
        resolver = Field.wrap_resolve(self, parent_resolver)
        connection_type = self.type
        if isinstance(connection_type, NonNull):
            connection_type = connection_type.of_type
        return partial(self._resolve, resolver, connection_type)

    def _resolve(self, resolver: Any, connection_type: Any, root: Any, info: Any, **args: Any) -> Any:
        on_resolved = partial(self._connection, connection_type, info, args)
        return maybe_thenable(resolver(root, info, **args), on_resolved)

    def _connection(self, connection_type: Any, info: Any, args: dict[str, Any], resolved: Any) -> Any:
        if resolved is None or isinstance(resolved, connection_type):
            return resolved
        if not isinstance(resolved, (PynamoQuery, PynamoScan)):
            raise TypeError(
                f"a connection resolver must return a PynamoQuery or PynamoScan, got {resolved!r}"
            )
        page = read_page(
            resolved,
            first=args.get("first"),
            last=args.get("last"),
            after=args.get("after"),
            before=args.get("before"),
            max_page_size=self.max_page_size,
            max_items_read=self.max_items_read,
        )
        loaders = find_loaders(info.context)
        if loaders is not None:
            loaders.stats.add(page.stats.requests, page.stats.items_read, page.stats.items_returned)
        edge_type = connection_type.Edge
        connection = connection_type(
            edges=[
                edge_type(node=item, cursor=cursor)
                for item, cursor in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo(
                has_previous_page=page.has_previous_page,
                has_next_page=page.has_next_page,
                start_cursor=page.start_cursor,
                end_cursor=page.end_cursor,
            ),
        )
        connection.read_stats = page.stats
        connection.source = resolved
        return connection
