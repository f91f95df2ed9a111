"""The client's command line (`python client.py`) against the live app and the client-credentials stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from standins import CLIENT_ID, CLIENT_SECRET, IdentityProvider
from support import PASSWORD, ROOT, Live, serve_wsgi

from client_cli import main

ENV = {"GRAPHQL_PASSWORD": PASSWORD}


def run(capsys: Any, *argv: str, environ: dict[str, str] | None = None) -> tuple[int, Any, str]:
    """Run the command line in-process; return its exit status, its stdout as JSON (or text) and its stderr."""
    status = main(list(argv), environ=ENV if environ is None else environ)
    out, err = capsys.readouterr()
    try:
        return status, json.loads(out), err
    except ValueError:
        return status, out, err


def test_logs_in_and_prints_the_result(live: Live, capsys: Any) -> None:
    status, out, err = run(capsys, "{ viewer { email } }", "--url", live.graphql_url, "--email", "ada@example.com")
    assert (status, out, err) == (0, {"data": {"viewer": {"email": "ada@example.com"}}}, "")
    assert [path for path, _status in live.recorder.paths()] == ["/login", "/graphql"]


def test_reads_the_query_from_a_file_with_variables(live: Live, capsys: Any, tmp_path: Path) -> None:
    document = tmp_path / "add.graphql"
    document.write_text("mutation Add($input: AddTodoInput!) { addTodo(input: $input) { clientMutationId } }")
    status, out, _err = run(
        capsys, str(document), "--url", live.graphql_url, "--email", "ada@example.com",
        "--variables", '{"input": {"text": "from a file"}}', "--operation-name", "Add",
    )
    assert status == 1  # no userId in the input: the server says so
    assert out["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    from models import User

    todo = {"text": "from a file", "userId": User.find_by_email("ada@example.com").id, "clientMutationId": "m1"}
    status, out, err = run(
        capsys, str(document), "--url", live.graphql_url, "--email", "ada@example.com",
        "--var", f"input:={json.dumps(todo)}",
    )
    assert (status, out, err) == (0, {"data": {"addTodo": {"clientMutationId": "m1"}}}, "")


def test_graphql_errors_print_the_result_and_exit_1(live: Live, capsys: Any) -> None:
    status, out, err = run(capsys, "{ viewer { nope } }", "--url", live.graphql_url, "--email", "ada@example.com")
    assert (status, out["data"], [e["extensions"]["code"] for e in out["errors"]]) == (
        1, None, ["GRAPHQL_VALIDATION_FAILED"]
    )
    assert err.startswith("error: GRAPHQL_VALIDATION_FAILED: Cannot query field 'nope' on type 'User'.")
    assert err.count("\n") == 1


def test_a_refused_login_is_one_line_and_exit_1(live: Live, capsys: Any) -> None:
    environ = {"GRAPHQL_PASSWORD": "not the password"}
    status, out, err = run(
        capsys, "{ viewer { email } }", "--url", live.graphql_url, "--email", "ada@example.com", environ=environ
    )
    assert (status, out, err) == (
        1, "", "error: /login answered 401 (INVALID_CREDENTIALS: The email or password is incorrect.)\n"
    )


def test_client_credentials_and_a_token_from_the_environment(capsys: Any) -> None:
    identity = IdentityProvider()
    with serve_wsgi(identity) as base_url:
        status, out, _err = run(
            capsys, "{ token }", "--url", f"{base_url}/v1/graphql", "--token-url", f"{base_url}/oauth2/token",
            "--client-id", CLIENT_ID, "--scope", "todos/read", environ={"GRAPHQL_CLIENT_SECRET": CLIENT_SECRET},
        )
        assert (status, out) == (0, {"data": {"token": "token-1"}})
        status, out, _err = run(
            capsys, "{ token }", "--url", f"{base_url}/v1/graphql", environ={"GRAPHQL_TOKEN": "token-1"}
        )
        assert (status, out) == (0, {"data": {"token": "token-1"}})
    assert identity.token_forms == [{"grant_type": "client_credentials", "scope": "todos/read"}]


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        (["{ a }"], ENV, "the following arguments are required: --url"),
        (["{ a }", "--url", "http://x", "--email", "a@b.c", "--token", "t"], ENV,
         "argument --token: not allowed with argument --email"),
        (["{ a }", "--url", "http://x", "--var", "novalue"], ENV, "--var 'novalue': write NAME=VALUE, or NAME:=JSON"),
        (["{ a }", "--url", "http://x", "--var", "n:={"], ENV, "--var n:= is not valid JSON"),
        (["{ a }", "--url", "http://x", "--variables", "[1]"], ENV, "--variables must be a JSON object"),
        (["{ a }", "--url", "http://x", "--variables", "{"], ENV, "--variables is not valid JSON"),
        (["missing.graphql", "--url", "http://x"], ENV, "cannot read the query file missing.graphql"),
        (["{ a }", "--url", "http://x", "--client-id", "id"], ENV, "--client-id and --scope go with --token-url"),
        (["{ a }", "--url", "http://x", "--token-url", "http://t"], ENV, "--token-url needs --client-id"),
        (["{ a }", "--url", "http://x", "--email", "a@b.c"], {}, "set GRAPHQL_PASSWORD, or run in a terminal"),
        (["{ a }", "--url", "http://x", "--token-url", "http://t", "--client-id", "i"], {},
         "set GRAPHQL_CLIENT_SECRET, or run in a terminal"),
    ],
    ids=["no-url", "two-identities", "var-without-value", "var-bad-json", "variables-not-object",
         "variables-bad-json", "missing-file", "client-id-alone", "token-url-alone", "no-password", "no-secret"],
)
def test_usage_errors_exit_2_with_one_line(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, argv: list[str], environ: dict[str, str], message: str
) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    status, out, err = run(capsys, *argv, environ=environ)
    assert (status, out, err.count("\n")) == (2, "", 1)
    assert err.startswith(f"usage error: {message}")


def test_python_client_py_runs_with_the_password_from_the_environment(live: Live) -> None:
    """The real entry point: the password comes from GRAPHQL_PASSWORD, never from argv."""
    process = subprocess.run(
        [sys.executable, "client.py", "{ viewer { email } }", "--url", live.graphql_url, "--email", "ada@example.com"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, stdin=subprocess.DEVNULL,
        env={**os.environ, "GRAPHQL_PASSWORD": PASSWORD},
    )
    assert (process.returncode, json.loads(process.stdout), process.stderr) == (
        0, {"data": {"viewer": {"email": "ada@example.com"}}}, ""
    )


def test_var_sends_strings_and_wins_over_variables(live: Live, capsys: Any) -> None:
    status, out, _err = run(
        capsys, "query Q($id: String) { user(id: $id) { email } }", "--url", live.graphql_url,
        "--email", "ada@example.com", "--variables", '{"id": "someone else"}', "--var", "id=me",
    )
    assert (status, out) == (0, {"data": {"user": {"email": "ada@example.com"}}})
