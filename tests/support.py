"""Helpers shared by the tests (conftest.py holds the fixtures; modules import from here)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Cheap argon2 parameters keep the suite fast; tests of rehashing set their own.
TEST_SETTINGS: dict[str, Any] = {
    "APP_ENV": "test",
    "JWT_SECRET_KEY": "test-only-secret-that-is-long-enough-0123456789",
    "TABLE_PREFIX": "test_",
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 1024,
    "ARGON2_PARALLELISM": 1,
    "LOG_LEVEL": "WARNING",
    # Tests compare whole responses; the tests of cost reporting turn it on.
    "GRAPHQL_REPORT_COST": False,
}
PASSWORD = "correct horse battery"


def clear_tables() -> None:
    """Delete every item of every table (faster than dropping and creating the tables)."""
    import models

    for model in models.MODELS:
        items = list(model.scan(consistent_read=True))
        with model.batch_write() as batch:
            for item in items:
                batch.delete(item)


class Clock:
    """A clock that stands still until a test moves it: login delays and grace periods without sleeping."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Auth:
    """Sign up and log in through the HTTP endpoints."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def signup(self, email: str = "ada@example.com", password: str = PASSWORD, **names: str) -> dict[str, Any]:
        response = self.client.post(
            "/signup",
            json={"email": email, "password": password, "firstName": "Ada", "lastName": "Lovelace", **names},
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def token(self, email: str = "ada@example.com") -> str:
        """Sign up `email` and return an access token."""
        return self.signup(email)["access_token"]

    def graphql(
        self, query: str, token: str, variables: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> Any:
        return self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
        )


@contextmanager
def serve_wsgi(wsgi_app: Callable[..., Any]) -> Iterator[str]:
    """Serve `wsgi_app` on a free loopback port in a thread; yield its base URL, stop it after."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class Live:
    """The app served on a loopback port, with a recorder of the requests it served."""

    base_url: str
    recorder: Recorder

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    def password_auth(self, **options: Any) -> Any:
        from client import PasswordAuth

        return PasswordAuth(self.base_url, "ada@example.com", PASSWORD, **options)


class Recorder:
    """WSGI middleware that records (method, path, status, headers) of every request it serves."""

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self.wsgi_app = wsgi_app
        self.calls: list[tuple[str, str, int]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        headers = {name[5:].replace("_", "-").lower(): value for name, value in environ.items() if name[:5] == "HTTP_"}

        def recording_start_response(status: str, response_headers: Any, exc_info: Any = None) -> Any:
            with self._lock:
                self.calls.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], int(status[:3])))
                self.headers.append(headers)
            return start_response(status, response_headers, exc_info)

        return self.wsgi_app(environ, recording_start_response)

    def paths(self) -> list[tuple[str, int]]:
        """Return (path, status) of every request so far, in order."""
        with self._lock:
            return [(path, status) for _method, path, status in self.calls]

    def count(self, path: str, status: int | None = None) -> int:
        return sum(1 for seen, code in self.paths() if seen == path and (status is None or code == status))

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self.headers.clear()


def require_node(package_dir: Path, packages: tuple[str, ...]) -> str:
    """Return the node executable, or skip (fail on CI) when node or the npm packages are missing."""
    node = shutil.which("node")
    missing = [] if node else ["node is not installed"]
    if not all((package_dir / "node_modules" / name).is_dir() for name in packages):
        missing.append(f"{package_dir.relative_to(ROOT)}/node_modules is missing")
    if missing:
        import pytest

        reason = f"{' and '.join(missing)}: run `npm ci --prefix {package_dir.relative_to(ROOT)}`"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    assert node is not None
    return node


def run_json_script(command: list[str], timeout: float = 120) -> tuple[subprocess.CompletedProcess[str], Any]:
    """Run a script whose last line of output is a JSON summary; return the process and the summary."""
    process = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    lines = process.stdout.strip().splitlines()
    assert lines, f"{command[1]} printed nothing; stderr:\n{process.stderr}"
    return process, json.loads(lines[-1])
