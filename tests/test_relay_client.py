"""A real Relay client (relay-runtime + relay-compiler) runs its TodoMVC-style operations against the live server.

tests/relay_client/src holds the GraphQL documents; relay-compiler compiles them against
tests/snapshots/schema.graphql, and run.mjs drives relay-runtime's Environment with them: the
root query's @connection, the six mutations with @appendEdge/@deleteEdge, a node refetch and
loadNext-style paging, checking the store after every step.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support import ROOT, Auth, require_node, run_json_script, serve_wsgi

CLIENT_DIR = ROOT / "tests" / "relay_client"
SCHEMA = ROOT / "tests" / "snapshots" / "schema.graphql"
pytestmark = pytest.mark.slow

# The steps run.mjs reports, in order, when everything passes.
STEPS = [
    "root query",
    "addTodo @appendEdge",
    "markAllTodos complete",
    "markAllTodos active",
    "changeTodoStatus",
    "renameTodo",
    "node refetch",
    "removeTodo @deleteEdge",
    "removeCompletedTodos @deleteEdge",
    "root refetch matches the store",
    "addTodo @appendEdge for paging",
    "pagination loadNext",
]


@pytest.fixture
def node() -> str:
    return require_node(CLIENT_DIR, ("relay-runtime", "relay-compiler"))


def compile_client(node: str, out_dir: Path, **options: Any) -> Path:
    """Compile the client's documents with relay-compiler into `out_dir` and return the artifacts' directory.

    The config is the committed relay.config.json with its paths made absolute, the
    artifacts sent to `out_dir` (parallel runs never share or see stale artifacts), and
    `options` added (e.g. persistConfig).
    """
    config = json.loads((CLIENT_DIR / "relay.config.json").read_text())
    assert (CLIENT_DIR / config["schema"]).resolve() == SCHEMA, "relay.config.json must compile against the snapshot"
    out = out_dir / "__generated__"
    out.mkdir()
    config.update(src=str(CLIENT_DIR / config["src"]), schema=str(SCHEMA), artifactDirectory=str(out), **options)
    config_file = out_dir / "relay.config.json"
    config_file.write_text(json.dumps(config))
    compiler = subprocess.run(
        [node, str(CLIENT_DIR / "node_modules" / "relay-compiler" / "cli.js"), "--noWatchman", str(config_file)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd=out_dir,
    )
    assert compiler.returncode == 0, compiler.stdout + compiler.stderr
    assert (out / "TodoAppQuery.graphql.js").is_file(), compiler.stdout + compiler.stderr
    return out


@pytest.fixture
def artifacts(node: str, tmp_path: Path) -> Path:
    return compile_client(node, tmp_path)


def run_client(node: str, url: str, token: str, artifacts: Path) -> tuple[Any, Any]:
    """Run run.mjs against `url` with `token` and return the process and its JSON summary line."""
    return run_json_script([node, str(CLIENT_DIR / "run.mjs"), url, token, str(artifacts)])


def test_relay_client_runs_the_todomvc_operations(node: str, artifacts: Path, live_graphql_url: str, auth: Any) -> None:
    """Every step passes: the store that Relay keeps up to date matches what the server returns."""
    client, summary = run_client(node, live_graphql_url, auth.token(), artifacts)

    assert summary.get("ok") is True, client.stdout + client.stderr
    assert summary["steps"] == STEPS
    assert summary["todos"] == 6
    assert client.returncode == 0, client.stdout + client.stderr


def test_relay_client_fails_loudly(node: str, artifacts: Path, live_graphql_url: str) -> None:
    """The client exits 1 naming the failed step and the server's answer when the server refuses it."""
    client, summary = run_client(node, live_graphql_url, "not-a-token", artifacts)

    assert client.returncode == 1, client.stdout + client.stderr
    assert summary["ok"] is False
    assert summary["steps"] == []
    assert summary["failed"] == "root query"
    assert "HTTP 401" in summary["error"]


def test_relay_client_runs_from_trusted_documents(
    node: str, tmp_path: Path, app: Any, settings: dict[str, Any]
) -> None:
    """relay-compiler's persist output is the allow-list: Relay sends doc_id, and text is refused."""
    from app import create_app

    persisted = tmp_path / "persisted_queries.json"
    persisted.write_text("{}")  # relay-compiler fills an existing file
    artifacts = compile_client(node, tmp_path, persistConfig={"file": str(persisted), "algorithm": "MD5"})
    documents = json.loads(persisted.read_text())
    assert len(documents) == 9  # the root query, the node and pagination queries, six mutations
    trusted = create_app({**settings, "PERSISTED_QUERIES_FILE": str(persisted), "TRUSTED_DOCUMENTS_ONLY": True})
    token = Auth(trusted.test_client()).token()

    with serve_wsgi(trusted) as base_url:
        client, summary = run_client(node, f"{base_url}/graphql", token, artifacts)

    assert summary.get("ok") is True, client.stdout + client.stderr
    assert summary["steps"] == STEPS
    text = next(iter(documents.values()))
    refused = Auth(trusted.test_client()).graphql(text, token).get_json()
    assert refused == {"errors": [{
        "message": "This server runs trusted documents only: send the document's id as doc_id, not its text.",
        "extensions": {"code": "PERSISTED_QUERY_REQUIRED"},
    }]}
