"""`python run.py` as a person runs it: the embedded store, the printed curl session, data across restarts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import ROOT

import config
import models

pytestmark = pytest.mark.slow

STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
EMAIL = "me@example.com"
PASSWORD = "yourpass"
VIEWER_QUERY = "{ viewer { id email firstName lastName } }"
TABLE_PREFIX = "runtest_"

# Never through a proxy: everything these tests send goes to 127.0.0.1.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_ports(count: int) -> list[int]:
    """Return `count` distinct loopback ports that nothing listens on right now."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def request_json(
    url: str, body: dict[str, Any] | None = None, token: str | None = None, timeout: float = 10
) -> tuple[int, Any]:
    """Send `body` as JSON (POST) or nothing (GET) and return the status and the decoded JSON body."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"null")


def child_environment(**settings: str) -> dict[str, str]:
    """Return this environment without any app setting, plus `settings`."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name not in config.SETTING_NAMES
        and not name.startswith("WERKZEUG_")
        and name not in ("AWS_LAMBDA_FUNCTION_NAME", "FLASK_APP", "FLASK_DEBUG")
    }
    return {**inherited, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", **settings}


class RunPy:
    """One `python run.py` process (and its reloader child), started in its own session."""

    def __init__(self, data_dir: Path, *, reload: bool = False, snapshot_interval: float = 0.5) -> None:
        self.data_dir = data_dir
        self.port, self.dynamodb_port = free_ports(2)
        self.env = child_environment(
            APP_ENV="development",
            DATA_DIR=str(data_dir),
            PORT=str(self.port),
            DYNAMODB_PORT=str(self.dynamodb_port),
            RELOAD="true" if reload else "false",
            TABLE_PREFIX=TABLE_PREFIX,
            ARGON2_TIME_COST="1",
            ARGON2_MEMORY_COST="1024",
            ARGON2_PARALLELISM="1",
            SNAPSHOT_INTERVAL=str(snapshot_interval),
            PYTHONUNBUFFERED="1",
        )
        self.log_path = data_dir.parent / f"run-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        """Return what the process printed so far (stdout and stderr)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def start(self) -> RunPy:
        """Start run.py and wait until its HTTP port answers."""
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "run.py"],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"run.py exited with status {self.process.returncode}:\n{self.output}")
            try:
                request_json(f"{self.base_url}/graphql-schema", timeout=2)
                return self
            except (OSError, ValueError):
                time.sleep(0.1)
        self.kill()
        pytest.fail(f"run.py did not answer on {self.base_url} within {STARTUP_TIMEOUT} s:\n{self.output}")

    def stop(self, signal_number: int = signal.SIGTERM, *, group: bool = False) -> int:
        """Send `signal_number` to the process (or its whole group) and return its exit status."""
        assert self.process is not None
        if group:
            os.killpg(self.process.pid, signal_number)
        else:
            os.kill(self.process.pid, signal_number)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"run.py did not exit within {STOP_TIMEOUT} s of signal {signal_number}:\n{self.output}")

    def kill(self) -> None:
        """End the process group for sure (teardown): SIGTERM, then SIGKILL."""
        if self.process is None:
            return
        for signal_number in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, signal_number)  # the group's id is the process's id
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
                break
            except subprocess.TimeoutExpired:
                continue
        self.process.wait()

    def signup(self, email: str = EMAIL, password: str = PASSWORD) -> dict[str, Any]:
        status, body = request_json(
            f"{self.base_url}/signup", {"email": email, "password": password, "firstName": "Me", "lastName": "Myself"}
        )
        assert status == 201, body
        return body

    def login(self, email: str = EMAIL, password: str = PASSWORD) -> dict[str, Any]:
        status, body = request_json(f"{self.base_url}/login", {"email": email, "password": password})
        assert status == 200, body
        return body

    def viewer(self, token: str) -> tuple[int, Any]:
        return request_json(f"{self.base_url}/graphql", {"query": VIEWER_QUERY}, token=token)


def expected_viewer(user_id: str) -> dict[str, Any]:
    return {
        "data": {"viewer": {"id": user_id, "email": EMAIL, "firstName": "Me", "lastName": "Myself"}},
        "extensions": {"cost": {"requested": 5, "limit": 5000}},  # development reports the cost
    }


def try_it_session(output: str) -> str:
    """Return the lines run.py prints between "Try it:" and the next blank line."""
    lines = output.splitlines()
    start = lines.index("Try it:") + 1
    end = lines.index("", start)
    return "\n".join(lines[start:end]) + "\n"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunPy]:
    """Run one run.py for the tests that only look at a running server."""
    run = RunPy(tmp_path_factory.mktemp("run") / "data")
    try:
        yield run.start()
    finally:
        run.kill()


def list_tables(endpoint: str) -> list[str]:
    """Return the table names DynamoDB at `endpoint` lists."""
    import botocore.session

    client = botocore.session.get_session().create_client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    try:
        return client.list_tables()["TableNames"]
    finally:
        client.close()


def test_starts_the_embedded_store_and_prints_the_urls(running: RunPy) -> None:
    """run.py serves DynamoDB on DYNAMODB_PORT with the tables created, and prints where everything is."""
    lines = running.output.splitlines()
    first = lines.index("Try it:")
    assert [line for line in lines[:first] if line] == [
        f"Embedded DynamoDB on http://127.0.0.1:{running.dynamodb_port}: "
        f"restored 0 items from {running.data_dir / 'dynamodb.jsonl'}.",
        f"GraphQL:        {running.base_url}/graphql   (GraphiQL in a browser)",
        f"Schema (SDL):   {running.base_url}/graphql-schema?format=sdl",
        f"DynamoDB:       http://127.0.0.1:{running.dynamodb_port}",
    ]
    assert sorted(list_tables(f"http://127.0.0.1:{running.dynamodb_port}")) == sorted(
        TABLE_PREFIX + name for name in models.TABLE_NAMES.values()
    )
    assert (running.data_dir / "jwt-secret").stat().st_mode & 0o777 == 0o600


def test_printed_curl_session_works_verbatim(running: RunPy) -> None:
    """The curl session under "Try it:" signs up, logs in and prints the viewer when pasted into bash."""
    session = try_it_session(running.output)
    pasted = subprocess.run(
        ["bash", "-e"],
        input=session,
        capture_output=True,
        text=True,
        timeout=60,
        env=child_environment(),
    )
    assert pasted.returncode == 0, pasted.stderr
    assert pasted.stderr == ""
    signup_line, viewer_line = pasted.stdout.splitlines()
    user_id = json.loads(signup_line)["user"]["id"]
    assert json.loads(viewer_line) == expected_viewer(user_id)


@pytest.mark.parametrize(
    ("signal_number", "group"),
    [
        pytest.param(signal.SIGTERM, False, id="SIGTERM to run.py"),
        pytest.param(signal.SIGINT, True, id="Ctrl-C (SIGINT to the process group)"),
    ],
)
def test_users_and_tokens_survive_a_restart(tmp_path: Path, signal_number: int, group: bool) -> None:
    """GIVEN a signed-up user WHEN run.py is stopped and started on the same DATA_DIR THEN the user logs in again."""
    data_dir = tmp_path / "data"
    first = RunPy(data_dir, snapshot_interval=3600)  # only the save at exit can keep the user
    try:
        first.start()
        signup = first.signup()
        assert first.stop(signal_number, group=group) == 0, first.output
    finally:
        first.kill()
    # The user, its email claim, its session and the signup's count for the client address.
    tables = sorted(record["table"] for record in snapshot_items(data_dir / "dynamodb.jsonl"))
    assert tables == ["login_attempts", "refresh_families", "user_emails", "users"]

    second = RunPy(data_dir)
    try:
        second.start()
        assert (
            f"Embedded DynamoDB on http://127.0.0.1:{second.dynamodb_port}: "
            f"restored 4 items from {data_dir / 'dynamodb.jsonl'}." in second.output.splitlines()
        )
        login = second.login()
        assert sorted(login) == ["access_token", "expires_in", "refresh_token", "token_type"]
        user_id = signup["user"]["id"]
        assert second.viewer(login["access_token"]) == (200, expected_viewer(user_id))
        # The development JWT secret is kept in DATA_DIR: tokens issued before the restart still work.
        assert second.viewer(signup["access_token"]) == (200, expected_viewer(user_id))
    finally:
        second.kill()


def snapshot_items(path: Path) -> list[dict[str, Any]]:
    """Return the item records of the snapshot at `path` (its first line is a header)."""
    header, *items = (json.loads(line) for line in path.read_text().splitlines())
    assert sorted(header) == ["snapshot"]
    return items


def snapshot_size(path: Path) -> int:
    """Return how many items the snapshot at `path` holds (0 if there is none yet)."""
    try:
        return len(snapshot_items(path))
    except FileNotFoundError:
        return 0


def test_periodic_snapshot_keeps_data_when_run_py_is_killed(tmp_path: Path) -> None:
    """GIVEN a write WHEN run.py is killed without warning after SNAPSHOT_INTERVAL THEN the write is not lost."""
    data_dir = tmp_path / "data"
    first = RunPy(data_dir)
    try:
        first.start()
        signup = first.signup()
        snapshot = data_dir / "dynamodb.jsonl"
        deadline = time.monotonic() + 10
        while snapshot_size(snapshot) < 4 and time.monotonic() < deadline:  # as in the test above
            time.sleep(0.1)
        assert snapshot_size(snapshot) == 4, first.output
        first.stop(signal.SIGKILL, group=True)
    finally:
        first.kill()

    second = RunPy(data_dir)
    try:
        second.start()
        login = second.login()
        assert second.viewer(login["access_token"]) == (200, expected_viewer(signup["user"]["id"]))
    finally:
        second.kill()


def test_serves_with_the_reloader(tmp_path: Path) -> None:
    """With RELOAD=true the reloader's child serves the app, and only the parent starts the store and prints."""
    run = RunPy(tmp_path / "data", reload=True)
    try:
        run.start()
        signup = run.signup()
        assert run.viewer(signup["access_token"]) == (200, expected_viewer(signup["user"]["id"]))
        assert run.output.count("Try it:") == 1
        assert run.output.count("Embedded DynamoDB on") == 1
        assert run.stop(signal.SIGTERM) == 0, run.output
    finally:
        run.kill()
    assert (tmp_path / "data" / "dynamodb.jsonl").exists()
