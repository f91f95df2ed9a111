"""Operation limits: each rule just under and just over, linear on fragment bombs, attacks refused before DynamoDB."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from graphql import parse
from support import Auth

import limits
from schema import schema

GRAPHQL = schema.graphql_schema


@pytest.fixture
def token(auth: Auth) -> str:
    return auth.token()


@pytest.fixture
def make_client(app: Any, settings: dict[str, Any]) -> Any:
    """Return a factory of test clients of apps with other settings, on the empty tables `app` left."""
    from app import create_app

    return lambda **overrides: create_app({**settings, **overrides}).test_client()


def post(client: Any, token: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    return client.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {token}"}
    )


def bomb(levels: int, on: str = "User", leaf: str = "id") -> str:
    """Return a document of `levels` fragments, each spreading the next twice: 2**levels leaves in a few KB."""
    fragments = [f"fragment F0 on {on} {{ {leaf} }}"]
    fragments += [f"fragment F{n} on {on} {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, levels + 1)]
    root = f"{{ ...F{levels} }}" if on == "Query" else f"{{ viewer {{ ...F{levels} }} }}"
    return root + "\n" + "\n".join(fragments)


def measure(query: str, variables: dict[str, Any] | None = None) -> dict[str, int]:
    document = parse(query)
    (operation,) = limits.operations_of(document)
    fragments = limits.fragments_of(document)
    return {
        "depth": limits.depth(operation, fragments),
        "aliases": limits.aliases(operation, fragments),
        "root_fields": limits.root_fields(operation, fragments),
        "repeated_fields": limits.repeated_fields(document)[0],
        "cost": limits.cost(GRAPHQL, document, operation, variables, 100),
    }


# The rules, measured.

EDGES = "edges { node { id } }"


@pytest.mark.parametrize(
    ("query", "variables", "cost"),
    [
        ("{ viewer { id } }", None, 2),
        ("{ __typename }", None, 1),
        (f"{{ viewer {{ todos {{ {EDGES} }} }} }}", None, 2 + 100 * 3),
        (f"{{ viewer {{ todos(first: 2147483647) {{ {EDGES} pageInfo {{ hasNextPage }} }} }} }}", None, 4 + 300),
        (f"{{ viewer {{ todos(first: 5) {{ {EDGES} }} }} }}", None, 2 + 15),
        (f"{{ viewer {{ todos(last: 3) {{ {EDGES} }} }} }}", None, 2 + 9),
        (f"{{ viewer {{ todos(first: 2, last: 4) {{ {EDGES} }} }} }}", None, 2 + 12),
        (f"{{ viewer {{ todos(first: -4) {{ {EDGES} }} }} }}", None, 2),
        (f"query($n: Int) {{ viewer {{ todos(first: $n) {{ {EDGES} }} }} }}", {"n": 7}, 2 + 21),
        (f"query($n: Int) {{ viewer {{ todos(first: $n) {{ {EDGES} }} }} }}", {}, 2 + 300),
        (f"query($n: Int = 4) {{ viewer {{ todos(first: $n) {{ {EDGES} }} }} }}", None, 2 + 12),
        ('{ nodes(ids: ["a", "b", "c"]) { id } }', None, 1 + 3),
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Todo { text } } }", {"ids": list("abcde")}, 1 + 10),
        ('{ node(id: "a") { id } }', None, 2),
        (f"{{ viewer {{ ...L }} }} fragment L on User {{ todos(first: 2) {{ {EDGES} }} }}", None, 2 + 6),
        (f"{{ viewer {{ todos(first: 2) {{ ...E }} }} }} fragment E on TodoConnection {{ {EDGES} }}", None, 2 + 6),
        (f"{{ viewer {{ todos(first: 2) {{ ... on TodoConnection {{ {EDGES} }} }} }} }}", None, 2 + 6),
        ("{ __schema { types { name fields { name } } } }", None, 5),
        ('mutation { addTodo(input: {text: "a", userId: "u"}) { todoEdge { node { id } } user { totalCount } } }',
         None, 6),
    ],
)
def test_cost_counts_the_items_an_operation_may_read(query: str, variables: Any, cost: int) -> None:
    assert measure(query, variables)["cost"] == cost


@pytest.mark.parametrize(
    ("query", "measured"),
    [
        ("{ viewer { id } }", {"depth": 2, "aliases": 0, "root_fields": 1, "repeated_fields": 1}),
        ("{ a: viewer { b: id } c: __typename }", {"depth": 2, "aliases": 3, "root_fields": 2, "repeated_fields": 1}),
        ("{ ...Q ...Q } fragment Q on Query { a: viewer { id } }",
         {"depth": 2, "aliases": 2, "root_fields": 2, "repeated_fields": 1}),
        ("{ ... on Query { viewer { ... on User { todos { edges { node { id } } } } } } }",
         {"depth": 5, "aliases": 0, "root_fields": 1, "repeated_fields": 1}),
        ("{ viewer { id id ... on User { id ... on User { id } } a: id b: completedCount } }",
         {"depth": 2, "aliases": 2, "root_fields": 1, "repeated_fields": 4}),
        ("{ viewer { ...F ...F } } fragment F on User { x: id x: totalCount x: id }",  # spreads are sets of their own
         {"depth": 2, "aliases": 3 * 2, "root_fields": 1, "repeated_fields": 3}),
        ("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",  # a cycle: validation refuses it
         {"depth": 0, "aliases": 0, "root_fields": 0, "repeated_fields": 0}),
    ],
)
def test_depth_aliases_and_root_fields_count_fragments_as_expanded(query: str, measured: dict[str, int]) -> None:
    result = measure(query)
    del result["cost"]
    assert result == measured


@pytest.mark.parametrize(
    ("rule", "on", "expected"),
    [
        ("depth", "User", 2),
        ("aliases", "User", 2**30),
        ("root_fields", "Query", 2**30),
        ("repeated_fields", "User", 1),
        ("cost", "User", 1 + 2**30),
    ],
)
def test_every_rule_is_linear_on_a_fragment_bomb(rule: str, on: str, expected: int) -> None:
    """30 levels expand to 2**30 fields; each rule measures every fragment once and finishes at once."""
    query = bomb(30, on, leaf="a: id" if rule == "aliases" else "__typename" if on == "Query" else "id")
    started = time.perf_counter()
    value = measure(query)[rule]
    elapsed = time.perf_counter() - started
    assert value == expected
    assert elapsed < 0.5, f"{rule} took {elapsed:.3f} s"


# Each limit just under and just over it, over HTTP with the default settings.


def fields(count: int, field: str = "id", alias: bool = False) -> str:
    return " ".join(f"a{n}: {field}" if alias else field for n in range(count))


UNDER_AND_OVER = [
    # (limit, settings, document at the limit, document one over it, code)
    ("size", {}, "{ __typename }" + " " * (16_384 - 14), "{ __typename }" + " " * (16_384 - 13), "QUERY_TOO_LARGE"),
    ("tokens", {"GRAPHQL_MAX_TOKENS": 13}, "{ viewer { id @skip(if: false) } }",  # 13 tokens; comments are free
     "# a comment\n{ viewer { id @skip(if: false) id } }", "TOO_MANY_TOKENS"),
    ("aliases", {}, f"{{ viewer {{ {fields(15, alias=True)} }} }}", f"{{ viewer {{ {fields(16, alias=True)} }} }}",
     "TOO_MANY_ALIASES"),
    ("root fields", {}, f"{{ {fields(10, '__typename', True)} }}", f"{{ {fields(11, '__typename', True)} }}",
     "TOO_MANY_ROOT_FIELDS"),
    ("repeated fields", {}, f"{{ viewer {{ {fields(9)} ... on User {{ id }} }} }}",
     f"{{ viewer {{ {fields(10)} ... on User {{ id }} }} }}", "TOO_MANY_REPEATED_FIELDS"),
    ("depth", {}, "{ __schema { types { fields { type" + " { ofType" * 15 + " { name }" + " }" * 19,
     "{ __schema { types { fields { type" + " { ofType" * 16 + " { name }" + " }" * 20, "QUERY_TOO_DEEP"),
    # viewer, then 16 connections of 100 items at 3 each: 1 + 16 * 301 = 4817; with a 17th, 5118.
    ("cost", {"GRAPHQL_MAX_ALIASES": 20}, f"{{ viewer {{ {fields(16, f'todos {{ {EDGES} }}', True)} }} }}",
     f"{{ viewer {{ {fields(17, f'todos {{ {EDGES} }}', True)} }} }}", "QUERY_TOO_COMPLEX"),
]


@pytest.mark.parametrize(
    ("limit", "overrides", "under", "over", "code"), UNDER_AND_OVER, ids=[row[0] for row in UNDER_AND_OVER]
)
def test_each_limit_lets_the_document_at_it_through_and_refuses_one_more(
    make_client: Any, limit: str, overrides: dict[str, Any], under: str, over: str, code: str
) -> None:
    client = make_client(**overrides)
    token = Auth(client).token()
    accepted = post(client, token, under).get_json()
    assert "errors" not in accepted, accepted
    refused = post(client, token, over).get_json()
    assert sorted(refused) == ["errors"]
    assert [error["extensions"]["code"] for error in refused["errors"]] == [code]


def test_a_refusal_names_the_measure_and_the_limit(client: Any, token: str) -> None:
    response = post(client, token, f"{{ viewer {{ {fields(16, alias=True)} }} }}")
    assert (response.status_code, response.get_json()) == (
        200,
        {"errors": [{
            "message": "The operation has 16 aliases; the limit is 15.",
            "locations": [{"line": 1, "column": 1}],
            "extensions": {"code": "TOO_MANY_ALIASES"},
        }]},
    )


def test_the_cost_limit_reads_variables(make_client: Any) -> None:
    client = make_client(GRAPHQL_MAX_ALIASES=20)
    token = Auth(client).token()
    query = f"query($n: Int) {{ viewer {{ {fields(17, f'todos(first: $n) {{ {EDGES} }}', True)} }} }}"
    accepted = post(client, token, query, {"n": 10}).get_json()
    assert accepted == {"data": {"viewer": {f"a{n}": {"edges": []} for n in range(17)}}}
    refused = post(client, token, query, {"n": 2147483647}).get_json()
    assert refused["errors"] == [{
        "message": "The operation may read 5118 items; the limit is 5000.",
        "locations": [{"line": 1, "column": 1}],
        "extensions": {"code": "QUERY_TOO_COMPLEX"},
    }]


def test_cost_is_reported_when_asked(make_client: Any) -> None:
    client = make_client(GRAPHQL_REPORT_COST=True)
    token = Auth(client).token()
    response = post(client, token, f"{{ viewer {{ todos(first: 10) {{ {EDGES} }} }} }}")
    assert response.get_json() == {
        "data": {"viewer": {"todos": {"edges": []}}},
        "extensions": {"cost": {"requested": 32, "limit": 5000}},
    }


# The attacks of issue 9, refused before any DynamoDB request (the token check's BatchGetItem aside).

TODOS_PAGE = f"todos(first: 100) {{ {EDGES} }}"
ADD_TODO = 'addTodo(input: {text: "x", userId: "me"}) { clientMutationId }'
MARK_ALL = 'markAllTodos(input: {complete: true, userId: "me"}) { clientMutationId }'
ATTACKS = [
    # (attack, document, status, codes): the first limit the document breaks answers.
    ("fragment bomb, 30 levels", bomb(30), 200, ["QUERY_TOO_COMPLEX"]),
    ("fragment bomb at the root", bomb(30, "Query", "__typename"), 200, ["TOO_MANY_ROOT_FIELDS"]),
    ("fragment bomb of aliases", bomb(30, leaf="a: id"), 200, ["TOO_MANY_ALIASES"]),
    ("20 aliased connections", f"{{ viewer {{ {fields(20, TODOS_PAGE, True)} }} }}", 200, ["TOO_MANY_ALIASES"]),
    ("500 aliased connections", f"{{ viewer {{ {fields(500, TODOS_PAGE, True)} }} }}", 200, ["QUERY_TOO_LARGE"]),
    ("1,200 aliased connections (46 KB)", f"{{ viewer {{ {fields(1200, TODOS_PAGE, True)} }} }}", 200,
     ["QUERY_TOO_LARGE"]),
    ("12 aliased addTodo", f"mutation {{ {fields(12, ADD_TODO, True)} }}", 200, ["TOO_MANY_ROOT_FIELDS"]),
    ("200 aliased addTodo", f"mutation {{ {fields(200, ADD_TODO, True)} }}", 200, ["TOO_MANY_TOKENS"]),
    ("50 aliased markAllTodos", f"mutation {{ {fields(50, MARK_ALL, True)} }}", 200,
     ["TOO_MANY_ALIASES", "TOO_MANY_ROOT_FIELDS"]),
    ("3,500 aliased viewers", f"{{ {fields(3500, 'viewer { id }', True)} }}", 413, ["PAYLOAD_TOO_LARGE"]),
    ("60 KB of repeated fields", f"{{ viewer {{ {'id ' * 20_000}}} }}", 200, ["QUERY_TOO_LARGE"]),
    ("15 KB of repeated fields", f"{{ viewer {{ {'id ' * 5_000}}} }}", 200, ["TOO_MANY_TOKENS"]),
    # 3 KB, within the token limit: graphql-core compares every pair of the 994 fields (0.6 s) unless refused.
    ("994 repeated fields", f"{{ viewer {{ {'id ' * 994}}} }}", 200, ["TOO_MANY_REPEATED_FIELDS"]),
]


@pytest.mark.parametrize(("attack", "query", "status", "codes"), ATTACKS, ids=[row[0] for row in ATTACKS])
def test_attacks_are_refused_before_any_dynamodb_request(
    client: Any, token: str, dynamodb: Any, attack: str, query: str, status: int, codes: list[str]
) -> None:
    dynamodb.operations.clear()
    started = time.perf_counter()
    for _ in range(2):  # the second time from the cache of refusals
        response = post(client, token, query)
    elapsed = time.perf_counter() - started
    body = response.get_json()
    assert (response.status_code, sorted(body), [error["extensions"]["code"] for error in body["errors"]]) == (
        status, ["errors"], codes
    )
    assert dynamodb.operations == ["BatchGetItem", "BatchGetItem"]  # the token checks, nothing else
    assert elapsed < 2, f"{attack}: {elapsed:.2f} s"
    assert len(json.dumps(body)) < 2000  # a short answer, not a 14 MB one
