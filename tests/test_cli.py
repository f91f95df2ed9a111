"""The `flask --app run` commands: create-tables, create-user, set-roles, export-data, import-data, graphql-schema."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from support import PASSWORD, ROOT, TEST_SETTINGS, clear_tables
from test_run import child_environment

import config
import models

NEW_USER_OPTIONS = ["--email", "me@example.com", "--first-name", "Me", "--last-name", "Myself"]


def all_items() -> dict[str, list[dict[str, Any]]]:
    """Return every item of every table, by table name without the prefix."""
    return {
        models.TABLE_NAMES[model]: [item.to_simple_dict() for item in model.scan(consistent_read=True)]
        for model in models.MODELS
    }


EMPTY = {name: [] for name in models.TABLE_NAMES.values()}


def closed_port() -> int:
    """Return a loopback port that nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def make_runner(settings: dict[str, Any]) -> Iterator[Callable[[dict[str, Any]], Any]]:
    """Return a factory of CLI runners for apps with other settings; the models are pointed back afterwards."""
    from app import create_app

    def make(overrides: dict[str, Any]) -> Any:
        return create_app({**settings, **overrides}).test_cli_runner()

    yield make
    models.configure(config.load_settings(settings, dotenv=False))


# create-tables


def test_create_tables_creates_only_missing_tables(make_runner: Callable[[dict[str, Any]], Any]) -> None:
    """create-tables creates every table under a new prefix once, then finds them all."""
    prefix = f"cli_{uuid4().hex[:8]}_"
    runner = make_runner({"TABLE_PREFIX": prefix})

    first = runner.invoke(args=["create-tables"])
    second = runner.invoke(args=["create-tables"])

    created = ", ".join(prefix + name for name in models.TABLE_NAMES.values())
    assert (first.exit_code, first.output) == (0, f"Created {created}.\n")
    assert (second.exit_code, second.output) == (0, "All tables exist.\n")


# create-user


def test_create_user_with_prompts_then_login(runner: Any, client: Any) -> None:
    """create-user asks for email, names and the password twice; the user can then log in over HTTP."""
    result = runner.invoke(args=["create-user"], input=f"me@example.com\nMe\nMyself\n{PASSWORD}\n{PASSWORD}\n")

    user = models.User.find_by_email("me@example.com")
    assert user is not None
    assert (result.exit_code, result.output) == (
        0,
        "Email: me@example.com\n"
        "First name []: Me\n"
        "Last name []: Myself\n"
        "Password: \n"
        "Repeat for confirmation: \n"
        f"Created user me@example.com ({user.id}).\n",
    )
    assert (user.email, user.first_name, user.last_name, user.roles) == ("me@example.com", "Me", "Myself", ["user"])
    assert user.password != PASSWORD and user.check_password(PASSWORD)
    login = client.post("/login", json={"email": "me@example.com", "password": PASSWORD})
    assert login.status_code == 200
    assert sorted(login.get_json()) == ["access_token", "expires_in", "refresh_token", "token_type"]


def test_create_user_with_options_and_roles(runner: Any) -> None:
    """create-user takes everything as options, --role repeated for several roles."""
    result = runner.invoke(
        args=["create-user", *NEW_USER_OPTIONS, "--password", PASSWORD, "--role", "admin", "--role", "user"]
    )

    user = models.User.find_by_email("me@example.com")
    assert user is not None
    assert (result.exit_code, result.output) == (0, f"Created user me@example.com ({user.id}).\n")
    assert (user.first_name, user.last_name, user.roles) == ("Me", "Myself", ["admin", "user"])


def test_create_user_with_a_taken_email_fails_in_one_line(runner: Any, auth: Any) -> None:
    """An email taken in another case and with spaces ends create-user with one clear line, no traceback."""
    auth.signup("me@example.com")
    before = all_items()

    result = runner.invoke(args=["create-user"], input=f"  ME@Example.com \nMe\nMyself\n{PASSWORD}\n{PASSWORD}\n")

    assert (result.exit_code, result.stderr) == (1, "Error: A user with email me@example.com already exists.\n")
    assert "Traceback" not in result.output
    assert all_items() == before


def test_set_roles_replaces_the_roles_in_the_order_given(runner: Any, auth: Any) -> None:
    """Roles are data on the user, set by an operator (Hasura claims list them: tests/hasura/test_claims.py)."""
    auth.signup("me@example.com")
    result = runner.invoke(args=["set-roles", " ME@example.com", "editor", "admin", "editor"])
    user = models.User.find_by_email("me@example.com")
    assert user is not None
    assert (result.exit_code, result.output) == (0, f"me@example.com ({user.id}) now has the roles: editor, admin.\n")
    assert user.roles == ["editor", "admin"]


@pytest.mark.parametrize(
    ("arguments", "status", "error"),
    [
        pytest.param(["nobody@example.com", "admin"], 1, "Error: No user has the email nobody@example.com.", id="who"),
        pytest.param(["me@example.com", "admin", " "], 1, "Error: A role must not be empty.", id="blank role"),
        pytest.param(["me@example.com"], 2, "Error: Missing argument 'ROLES...'.", id="no role"),
    ],
)
def test_set_roles_refuses_bad_input_and_changes_nothing(
    runner: Any, auth: Any, arguments: list[str], status: int, error: str
) -> None:
    auth.signup("me@example.com")
    before = all_items()
    result = runner.invoke(args=["set-roles", *arguments])
    assert (result.exit_code, result.stderr.strip().splitlines()[-1]) == (status, error)
    assert all_items() == before


@pytest.mark.parametrize(
    ("options", "error"),
    [
        pytest.param(["--password", "short"], "Password must be 8 to 1024 characters long.", id="password too short"),
        pytest.param(["--password", "x" * 1025], "Password must be 8 to 1024 characters long.", id="password too long"),
        pytest.param(
            ["--password", PASSWORD, "--email", "not-an-email"], "Email is not a valid address.", id="bad email"
        ),
        pytest.param(["--password", PASSWORD, "--email", "   "], "Email is not a valid address.", id="blank email"),
    ],
)
def test_create_user_rejects_bad_input(runner: Any, options: list[str], error: str) -> None:
    """Bad input ends create-user with one line on stderr, status 1, and no user."""
    result = runner.invoke(args=["create-user", *NEW_USER_OPTIONS, *options])

    assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"Error: {error}\n")
    assert all_items() == EMPTY


# export-data and import-data


@pytest.fixture
def some_data(auth: Any, client: Any, clock: Any) -> dict[str, list[dict[str, Any]]]:
    """Fill every table: two users (and their email claims), one revoked token, their two sessions
    and the signups' count for the client address (one window: the clock stands still)."""
    auth.signup("ada@example.com")
    grace = auth.signup("grace@example.com", firstName="Grace", lastName="Hopper")
    logout = client.post("/logout", headers={"Authorization": f"Bearer {grace['access_token']}"})
    assert logout.status_code == 200, logout.get_json()
    items = all_items()
    assert {table: len(rows) for table, rows in items.items()} == {
        **{name: 0 for name in models.TABLE_NAMES.values()},
        "users": 2,
        "user_emails": 2,
        "revoked_tokens": 1,
        "refresh_families": 2,
        "login_attempts": 1,
    }
    return items


def test_export_then_import_files_restores_everything(runner: Any, some_data: Any, tmp_path: Path) -> None:
    """export-data FILE, emptied tables, import-data FILE: every item is back, and exports the same again."""
    exported, again = tmp_path / "export.jsonl", tmp_path / "again.jsonl"

    export = runner.invoke(args=["export-data", str(exported)])
    clear_tables()
    assert all_items() == EMPTY
    load = runner.invoke(args=["import-data", str(exported)])
    export_again = runner.invoke(args=["export-data", str(again)])

    assert (export.exit_code, export.stdout, export.stderr) == (0, "", "Exported 8 items.\n")
    assert (load.exit_code, load.stdout, load.stderr) == (0, "", "Imported 8 items.\n")
    assert export_again.exit_code == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["again.jsonl", "export.jsonl"]  # no .partial left
    lines = exported.read_text().splitlines()
    assert len(lines) == 8
    assert set(again.read_text().splitlines()) == set(lines)
    assert all_items() == some_data


def test_export_then_import_through_stdout_and_stdin(runner: Any, some_data: Any) -> None:
    """export-data - writes JSON Lines to stdout (the count to stderr); import-data - reads them back."""
    export = runner.invoke(args=["export-data", "-"])
    clear_tables()
    load = runner.invoke(args=["import-data", "-"], input=export.stdout)
    export_again = runner.invoke(args=["export-data", "-"])

    assert (export.exit_code, export.stderr) == (0, "Exported 8 items.\n")
    assert (load.exit_code, load.stdout, load.stderr) == (0, "", "Imported 8 items.\n")
    assert sorted(json.loads(line)["table"] for line in export.stdout.splitlines()) == [
        "login_attempts",
        "refresh_families",
        "refresh_families",
        "revoked_tokens",
        "user_emails",
        "user_emails",
        "users",
        "users",
    ]
    assert set(export_again.stdout.splitlines()) == set(export.stdout.splitlines())
    assert all_items() == some_data


GOOD_LINE = json.dumps({"table": "user_emails", "item": {"email": {"S": "a@example.com"}, "user_id": {"S": "1"}}})


@pytest.mark.parametrize(
    ("bad_line", "mentioned"),
    [
        pytest.param("not json", "JSON", id="not JSON"),
        pytest.param('{"table": "nope", "item": {}}', "nope", id="unknown table"),
        pytest.param('{"table": "users", "item": {"email": {"S": "x@example.com"}}}', "'id'", id="item without key"),
        pytest.param('{"table": "users", "item": [1]}', "not an object", id="item not an object"),
        pytest.param('{"table": "users"}', "item", id="no item"),
        pytest.param('{"table": "users", "item": {"id": {"N": "1"}}}', "'id'", id="key of the wrong type"),
    ],
)
def test_import_of_a_bad_line_writes_nothing(runner: Any, tmp_path: Path, bad_line: str, mentioned: str) -> None:
    """A file with one bad line fails with one line that names it and what is wrong, and writes nothing."""
    path = tmp_path / "import.jsonl"
    path.write_text(f"{GOOD_LINE}\n\n{bad_line}\n{GOOD_LINE}\n")

    result = runner.invoke(args=["import-data", str(path)])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: Nothing was imported: line 3: "), result.stderr
    assert mentioned in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert all_items() == EMPTY


def test_import_of_a_missing_file_is_a_usage_error(runner: Any, tmp_path: Path) -> None:
    """import-data of a file that does not exist names it, with no traceback."""
    missing = tmp_path / "missing.jsonl"

    result = runner.invoke(args=["import-data", str(missing)])

    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines()[-1] == f"Error: Invalid value for 'FILE': '{missing}': No such file or directory"
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("overrides", "hint"),
    [
        pytest.param({"DYNAMODB_HOST": "http://127.0.0.1:{port}"}, "check DYNAMODB_HOST", id="DYNAMODB_HOST"),
        pytest.param(
            {"DYNAMODB_HOST": None, "DYNAMODB_PORT": "{port}"}, "start `python run.py` first", id="embedded store"
        ),
    ],
)
@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["create-tables"], id="create-tables"),
        pytest.param(["create-user", *NEW_USER_OPTIONS, "--password", PASSWORD], id="create-user"),
        pytest.param(["export-data", "-"], id="export-data"),
        pytest.param(["import-data", "-"], id="import-data"),
    ],
)
def test_unreachable_dynamodb_fails_in_one_line(
    make_runner: Callable[[dict[str, Any]], Any], overrides: dict[str, Any], hint: str, command: list[str]
) -> None:
    """With nothing listening at the endpoint, every data command says so in one line, with no traceback."""
    port = closed_port()
    runner = make_runner({name: value and value.format(port=port) for name, value in overrides.items()})

    result = runner.invoke(args=command, input=GOOD_LINE + "\n")

    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        f"Error: Cannot reach DynamoDB at http://127.0.0.1:{port}: {hint}.\n",
    )


@pytest.mark.parametrize(
    ("environment", "hint"),
    [
        pytest.param({"DYNAMODB_HOST": "http://127.0.0.1:{port}"}, "check DYNAMODB_HOST", id="DYNAMODB_HOST"),
        pytest.param({"DYNAMODB_PORT": "{port}"}, "start `python run.py` first", id="embedded store"),
    ],
)
def test_flask_cli_with_unreachable_dynamodb_fails_in_one_line(
    tmp_path: Path, environment: dict[str, str], hint: str
) -> None:
    """`flask --app run export-data -` in a shell, with nothing listening at the endpoint: one line, status 1."""
    port = closed_port()
    env = child_environment(
        APP_ENV="test",
        JWT_SECRET_KEY=TEST_SETTINGS["JWT_SECRET_KEY"],
        DATA_DIR=str(tmp_path / "data"),
        **{name: value.format(port=port) for name, value in environment.items()},
    )

    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "run", "export-data", "-"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        f"Error: Cannot reach DynamoDB at http://127.0.0.1:{port}: {hint}.\n",
    )


# graphql-schema


def test_graphql_schema_prints_the_sdl(runner: Any) -> None:
    """graphql-schema prints the SDL that relay-compiler reads."""
    from schema import sdl

    result = runner.invoke(args=["graphql-schema"])

    assert (result.exit_code, result.stdout, result.stderr) == (0, sdl(), "")


def test_graphql_schema_prints_introspection_json(runner: Any, client: Any) -> None:
    """graphql-schema --format json prints {"data": {"__schema": ...}}, what Relay's schema.json tooling reads."""
    from schema import introspection

    result = runner.invoke(args=["graphql-schema", "--format", "json"])

    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    assert list(printed) == ["data"] and list(printed["data"]) == ["__schema"]
    assert printed == introspection()
    assert printed == client.get("/graphql-schema").get_json()


@pytest.mark.parametrize("format_", ["sdl", "json"])
def test_graphql_schema_out_writes_a_file(runner: Any, tmp_path: Path, format_: str) -> None:
    """graphql-schema --out FILE writes what it would print to FILE and says so on stderr."""
    out = tmp_path / f"schema.{format_}"
    printed = runner.invoke(args=["graphql-schema", "--format", format_])

    result = runner.invoke(args=["graphql-schema", "--format", format_, "--out", str(out)])

    assert (result.exit_code, result.stdout, result.stderr) == (0, "", f"Wrote {out}.\n")
    assert out.read_text(encoding="utf-8") == printed.stdout


def test_graphql_schema_rejects_an_unknown_format(runner: Any) -> None:
    """graphql-schema --format xml is a usage error."""
    result = runner.invoke(args=["graphql-schema", "--format", "xml"])

    assert result.exit_code == 2
    assert "'xml' is not one of 'sdl', 'json'" in result.stderr
