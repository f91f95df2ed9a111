"""Helpers shared by the tests (conftest.py holds the fixtures; modules import from here)."""

from __future__ import annotations

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
