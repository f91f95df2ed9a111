"""The action secret: every Action and Event call needs it; without it the endpoints do not exist."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from hasura_support import SECRET, SECRET_HEADER, Hasura, payload
from support import ROOT, TEST_SETTINGS

from config import ConfigError

UNAUTHENTICATED = {
    "message": f"Send the {SECRET_HEADER} header that Hasura is configured with.",
    "extensions": {"code": "UNAUTHENTICATED"},
}


@pytest.mark.parametrize("path", ["/hasura/actions", "/hasura/actions/login", "/hasura/events"])
@pytest.mark.parametrize(
    ("secret", "logged"),
    [
        (None, "with no X-Hasura-Action-Secret header"),
        ("", "with a wrong X-Hasura-Action-Secret header"),
        ("wrong-" + SECRET, "with a wrong X-Hasura-Action-Secret header"),
        (SECRET[:-1], "with a wrong X-Hasura-Action-Secret header"),
    ],
)
def test_a_missing_or_wrong_secret_is_401_and_logged_without_its_value(
    hasura: Hasura, caplog: Any, path: str, secret: str | None, logged: str
) -> None:
    response = hasura.post(path, payload("action_login"), secret=secret)
    assert (response.status_code, response.get_json()) == (401, UNAUTHENTICATED)
    assert [r.getMessage() for r in caplog.records if r.name == "hasura"] == [
        f"refused a call to {path} {logged} (from 127.0.0.1)"
    ]
    if secret:
        assert secret not in caplog.text


def test_the_right_secret_in_a_header_of_your_naming_is_let_through(settings: dict[str, Any], _tables: None) -> None:
    from app import create_app

    client = create_app({**settings, "HASURA_SECRET_HEADER": "X-Our-Secret"}).test_client()
    body = payload("action_login", input={"email": "nobody@example.com", "password": "whatever password"})
    assert client.post("/hasura/actions", json=body, headers={SECRET_HEADER: SECRET}).status_code == 401
    response = client.post("/hasura/actions", json=body, headers={"X-Our-Secret": SECRET})
    assert (response.status_code, response.get_json()["extensions"]) == (401, {"code": "INVALID_CREDENTIALS"})


@pytest.mark.parametrize("path", ["/hasura/actions", "/hasura/actions/login", "/hasura/events"])
@pytest.mark.parametrize(
    "changes",
    [{"APP_ENV": "development"}, {"APP_ENV": "production", "HASURA_CLAIMS": False}],
    ids=["development", "production"],
)
def test_without_the_secret_the_endpoints_are_404(
    settings: dict[str, Any], _tables: None, path: str, changes: dict[str, Any]
) -> None:
    """Fail closed: no secret, no endpoints, whatever the environment (production with claims does not start)."""
    from app import create_app

    app = create_app({**settings, **changes, "HASURA_ACTION_SECRET": None})
    response = app.test_client().post(path, json=payload("action_login"), headers={SECRET_HEADER: "anything"})
    assert (response.status_code, response.get_json()["code"]) == (404, "NOT_FOUND")


def test_production_refuses_to_start_with_hasura_claims_but_no_secret(settings: dict[str, Any]) -> None:
    from app import create_app

    with pytest.raises(ConfigError) as raised:
        create_app({**settings, "APP_ENV": "production", "HASURA_ACTION_SECRET": None})
    assert str(raised.value).startswith("HASURA_CLAIMS is on but HASURA_ACTION_SECRET is not set: production needs")
    assert "\n" not in str(raised.value)


def test_a_short_secret_is_refused(settings: dict[str, Any]) -> None:
    from app import create_app

    with pytest.raises(ConfigError, match="HASURA_ACTION_SECRET is only 6 characters long"):
        create_app({**settings, "HASURA_ACTION_SECRET": "secret"})


def test_an_app_without_hasura_settings_imports_none_of_it() -> None:
    """Cold starts of deployments without Hasura pay for no Hasura module, and HS256 ones for no signing."""
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from app import create_app; "
        f"create_app({dict(TEST_SETTINGS)!r}); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('hasura', 'signing')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(ROOT)], capture_output=True, text=True, timeout=60, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"
