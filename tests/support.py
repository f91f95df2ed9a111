"""Helpers shared by the tests (conftest.py holds the fixtures; modules import from here)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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
