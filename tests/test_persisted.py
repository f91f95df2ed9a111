"""Trusted documents: served by id, validated at startup, built by `persist-queries`, text refused when trusted-only."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from support import Auth

import config
from persisted import sha256_of

VIEWER = "query Viewer {\n  viewer {\n    totalCount\n  }\n}\n"
# 16 aliases: over GRAPHQL_MAX_ALIASES, yet a trusted document is the deployment's own and runs.
MANY = "query Many {\n  viewer {\n" + "".join(f"    a{n}: totalCount\n" for n in range(16)) + "  }\n}\n"
VIEWER_DATA = {"data": {"viewer": {"totalCount": 0}}}


@pytest.fixture
def persisted_file(tmp_path: Path) -> Path:
    path = tmp_path / "persisted.json"
    path.write_text(json.dumps({"viewer-1": VIEWER, "many-1": MANY}))
    return path


@pytest.fixture
def make_client(app: Any, settings: dict[str, Any], persisted_file: Path) -> Any:
    from app import create_app

    users = itertools.count()

    def make(**overrides: Any) -> Any:
        client = create_app({**settings, "PERSISTED_QUERIES_FILE": str(persisted_file), **overrides}).test_client()
        return client, Auth(client).token(f"user{next(users)}@example.com")

    return make


def send(client: Any, token: str, body: dict[str, Any]) -> Any:
    return client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize(
    "body",
    [
        {"doc_id": "viewer-1"},
        {"id": "viewer-1"},
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256_of(VIEWER)}}},
        {"doc_id": "viewer-1", "query": VIEWER},
        {"doc_id": "viewer-1", "operationName": "Viewer", "variables": {}},
    ],
    ids=["relay doc_id", "id", "apollo sha256Hash", "id and the same text", "with operationName"],
)
def test_persisted_documents_are_served_by_id(make_client: Any, body: dict[str, Any]) -> None:
    client, token = make_client()
    assert send(client, token, body).get_json() == VIEWER_DATA


def test_persisted_documents_are_served_over_get(make_client: Any) -> None:
    client, token = make_client()
    response = client.get("/graphql", query_string={"doc_id": "viewer-1"}, headers={"Authorization": f"Bearer {token}"})
    assert response.get_json() == VIEWER_DATA


def test_trusted_documents_skip_the_operation_limits(make_client: Any) -> None:
    client, token = make_client()
    assert send(client, token, {"doc_id": "many-1"}).get_json() == {
        "data": {"viewer": {f"a{n}": 0 for n in range(16)}}
    }
    assert send(client, token, {"query": MANY}).get_json()["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"


def test_unknown_hashes_sent_with_their_text_run_the_text(make_client: Any) -> None:
    """Apollo's automatic persisted queries resend the text after PERSISTED_QUERY_NOT_FOUND: it runs, within limits."""
    client, token = make_client()
    text = "{ viewer { completedCount } }"
    hashed = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256_of(text)}}}
    assert send(client, token, hashed).get_json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert send(client, token, {**hashed, "query": text}).get_json() == {"data": {"viewer": {"completedCount": 0}}}
    trusted, trusted_token = make_client(TRUSTED_DOCUMENTS_ONLY=True)
    refused = send(trusted, trusted_token, {**hashed, "query": text}).get_json()
    assert refused["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"doc_id": "nope"}, "PERSISTED_QUERY_NOT_FOUND"),
        ({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256_of("{ viewer { id } }")}}},
         "PERSISTED_QUERY_NOT_FOUND"),
        ({"doc_id": "viewer-1", "query": "{ viewer { id } }"}, "BAD_REQUEST"),
        ({"query": "{ viewer { id } }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "abc"}}},
         "BAD_REQUEST"),
        ({"doc_id": 5}, "BAD_REQUEST"),
        ({"doc_id": ""}, "BAD_REQUEST"),
        ({"extensions": {"persistedQuery": {"version": 1}}}, "BAD_REQUEST"),
        ({"extensions": {"persistedQuery": "abc"}}, "BAD_REQUEST"),
    ],
)
def test_unknown_or_malformed_ids_are_refused(make_client: Any, body: dict[str, Any], code: str) -> None:
    client, token = make_client()
    answer = send(client, token, body).get_json()
    assert (sorted(answer), answer["errors"][0]["extensions"]["code"]) == (["errors"], code)


def test_trusted_documents_only_refuses_text(make_client: Any) -> None:
    client, token = make_client(TRUSTED_DOCUMENTS_ONLY=True)
    assert send(client, token, {"doc_id": "viewer-1"}).get_json() == VIEWER_DATA
    for body in ({"query": VIEWER}, {"query": "{ __typename }"}):
        assert send(client, token, body).get_json() == {"errors": [{
            "message": "This server runs trusted documents only: send the document's id as doc_id, not its text.",
            "extensions": {"code": "PERSISTED_QUERY_REQUIRED"},
        }]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"good": VIEWER, "bad": "{ viewer { nope } }"},
         "document 'bad' does not validate: Cannot query field 'nope' on type 'User'."),
        ({"broken": "{ viewer "}, "document 'broken' does not validate: Syntax Error: Expected Name, found <EOF>."),
        ({"number": 5}, "document 'number' is not a string of GraphQL text."),
        (["a list"], "expected a JSON object of document id to document text."),
        ("not json", "not a JSON file"),
    ],
)
def test_a_bad_persisted_file_stops_the_start_naming_the_document(
    settings: dict[str, Any], tmp_path: Path, content: Any, message: str
) -> None:
    from app import create_app

    path = tmp_path / "persisted.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(config.ConfigError) as error:
        create_app({**settings, "PERSISTED_QUERIES_FILE": str(path)})
    assert str(error.value).startswith(f"PERSISTED_QUERIES_FILE {path}: ")
    assert message in str(error.value)


def test_trusted_documents_only_needs_a_file(settings: dict[str, Any]) -> None:
    with pytest.raises(config.ConfigError, match="TRUSTED_DOCUMENTS_ONLY needs PERSISTED_QUERIES_FILE"):
        config.load_settings({**settings, "TRUSTED_DOCUMENTS_ONLY": "true"}, dotenv=False)


# flask --app run persist-queries DIR --out FILE


def test_persist_queries_builds_the_map_from_graphql_files(runner: Any, tmp_path: Path, make_client: Any) -> None:
    sources = tmp_path / "src"
    (sources / "nested").mkdir(parents=True)
    (sources / "app.graphql").write_text("query App { viewer { ...Counts } }\nmutation Nothing { __typename }\n")
    (sources / "nested" / "fragments.graphql").write_text(
        "fragment Counts on User { totalCount ...Done }\nfragment Done on User { completedCount }\n"
    )
    out = tmp_path / "persisted.json"
    result = runner.invoke(args=["persist-queries", str(sources), "--out", str(out)])
    assert (result.exit_code, result.output) == (0, f"Wrote 2 documents from 2 files to {out}.\n")
    app_text = (
        "query App {\n  viewer {\n    ...Counts\n  }\n}\n\n"
        "fragment Counts on User {\n  totalCount\n  ...Done\n}\n\n"
        "fragment Done on User {\n  completedCount\n}\n"
    )
    nothing_text = "mutation Nothing {\n  __typename\n}\n"
    assert json.loads(out.read_text()) == {sha256_of(app_text): app_text, sha256_of(nothing_text): nothing_text}

    client, token = make_client(PERSISTED_QUERIES_FILE=str(out), TRUSTED_DOCUMENTS_ONLY=True)
    assert send(client, token, {"doc_id": sha256_of(app_text)}).get_json() == {
        "data": {"viewer": {"totalCount": 0, "completedCount": 0}}
    }


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.graphql": "{ viewer { id } }"}, "name every operation"),
        ({"a.graphql": "query A { viewer { nope } }"}, "operation A does not validate: Cannot query field 'nope'"),
        ({"a.graphql": "query A { viewer { ...F } }"}, "fragment F is spread but defined in no file."),
        ({"a.graphql": "query A { viewer { id } }", "b.graphql": "query A { viewer { id } }"},
         "operation A is defined twice."),
        ({"a.graphql": "query A { "}, "Syntax Error"),
        ({}, "No .graphql files under"),
    ],
)
def test_persist_queries_names_the_file_it_cannot_persist(
    runner: Any, tmp_path: Path, files: dict[str, str], message: str
) -> None:
    sources = tmp_path / "src"
    sources.mkdir()
    for name, text in files.items():
        (sources / name).write_text(text)
    out = tmp_path / "persisted.json"
    result = runner.invoke(args=["persist-queries", str(sources), "--out", str(out)])
    assert (result.exit_code, message in result.output, out.exists()) == (1, True, False), result.output
