"""Fixtures: one embedded DynamoDB per test session (over HTTP), empty tables for every test."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import TEST_SETTINGS, Auth, Clock, Live, Recorder, clear_tables, serve_wsgi

from local_dynamodb import LocalDynamoDB


@pytest.fixture(autouse=True)
def _root_logger() -> Iterator[None]:
    """Undo what a production app does to the root logger (JSON lines on stdout) after each test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


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
def live_graphql_url(app: Any) -> Iterator[str]:
    """Serve the app on a free loopback port in a thread and return its /graphql URL."""
    with serve_wsgi(app) as base_url:
        yield f"{base_url}/graphql"


@pytest.fixture
def live(app: Any, auth: Auth) -> Iterator[Live]:
    """Serve the app with ada@example.com signed up, recording every request from then on."""
    auth.signup()
    recorder = Recorder(app.wsgi_app)
    app.wsgi_app = recorder
    with serve_wsgi(app) as base_url:
        yield Live(base_url, recorder)


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def auth(client: Any) -> Auth:
    return Auth(client)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Stop the clock of login throttling and refresh-token rotation; `clock.advance(s)` moves it.

    It stops on a whole second (so a Retry-After is exactly a delay), a minute in the past:
    tokens are issued at its time but checked (by PyJWT) at the real time, so they stay
    valid while a test moves it up to a minute on.
    """
    import sessions
    import throttle

    stopped = Clock(float(int(time.time()) - 60))
    monkeypatch.setattr(throttle, "clock", stopped)
    monkeypatch.setattr(sessions, "clock", stopped)
    return stopped
