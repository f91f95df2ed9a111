"""Relay connections paged by DynamoDB: the Cursor Connections spec, cursors, filters, read bounds."""

from __future__ import annotations

from typing import Any

import graphene
import pytest
from pynamo_testapp import (
    TEST_SECRET,
    Context,
    Todo,
    TodoModel,
    User,
    UserModel,
    add_todos,
    add_user,
    execute,
    sortable_id,
)

import graphene_pynamo
from graphene_pynamo import PynamoConnectionField, PynamoObjectType, PynamoQuery, ReadStats, Registry
from graphene_pynamo.connection import read_page
from graphene_pynamo.cursors import encode_cursor

TODOS = """
query ($user: String!, $first: Int, $after: String, $last: Int, $before: String, $status: String) {
  user(id: $user) {
    todos(first: $first, after: $after, last: $last, before: $before, status: $status) {
      edges { cursor node { text } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""


def todos_result(user: str = "ada", context: Any = None, **arguments: Any) -> Any:
    """Run the todos query with the arguments that are not None."""
    variables = {"user": user, **{name: value for name, value in arguments.items() if value is not None}}
    return execute(TODOS, variables, context)


def todos(user: str = "ada", **arguments: Any) -> dict[str, Any]:
    """Return one page of a user's todos, asserting it has no errors."""
    result = todos_result(user, **arguments)
    assert not result.errors, result.errors
    return result.data["user"]["todos"]


def cursor(n: int, user: str = "ada", status: str = "any") -> str:
    """Return the cursor of todo number `n` on a user's list of todos with `status`."""
    source = User.resolve_todos(UserModel(user), None, status)
    todo_id = sortable_id(n)
    todo = TodoModel(user, todo_id, text="", completed_id=todo_id if status == "completed" else None)
    raw = todo.serialize()
    return encode_cursor({name: raw[name] for name in source.key_types}, source.key_types, source.identity)


def edges(numbers: Any, user: str = "ada", status: str = "any") -> list[dict[str, Any]]:
    """Return the edges of the todos numbered `numbers`."""
    return [{"cursor": cursor(n, user, status), "node": {"text": f"todo {n}"}} for n in numbers]


def page(
    numbers: Any, *, more: bool = False, previous: bool = False, user: str = "ada", status: str = "any"
) -> dict[str, Any]:
    """Return the expected page of the todos numbered `numbers`."""
    numbers = list(numbers)
    return {
        "edges": edges(numbers, user, status),
        "pageInfo": {
            "hasNextPage": more,
            "hasPreviousPage": previous,
            "startCursor": cursor(numbers[0], user, status) if numbers else None,
            "endCursor": cursor(numbers[-1], user, status) if numbers else None,
        },
    }


def error_codes(result: Any) -> list[tuple[str, Any]]:
    """Return the message and code of each error of a result."""
    return [(error.message, error.extensions.get("code")) for error in result.errors or ()]


@pytest.fixture
def seven(tables: Any) -> None:
    """Ada has 7 todos, 0 to 6; Grace has 2, 7 and 8."""
    add_user("ada")
    add_user("grace")
    add_todos("ada", 7)
    add_todos("grace", 2, start=7)


def test_forward_paging_walks_the_list(seven):
    """Page forward with first/after; hasNextPage is false exactly on the last page."""
    first_page = todos(first=3)
    second_page = todos(first=3, after=first_page["pageInfo"]["endCursor"])
    last_page = todos(first=3, after=second_page["pageInfo"]["endCursor"])

    assert first_page == page(range(0, 3), more=True)
    assert second_page == page(range(3, 6), more=True)
    assert last_page == page([6])


def test_backward_paging_walks_the_list(seven):
    """Page backward with last/before, in list order; hasPreviousPage is false exactly on the first page."""
    last_page = todos(last=3)
    middle_page = todos(last=3, before=last_page["pageInfo"]["startCursor"])
    first_page = todos(last=3, before=middle_page["pageInfo"]["startCursor"])

    assert last_page == page(range(4, 7), previous=True)
    assert middle_page == page(range(1, 4), previous=True)
    assert first_page == page([0])


def test_every_cursor_can_be_sent_back(seven):
    """Continue from every edge cursor forward and backward."""
    whole = todos()
    assert whole == page(range(7))

    for n, edge in enumerate(whole["edges"]):
        assert todos(first=2, after=edge["cursor"])["edges"] == edges(range(n + 1, min(n + 3, 7)))
        assert todos(last=2, before=edge["cursor"])["edges"] == edges(range(max(n - 2, 0), n))


def test_first_and_last_cursors_bound_each_other(seven):
    """Serve the spec's combinations: after with before, and first with last."""
    assert todos(first=10, after=cursor(1), before=cursor(5)) == page([2, 3, 4])
    assert todos(first=2, after=cursor(1), before=cursor(5)) == page([2, 3], more=True)
    assert todos(last=10, after=cursor(1), before=cursor(5)) == page([2, 3, 4])
    assert todos(last=2, after=cursor(1), before=cursor(5)) == page([3, 4], previous=True)
    assert todos(first=4, last=2) == page([2, 3], more=True, previous=True)
    assert todos(first=2, last=4) == page([0, 1], more=True)


def test_empty_lists_have_an_empty_page(tables):
    """Answer a user without todos with no edges, no cursors and no further pages."""
    add_user("ada")

    assert todos(first=5) == page([])
    assert todos(last=5) == page([])
    assert todos(first=5, status="active") == page([], status="active")
    assert todos(last=5, status="completed") == page([], status="completed")


def test_has_next_page_is_exact_at_the_end_of_the_list(seven):
    """Say there is no next page when the page ends exactly with the list, and vice versa."""
    assert todos(first=7) == page(range(7))
    assert todos(first=6) == page(range(6), more=True)
    assert todos(last=7) == page(range(7))
    assert todos(last=6) == page(range(1, 7), previous=True)
    assert todos(first=3, after=cursor(3)) == page([4, 5, 6])
    assert todos(last=3, before=cursor(3)) == page([0, 1, 2])


def test_a_page_of_zero_says_whether_there_are_more(seven):
    """Return no edges for first: 0 or last: 0, with the flag in that direction still exact."""
    assert todos(first=0) == page([], more=True)
    assert todos(first=0, after=cursor(6)) == page([])
    assert todos(last=0) == page([], previous=True)


@pytest.fixture
def hundred_fifty(tables: Any) -> None:
    """Ada has 150 todos; the store's operations list starts empty."""
    add_user("ada")
    add_todos("ada", 150)
    tables.operations.clear()


@pytest.mark.parametrize(
    ("arguments", "numbers", "flags"),
    [
        ({"first": 2147483647}, range(0, 100), {"more": True}),
        ({"last": 2147483647}, range(50, 150), {"previous": True}),
        ({}, range(0, 100), {"more": True}),
        ({"first": 101, "after": 48}, range(49, 149), {"more": True}),
        ({"last": 120, "before": 120}, range(20, 120), {"previous": True}),
    ],
)
def test_page_sizes_are_clamped_to_the_maximum(tables, hundred_fifty, arguments, numbers, flags):
    """Serve at most 100 edges, reading 101 items with one Query, whatever the client asks for."""
    arguments = {
        name: cursor(value) if name in ("after", "before") else value for name, value in arguments.items()
    }
    context = Context()

    result = todos_result(context=context, **arguments)

    assert not result.errors
    assert result.data == {"user": {"todos": page(numbers, **flags)}}
    assert tables.operations == ["BatchGetItem", "Query"]
    assert context.loaders.stats == ReadStats(requests=2, items_read=1 + 101, items_returned=1 + 101)


@pytest.mark.parametrize("argument", ["first", "last"])
def test_negative_page_sizes_are_client_errors(seven, argument):
    """Reject a negative first or last with BAD_USER_INPUT."""
    result = todos_result(**{argument: -1})

    assert result.data == {"user": {"todos": None}}
    assert error_codes(result) == [(f"`{argument}` must not be negative.", "BAD_USER_INPUT")]


def tamper(cursor: str) -> list[str]:
    """Return ways a client might damage or forge `cursor`."""
    flipped = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
    zero_tag = "A" * 22 + cursor[22:]
    return [flipped, cursor[:-2], cursor + "AA", zero_tag, "abc", "", "é", "YXJyYXljb25uZWN0aW9uOjE="]


@pytest.mark.parametrize("argument", ["after", "before"])
@pytest.mark.parametrize("number", range(8))
def test_tampered_cursors_are_rejected(seven, argument, number):
    """Reject damaged and made-up cursors with INVALID_CURSOR."""
    bad = tamper(cursor(3))[number]

    result = todos_result(**{argument: bad})

    assert result.data == {"user": {"todos": None}}
    assert error_codes(result) == [("The cursor is not valid for this list.", "INVALID_CURSOR")]


@pytest.mark.parametrize(
    ("foreign_cursor", "user", "status"),
    [
        (lambda: cursor(7, user="grace"), "ada", "any"),
        (lambda: cursor(3), "grace", "any"),
        (lambda: cursor(3), "ada", "active"),
        (lambda: cursor(3, status="completed"), "ada", "any"),
    ],
    ids=["grace's cursor on ada's list", "ada's cursor on grace's list", "another filter", "another index"],
)
def test_cursors_from_other_lists_are_rejected(seven, foreign_cursor, user, status):
    """Reject a cursor on any list but the one it came from: another user's, filter or index."""
    result = todos_result(user, after=foreign_cursor(), status=status)

    assert error_codes(result) == [("The cursor is not valid for this list.", "INVALID_CURSOR")]


def test_cursors_signed_with_another_secret_are_rejected(seven):
    """Reject cursors signed with another secret (e.g. from another deployment)."""
    foreign = cursor(3)
    graphene_pynamo.configure(cursor_secret="another-secret-of-at-least-32-characters")

    assert error_codes(todos_result(after=foreign)) == [
        ("The cursor is not valid for this list.", "INVALID_CURSOR")
    ]
    assert todos(first=1, after=cursor(3)) == page([4], more=True)


@pytest.fixture
def mostly_done(tables: Any) -> None:
    """Ada has 20 todos; only 2, 9, 15 and 16 are active."""
    add_user("ada")
    add_todos("ada", 20, completed=set(range(20)) - {2, 9, 15, 16})


def test_filtered_pages_fill_up(mostly_done):
    """Read on past filtered-out items until the page has first items, then page on from there."""
    context = Context()
    first_page = todos_result(context=context, first=2, status="active").data["user"]["todos"]
    second_page = todos(first=2, after=first_page["pageInfo"]["endCursor"], status="active")

    assert first_page == page([2, 9], more=True, status="active")
    assert second_page == page([15, 16], status="active")
    # Limits 3, 6 and 12 read all 20 items; DynamoDB returned the 4 active ones (plus the user).
    assert context.loaders.stats == ReadStats(requests=1 + 3, items_read=1 + 20, items_returned=1 + 4)


def test_filtered_pages_stop_at_the_read_bound(mostly_done):
    """Stop reading at max_items_read and return what was found, with a cursor to read on from."""
    graphene_pynamo.configure(cursor_secret=TEST_SECRET, max_items_read=5)

    first_page = todos(first=2, status="active")
    pages, found, after = 1, [edge["node"]["text"] for edge in first_page["edges"]], first_page["pageInfo"]
    while after["hasNextPage"]:
        next_page = todos(first=2, after=after["endCursor"], status="active")
        pages, after = pages + 1, next_page["pageInfo"]
        found += [edge["node"]["text"] for edge in next_page["edges"]]

    # Items 0-4 read (the bound), item 2 is active; the next page resumes after item 4.
    assert first_page == {
        "edges": edges([2], status="active"),
        "pageInfo": {
            "hasNextPage": True,
            "hasPreviousPage": False,
            "startCursor": cursor(2, status="active"),
            "endCursor": cursor(4, status="active"),
        },
    }
    assert found == ["todo 2", "todo 9", "todo 15", "todo 16"]
    assert pages == 4  # 20 items, at most 5 read per page


def test_an_empty_filtered_page_can_still_be_resumed(mostly_done):
    """Return no edges but an endCursor when the read bound is hit before any match."""
    graphene_pynamo.configure(cursor_secret=TEST_SECRET, max_items_read=4)

    assert todos(first=2, after=cursor(2, status="active"), status="active") == {
        "edges": [],
        "pageInfo": {
            "hasNextPage": True,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": cursor(6, status="active"),
        },
    }


@pytest.mark.parametrize("first", [1, 5, 10])
@pytest.mark.parametrize("after", [None, 0, 25])
def test_pages_without_filter_read_first_plus_one_items(tables, first, after):
    """Read first + 1 items with one Query, wherever the page is in the list."""
    add_todos("ada", 40)
    source = PynamoQuery(TodoModel, "ada")
    tables.operations.clear()

    result = read_page(source, first=first, after=None if after is None else cursor(after))

    start = 0 if after is None else after + 1
    assert [todo.text for todo in result.items] == [f"todo {n}" for n in range(start, start + first)]
    assert result.stats == ReadStats(requests=1, items_read=first + 1, items_returned=first + 1)
    assert tables.operations == ["Query"]


def test_sparse_indexes_page_both_ways(tables):
    """Page a sparse index: read only the items in it, forward and backward."""
    add_user("ada")
    add_todos("ada", 10, completed={1, 4, 6, 9})
    context = Context()

    forward = todos_result(context=context, first=2, status="completed").data["user"]["todos"]
    rest = todos(first=2, after=forward["pageInfo"]["endCursor"], status="completed")
    backward = todos(last=3, status="completed")

    assert forward == page([1, 4], more=True, status="completed")
    assert rest == page([6, 9], status="completed")
    assert backward == page([4, 6, 9], previous=True, status="completed")
    assert context.loaders.stats == ReadStats(requests=2, items_read=1 + 3, items_returned=1 + 3)


def test_descending_lists_page_newest_first(seven):
    """Serve a list queried with scan_index_forward=False newest first, both ways."""
    newest_first = PynamoQuery(TodoModel, "ada", scan_index_forward=False)

    first_page = read_page(newest_first, first=2)
    second_page = read_page(newest_first, first=2, after=first_page.end_cursor)
    oldest = read_page(newest_first, last=2)

    assert [todo.text for todo in first_page.items] == ["todo 6", "todo 5"]
    assert [todo.text for todo in second_page.items] == ["todo 4", "todo 3"]
    assert [todo.text for todo in oldest.items] == ["todo 1", "todo 0"]
    assert (first_page.has_next_page, second_page.has_next_page, oldest.has_previous_page) == (
        True,
        True,
        True,
    )
    assert first_page.cursors[0] != cursor(6)  # a cursor of the oldest-first list is not valid here


USERS = """
query ($first: Int, $after: String, $last: Int, $before: String) {
  users(first: $first, after: $after, last: $last, before: $before) {
    edges { node { userId } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def test_scans_page_forward(tables):
    """Page a table Scan forward: every item once, then no next page."""
    for name in ("ada", "grace", "edsger", "barbara", "alan"):
        add_user(name)

    seen, after, pages = [], None, 0
    while True:
        result = execute(USERS, {"first": 2, "after": after})
        assert not result.errors
        connection = result.data["users"]
        seen += [edge["node"]["userId"] for edge in connection["edges"]]
        pages, after = pages + 1, connection["pageInfo"]["endCursor"]
        if not connection["pageInfo"]["hasNextPage"]:
            break

    assert sorted(seen) == ["ada", "alan", "barbara", "edsger", "grace"]
    assert pages == 3


@pytest.mark.parametrize("arguments", [{"last": 2}, {"first": 2, "before": "x"}])
def test_scans_refuse_to_page_backward(tables, arguments):
    """Reject last and before on a Scan with BAD_USER_INPUT: a Scan has no reverse order."""
    result = execute(USERS, arguments)

    assert result.data == {"users": None}
    assert error_codes(result) == [
        (
            "This list is read by a DynamoDB Scan, which pages forward only: use first, after.",
            "BAD_USER_INPUT",
        )
    ]


class TodoList(graphene.relay.Connection):
    """A connection type of the app's own, with a field of its own."""

    class Meta:
        node = Todo

    items_read = graphene.Int(required=True)

    @staticmethod
    def resolve_items_read(connection: Any, info: Any) -> int:
        return connection.read_stats.items_read


class ListQuery(graphene.ObjectType):
    todos = PynamoConnectionField(TodoList, user=graphene.String())
    no_todos = PynamoConnectionField(Todo)

    @staticmethod
    def resolve_todos(root: Any, info: Any, user: str | None = None, **paging: Any) -> Any:
        return None if user is None else PynamoQuery(TodoModel, user)

    @staticmethod
    def resolve_no_todos(root: Any, info: Any, **paging: Any) -> Any:
        return ["not", "a", "query"]


list_schema = graphene.Schema(query=ListQuery)


def test_connection_types_of_the_app_see_the_read_stats(seven):
    """Page into a Connection subclass of the app's, whose fields can read `read_stats`."""
    result = list_schema.execute('{ todos(user: "ada", first: 2) { itemsRead edges { node { text } } } }')

    assert not result.errors
    assert result.data == {
        "todos": {"itemsRead": 3, "edges": [{"node": {"text": "todo 0"}}, {"node": {"text": "todo 1"}}]}
    }


def test_resolvers_may_return_none_but_not_other_values(seven):
    """Answer null for a resolver's None, and fail for anything but a query description."""
    nothing = list_schema.execute("{ todos(first: 2) { edges { cursor } } }")
    wrong = list_schema.execute("{ noTodos { edges { cursor } } }")

    assert not nothing.errors and nothing.data == {"todos": None}
    assert wrong.data == {"noTodos": None}
    assert [error.message for error in wrong.errors] == [
        "a connection resolver must return a PynamoQuery or PynamoScan, got ['not', 'a', 'query']"
    ]


def test_types_without_a_connection_cannot_be_paged():
    """Refuse, when the schema is built, a connection field over a type with no connection type."""

    class Plain(PynamoObjectType):
        class Meta:
            model = TodoModel
            registry = Registry()

    class Query(graphene.ObjectType):
        plain = PynamoConnectionField(Plain)

    with pytest.raises(TypeError, match=r"Plain has no connection: give it relay\.Node or Meta\.connection$"):
        graphene.Schema(query=Query)
