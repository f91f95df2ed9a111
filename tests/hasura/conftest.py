"""Fixtures: an app with the Hasura endpoints on (the secret set) and claims in its tokens."""

from __future__ import annotations

from typing import Any

import pytest
from hasura_support import SECRET, Hasura


@pytest.fixture
def settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The test app's settings, plus the Hasura secret and Hasura claims in access tokens."""
    return {**settings, "HASURA_ACTION_SECRET": SECRET, "HASURA_CLAIMS": True}


@pytest.fixture
def hasura(client: Any) -> Hasura:
    return Hasura(client)
