"""The Todo domain over /graphql: what Relay's TodoMVC client sends, bad input, counters, batching."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from support import Auth

import graphene_pynamo as gp
import models
import schema

USER = "query($id: String) { user(id: $id) { id userId totalCount completedCount } }"
TODOS = """query($status: String, $first: Int, $after: String, $last: Int, $before: String) {
  user(id: "me") { todos(status: $status, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id text complete } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }"""
ADD = """mutation($input: AddTodoInput!) { addTodo(input: $input) {
  clientMutationId todoEdge { cursor node { id text complete } } user { id totalCount completedCount } } }"""
CHANGE = """mutation($input: ChangeTodoStatusInput!) { changeTodoStatus(input: $input) {
  clientMutationId todo { id complete } user { id totalCount completedCount } } }"""
MARK_ALL = """mutation($input: MarkAllTodosInput!) { markAllTodos(input: $input) {
  clientMutationId changedTodos { id complete } user { id totalCount completedCount } } }"""
REMOVE_COMPLETED = """mutation($input: RemoveCompletedTodosInput!) { removeCompletedTodos(input: $input) {
  clientMutationId deletedTodoIds user { id totalCount completedCount } } }"""
REMOVE = """mutation($input: RemoveTodoInput!) { removeTodo(input: $input) {
  clientMutationId deletedTodoId user { id totalCount completedCount } } }"""
RENAME = """mutation($input: RenameTodoInput!) { renameTodo(input: $input) { clientMutationId todo { id text } } }"""


class Session:
    """A signed-up user talking GraphQL."""

    def __init__(self, auth: Auth, email: str) -> None:
        signup = auth.signup(email)
        self.auth, self.token = auth, signup["access_token"]
        self.id, self.user_id = signup["user"]["id"], models.User.find_by_email(email).id

    def run(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.auth.graphql(query, self.token, variables).get_json()

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        result = self.run(query, variables)
        assert "errors" not in result, result
        return result["data"]

    def add(self, text: str) -> dict[str, Any]:
        return self.data(ADD, {"input": {"text": text, "userId": self.user_id}})["addTodo"]["todoEdge"]["node"]

    def todos(self, **paging: Any) -> dict[str, Any]:
        return self.data(TODOS, paging)["user"]["todos"]

    def texts(self, **paging: Any) -> list[str]:
        return [edge["node"]["text"] for edge in self.todos(**paging)["edges"]]

    def counts(self) -> dict[str, int]:
        user = self.data(USER, {"id": "me"})["user"]
        return {"totalCount": user["totalCount"], "completedCount": user["completedCount"]}


@pytest.fixture
def ada(auth: Auth) -> Session:
    return Session(auth, "ada@example.com")


@pytest.fixture
def grace(auth: Auth) -> Session:
    return Session(auth, "grace@example.com")


# Query.user and node


def test_user_answers_to_me_user_id_and_global_id_only(ada: Session, grace: Session) -> None:
    expected = {"user": {"id": ada.id, "userId": ada.user_id, "totalCount": 0, "completedCount": 0}}
    for name in ("me", ada.user_id, ada.id):
        assert ada.data(USER, {"id": name}) == expected
    for name in (grace.user_id, grace.id, "you", "", None):
        assert ada.data(USER, {"id": name}) == {"user": None}


def test_node_refetches_own_todos_only(ada: Session, grace: Session) -> None:
    todo = ada.add("Write the analytical engine's first program")
    query = "query($id: ID!) { node(id: $id) { id ... on Todo { text complete } } }"
    assert ada.data(query, {"id": todo["id"]}) == {"node": todo}
    assert grace.data(query, {"id": todo["id"]}) == {"node": None}


# The six mutations, as the TodoMVC client sends them


def test_add_todo_appends_an_edge_whose_cursor_continues_the_list(ada: Session) -> None:
    first = ada.add("one")
    result = ada.data(ADD, {"input": {"text": "  two  ", "userId": ada.user_id, "clientMutationId": "m1"}})["addTodo"]
    second = result["todoEdge"]["node"]
    assert result["clientMutationId"] == "m1"
    assert (second["text"], second["complete"]) == ("two", False)
    assert result["user"] == {"id": ada.id, "totalCount": 2, "completedCount": 0}
    ada.add("three")
    # @appendEdge puts the edge last: the list is oldest first, and its cursor pages on from there.
    assert ada.texts() == ["one", "two", "three"]
    assert ada.texts(first=10, after=result["todoEdge"]["cursor"]) == ["three"]
    assert ada.texts(last=10, before=result["todoEdge"]["cursor"]) == ["one"]
    assert ada.todos()["edges"][0]["node"] == first


def test_change_todo_status_and_the_status_filter(ada: Session) -> None:
    todos = [ada.add(text) for text in ("a", "b", "c")]
    result = ada.data(CHANGE, {"input": {"id": todos[1]["id"], "complete": True, "userId": ada.user_id}})
    assert result["changeTodoStatus"] == {
        "clientMutationId": None,
        "todo": {"id": todos[1]["id"], "complete": True},
        "user": {"id": ada.id, "totalCount": 3, "completedCount": 1},
    }
    assert (ada.texts(status="completed"), ada.texts(status="active"), ada.texts(status="any")) == (
        ["b"], ["a", "c"], ["a", "b", "c"]
    )
    again = ada.data(CHANGE, {"input": {"id": todos[1]["id"], "complete": True, "userId": ada.user_id}})
    assert again["changeTodoStatus"]["user"]["completedCount"] == 1  # no change, no double count


def test_mark_all_todos_changes_any_number_and_keeps_counts_exact(ada: Session) -> None:
    owner = ada.user_id
    for index in range(120):  # more than one transaction's worth
        models.Todo.add(owner, f"todo {index}")
    models.Todo.set_complete(owner, next(iter(models.Todo.query(owner))).id, True)
    result = ada.data(MARK_ALL, {"input": {"complete": True, "userId": owner, "clientMutationId": "all"}})
    payload = result["markAllTodos"]
    assert (len(payload["changedTodos"]), payload["user"]["completedCount"], payload["clientMutationId"]) == (
        119, 120, "all"
    )
    assert all(todo["complete"] for todo in payload["changedTodos"])
    back = ada.data(MARK_ALL, {"input": {"complete": False, "userId": owner}})["markAllTodos"]
    assert (len(back["changedTodos"]), back["user"]) == (120, {"id": ada.id, "totalCount": 120, "completedCount": 0})


def test_remove_completed_todos_returns_global_ids(ada: Session) -> None:
    todos = [ada.add(text) for text in ("a", "b", "c", "d")]
    for todo in (todos[0], todos[2]):
        ada.data(CHANGE, {"input": {"id": todo["id"], "complete": True, "userId": ada.user_id}})
    result = ada.data(REMOVE_COMPLETED, {"input": {"userId": ada.user_id, "clientMutationId": "rc"}})
    assert result["removeCompletedTodos"] == {
        "clientMutationId": "rc",
        "deletedTodoIds": [todos[0]["id"], todos[2]["id"]],
        "user": {"id": ada.id, "totalCount": 2, "completedCount": 0},
    }
    assert ada.texts() == ["b", "d"]


def test_remove_todo(ada: Session) -> None:
    todos = [ada.add(text) for text in ("a", "b")]
    ada.data(CHANGE, {"input": {"id": todos[0]["id"], "complete": True, "userId": ada.user_id}})
    result = ada.data(REMOVE, {"input": {"id": todos[0]["id"], "userId": ada.user_id}})
    assert result["removeTodo"] == {
        "clientMutationId": None,
        "deletedTodoId": todos[0]["id"],
        "user": {"id": ada.id, "totalCount": 1, "completedCount": 0},
    }
    assert ada.texts() == ["b"]


def test_rename_todo(ada: Session) -> None:
    todo = ada.add("draft")
    result = ada.data(RENAME, {"input": {"id": todo["id"], "text": " final ", "clientMutationId": "r"}})
    assert result == {"renameTodo": {"clientMutationId": "r", "todo": {"id": todo["id"], "text": "final"}}}


# Bad input: a clear code, and nothing changes


def _bad_mutations(ada: Session, grace: Session) -> dict[str, tuple[str, dict[str, Any], str]]:
    mine = ada.add("mine")["id"]
    theirs = grace.add("theirs")["id"]
    missing = gp.to_global_id(schema.Todo, ada.user_id, "01ARZ3NDEKTSV4RRFFQ69G5FAV")
    return {
        "add: empty text": (ADD, {"text": "", "userId": ada.user_id}, "VALIDATION_FAILED"),
        "add: blank text": (ADD, {"text": "   ", "userId": ada.user_id}, "VALIDATION_FAILED"),
        "add: 1001 characters": (ADD, {"text": "x" * 1001, "userId": ada.user_id}, "VALIDATION_FAILED"),
        "add: someone else's list": (ADD, {"text": "x", "userId": grace.user_id}, "NOT_FOUND"),
        "add: garbage user": (ADD, {"text": "x", "userId": "nobody"}, "NOT_FOUND"),
        "change: their todo": (CHANGE, {"id": theirs, "complete": True, "userId": ada.user_id}, "NOT_FOUND"),
        "change: missing todo": (CHANGE, {"id": missing, "complete": True, "userId": ada.user_id}, "NOT_FOUND"),
        "change: garbage id": (CHANGE, {"id": "garbage", "complete": True, "userId": ada.user_id}, "NOT_FOUND"),
        "change: a user id": (CHANGE, {"id": ada.id, "complete": True, "userId": ada.user_id}, "NOT_FOUND"),
        "change: their list": (CHANGE, {"id": mine, "complete": True, "userId": grace.user_id}, "NOT_FOUND"),
        "mark all: their list": (MARK_ALL, {"complete": True, "userId": grace.user_id}, "NOT_FOUND"),
        "remove completed: their list": (REMOVE_COMPLETED, {"userId": grace.user_id}, "NOT_FOUND"),
        "remove: their todo": (REMOVE, {"id": theirs, "userId": ada.user_id}, "NOT_FOUND"),
        "remove: missing todo": (REMOVE, {"id": missing, "userId": ada.user_id}, "NOT_FOUND"),
        "rename: their todo": (RENAME, {"id": theirs, "text": "mine now"}, "NOT_FOUND"),
        "rename: missing todo": (RENAME, {"id": missing, "text": "x"}, "NOT_FOUND"),
        "rename: empty text": (RENAME, {"id": mine, "text": " "}, "VALIDATION_FAILED"),
        "rename: 1001 characters": (RENAME, {"id": mine, "text": "y" * 1001}, "VALIDATION_FAILED"),
    }


BAD_MUTATIONS = [
    "add: empty text", "add: blank text", "add: 1001 characters", "add: someone else's list", "add: garbage user",
    "change: their todo", "change: missing todo", "change: garbage id", "change: a user id", "change: their list",
    "mark all: their list", "remove completed: their list", "remove: their todo", "remove: missing todo",
    "rename: their todo", "rename: missing todo", "rename: empty text", "rename: 1001 characters",
]


def _snapshot() -> list[tuple[Any, ...]]:
    todos = sorted((t.user_id, t.id, t.text, t.complete) for t in models.Todo.scan(consistent_read=True))
    users = sorted((u.id, u.todo_count, u.completed_count) for u in models.User.scan(consistent_read=True))
    return todos + users


@pytest.mark.parametrize("name", BAD_MUTATIONS)
def test_bad_mutations_get_a_code_and_change_nothing(ada: Session, grace: Session, name: str) -> None:
    query, mutation_input, code = _bad_mutations(ada, grace)[name]
    before = _snapshot()
    result = ada.run(query, {"input": mutation_input})
    field = next(iter(result["data"]))
    assert (result["data"], result["errors"][0]["extensions"]["code"], result["errors"][0]["path"]) == (
        {field: None}, code, [field]
    )
    assert _snapshot() == before


@pytest.mark.parametrize("mutation", ["add", "rename"])
def test_a_lone_surrogate_in_todo_text_is_refused_before_anything_runs(ada: Session, mutation: str) -> None:
    """JSON can spell half a UTF-16 pair; DynamoDB cannot store it. The body reader refuses the request."""
    mine = ada.add("mine")["id"]
    before = _snapshot()
    query, mutation_input = {
        "add": (ADD, {"text": "half \ud83d", "userId": ada.user_id}),
        "rename": (RENAME, {"id": mine, "text": "\udc00 half"}),
    }[mutation]
    response = ada.auth.graphql(query, ada.token, {"input": mutation_input})
    assert (response.status_code, response.get_json()) == (400, {"errors": [{
        "message": "The request body holds a lone surrogate escape (\\ud800-\\udfff).",
        "extensions": {"code": "BAD_ENCODING"},
    }]})
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"status": "done"}, "VALIDATION_FAILED"),
        ({"first": -1}, "BAD_USER_INPUT"),
        ({"after": "not-a-cursor"}, "INVALID_CURSOR"),
    ],
)
def test_bad_list_arguments_get_a_code(ada: Session, variables: dict[str, Any], code: str) -> None:
    ada.add("a")
    result = ada.run(TODOS, variables)
    assert (result["data"], result["errors"][0]["extensions"]["code"]) == ({"user": {"todos": None}}, code)


def test_a_cursor_from_one_users_list_is_refused_on_anothers(ada: Session, grace: Session) -> None:
    ada.add("a"), ada.add("b"), grace.add("c")
    cursor = ada.todos(first=1)["pageInfo"]["endCursor"]
    assert ada.texts(first=1, after=cursor) == ["b"]
    result = grace.run(TODOS, {"first": 1, "after": cursor})
    assert result["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


def test_relay_clients_huge_first_is_clamped(ada: Session) -> None:
    for index in range(105):
        models.Todo.add(ada.user_id, f"t{index:03}")
    page = ada.todos(first=2147483647)
    assert (len(page["edges"]), page["pageInfo"]["hasNextPage"]) == (100, True)
    rest = ada.todos(first=2147483647, after=page["pageInfo"]["endCursor"])
    assert ([edge["node"]["text"] for edge in rest["edges"]], rest["pageInfo"]["hasNextPage"]) == (
        [f"t{index:03}" for index in range(100, 105)], False
    )


# Counters under concurrency, and batching


def test_counters_stay_exact_under_concurrent_mutations(app: Any, ada: Session) -> None:
    """Eight clients add, toggle and remove at once; the counters equal a recount afterwards."""
    seeded = [models.Todo.add(ada.user_id, f"seed {index}") for index in range(8)]
    errors: list[Any] = []

    def work(worker: int) -> None:
        client = Auth(app.test_client())
        target = schema.todo_global_id(seeded[worker % 4])
        try:
            for round_ in range(3):
                client.graphql(ADD, ada.token, {"input": {"text": f"w{worker}r{round_}", "userId": ada.user_id}})
                client.graphql(
                    CHANGE, ada.token, {"input": {"id": target, "complete": round_ % 2 == 0, "userId": ada.user_id}}
                )
            if worker % 2:
                client.graphql(MARK_ALL, ada.token, {"input": {"complete": True, "userId": ada.user_id}})
            else:
                client.graphql(REMOVE_COMPLETED, ada.token, {"input": {"userId": ada.user_id}})
        except Exception as error:  # surfaced below; a thread cannot fail the test itself
            errors.append(error)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    todos = list(models.Todo.query(ada.user_id, consistent_read=True))
    recount = {"totalCount": len(todos), "completedCount": sum(1 for todo in todos if todo.complete)}
    assert ada.counts() == recount


def test_nodes_with_100_todo_ids_is_one_batch_get(ada: Session, dynamodb: Any) -> None:
    ids = [schema.todo_global_id(models.Todo.add(ada.user_id, f"t{index}")) for index in range(100)]
    dynamodb.operations.clear()
    result = ada.data("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids})
    assert result == {"nodes": [{"id": global_id} for global_id in ids]}
    # The edge reads the token's user and revocation in one BatchGetItem; the 100 nodes are one more.
    assert dynamodb.operations == ["BatchGetItem", "BatchGetItem"]


def test_a_page_reads_first_plus_one_items(ada: Session, dynamodb: Any) -> None:
    for index in range(30):
        models.Todo.add(ada.user_id, f"t{index}")
    dynamodb.operations.clear()
    page = ada.todos(first=10)
    assert (len(page["edges"]), page["pageInfo"]["hasNextPage"]) == (10, True)
    assert dynamodb.operations == ["BatchGetItem", "Query"]
