"""Helpers of the Hasura tests (conftest.py holds the fixtures; test modules import from here)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "hasura-action-secret-for-tests-0123456789"
SECRET_HEADER = "X-Hasura-Action-Secret"


def payload(name: str, **changes: Any) -> dict[str, Any]:
    """Return Hasura's documented payload stored as fixtures/NAME.json, with top-level `changes`."""
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    return {**copy.deepcopy(data), **changes}


class Hasura:
    """Call the app the way Hasura does: JSON payloads with the action secret header."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def post(self, path: str, body: Any, secret: str | None = SECRET, **headers: str) -> Any:
        if secret is not None:
            headers[SECRET_HEADER] = secret
        return self.client.post(path, json=body, headers=headers)

    def action(self, body: dict[str, Any], *, name: str | None = None, **kwargs: Any) -> Any:
        return self.post(f"/hasura/actions/{name}" if name else "/hasura/actions", body, **kwargs)

    def event(self, body: Any, **kwargs: Any) -> Any:
        return self.post("/hasura/events", body, **kwargs)
