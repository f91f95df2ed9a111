"""Fixtures: one embedded DynamoDB per test session (over HTTP), empty tables for every test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_dynamodb import LocalDynamoDB  # noqa: E402

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


@pytest.fixture(scope="session")
def dynamodb() -> Iterator[LocalDynamoDB]:
    """Serve moto's DynamoDB on a free loopback port for the whole session."""
    store = LocalDynamoDB(port=0)
    store.start()
    yield store
    store.stop()


@pytest.fixture(scope="session")
def _tables(dynamodb: LocalDynamoDB) -> None:
    import config
    import models
    import tables

    models.configure(config.load_settings({**TEST_SETTINGS, "DYNAMODB_HOST": dynamodb.url}, dotenv=False))
    tables.create_tables()


def clear_tables() -> None:
    """Delete every item of every table (faster than dropping and creating the tables)."""
    import models

    for model in models.MODELS:
        items = list(model.scan(consistent_read=True))
        with model.batch_write() as batch:
            for item in items:
                batch.delete(item)


@pytest.fixture
def settings(dynamodb: LocalDynamoDB, tmp_path: Path) -> dict[str, Any]:
    """Return the settings of a test app: the session's store, a private DATA_DIR."""
    return {**TEST_SETTINGS, "DYNAMODB_HOST": dynamodb.url, "DATA_DIR": str(tmp_path / "data")}


@pytest.fixture
def app(settings: dict[str, Any], _tables: None, dynamodb: LocalDynamoDB) -> Any:
    """Return an app on empty tables; `dynamodb.operations` then counts only the test's requests."""
    from app import create_app

    application = create_app(settings)
    clear_tables()
    dynamodb.operations.clear()
    return application


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


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


@pytest.fixture
def auth(client: Any) -> Auth:
    return Auth(client)
