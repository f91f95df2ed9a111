"""Fixtures: a session-wide embedded DynamoDB, fresh test tables for every test, a cursor secret."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pynamo_testapp import MODELS, TEST_SECRET

import graphene_pynamo
from graphene_pynamo import settings as gp_settings
from local_dynamodb import LocalDynamoDB  # on the path: tests/conftest.py (support.py) puts the root there


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
    """Create the test tables afresh; `store.operations` then holds only the test's calls.

    Only these tables: moto keeps one backend per process, which the app's tests share
    (they create their tables once per session), so emptying the whole store here would
    take their tables from under them when both run in one worker.
    """
    for model in MODELS:
        if model.exists():
            model.delete_table()
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
