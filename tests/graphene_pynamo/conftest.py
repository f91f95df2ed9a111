"""Fixtures: a session-wide embedded DynamoDB, fresh test tables for every test, a cursor secret."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pynamo_testapp import MODELS, TEST_SECRET  # noqa: E402

import graphene_pynamo  # noqa: E402
from graphene_pynamo import settings as gp_settings  # noqa: E402
from local_dynamodb import LocalDynamoDB  # noqa: E402


@pytest.fixture(scope="session")
def store() -> Iterator[LocalDynamoDB]:
    """Serve moto's DynamoDB on a free loopback port and point the test models at it."""
    local = LocalDynamoDB(port=0)
    url = local.start()
    for model in MODELS:
        model.Meta.host = url
        model.Meta.region = "us-east-1"
        model.Meta.aws_access_key_id = model.Meta.aws_secret_access_key = "local"
        model._connection = None
    yield local
    local.stop()


@pytest.fixture
def tables(store: LocalDynamoDB) -> LocalDynamoDB:
    """Create the test tables on an empty store; `store.operations` then holds only the test's calls."""
    store.reset()
    for model in MODELS:
        model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
    store.operations.clear()
    return store


@pytest.fixture(autouse=True)
def cursor_secret() -> Iterator[None]:
    """Sign cursors with a test secret and the default bounds; restore the settings afterwards."""
    saved = gp_settings.get_settings()
    graphene_pynamo.configure(cursor_secret=TEST_SECRET)
    yield
    gp_settings._settings = saved
