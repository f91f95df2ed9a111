"""Settings: layering, production's refusal of weak secrets, development secrets, parsing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import config
from config import ConfigError, load_settings


def settings(environ: dict[str, str], **overrides: Any) -> dict[str, Any]:
    return load_settings(overrides, environ=environ)


def test_defaults_then_environment_then_overrides() -> None:
    loaded = settings({"PORT": "6000", "HOST": "0.0.0.0"}, PORT=7000)
    assert (loaded["APP_ENV"], loaded["HOST"], loaded["PORT"], loaded["GRAPHIQL"]) == (
        "development", "0.0.0.0", 7000, True
    )


def test_lambda_implies_production_with_secure_defaults() -> None:
    loaded = settings({"AWS_LAMBDA_FUNCTION_NAME": "api"})
    assert (loaded["APP_ENV"], loaded["GRAPHIQL"], loaded["CORS_ORIGINS"], loaded["COOKIE_SECURE"]) == (
        "production", False, [], True
    )
    assert loaded["GRAPHQL_SCHEMA_ACCESS"] == "token"
    assert config.dynamodb_endpoint(loaded) is None  # AWS's own endpoint


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (None, "JWT_SECRET_KEY is not set: production needs a random secret of at least 32 characters"),
        ("", "JWT_SECRET_KEY is not set: production needs a random secret of at least 32 characters"),
        ("short-secret", "JWT_SECRET_KEY is only 12 characters long: production needs a random secret"),
    ],
)
def test_production_refuses_a_missing_or_weak_secret(secret: str | None, message: str) -> None:
    environ = {"APP_ENV": "production"} | ({"JWT_SECRET_KEY": secret} if secret is not None else {})
    with pytest.raises(ConfigError) as raised:
        config.jwt_secret(settings(environ))
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_production_accepts_a_strong_secret() -> None:
    secret = "s" * 32
    assert config.jwt_secret(settings({"APP_ENV": "production", "JWT_SECRET_KEY": secret})) == secret


def test_create_app_refuses_to_start_in_production_without_a_secret() -> None:
    from app import create_app

    with pytest.raises(ConfigError, match="JWT_SECRET_KEY is not set"):
        create_app({"APP_ENV": "production", "JWT_SECRET_KEY": ""})


def test_development_makes_a_secret_once_and_keeps_it(tmp_path: Path) -> None:
    loaded = settings({"DATA_DIR": str(tmp_path)})
    first = config.jwt_secret(loaded)
    assert len(first) >= 32 and config.jwt_secret(loaded) == first
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o777 == 0o600


def test_development_refuses_a_short_explicit_secret() -> None:
    with pytest.raises(ConfigError, match="at least 32 characters"):
        config.jwt_secret(settings({"JWT_SECRET_KEY": "short"}))


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"APP_ENV": "staging"}, "APP_ENV must be one of development, production, test"),
        ({"PORT": "http"}, "PORT: invalid literal for int()"),
        ({"GRAPHIQL": "maybe"}, "GRAPHIQL: expected true or false, got 'maybe'"),
        ({"GRAPHQL_SCHEMA_ACCESS": "public"}, "GRAPHQL_SCHEMA_ACCESS must be open, token or off"),
        ({"DYNAMODB_MAX_ATTEMPTS": "0"}, "DYNAMODB_MAX_ATTEMPTS must be at least 1"),
        ({"DYNAMODB_READ_TIMEOUT": "0"}, "DYNAMODB_CONNECT_TIMEOUT and DYNAMODB_READ_TIMEOUT must be positive"),
        ({"DYNAMODB_CONNECT_TIMEOUT": "soon"}, "DYNAMODB_CONNECT_TIMEOUT: could not convert string to float"),
        ({"PASSWORD_HASH_CONCURRENCY": "0"}, "PASSWORD_HASH_CONCURRENCY must be at least 1"),
        ({"THROTTLE_MAX_DELAY": "0"}, "THROTTLE_MAX_DELAY must be at least 1"),
        ({"THROTTLE_ADDRESS_WINDOW": "-5"}, "THROTTLE_ADDRESS_WINDOW must be at least 1"),
        ({"THROTTLE_ADDRESS_LIMIT": "-1"}, "THROTTLE_ADDRESS_LIMIT must not be negative (0 turns it off)"),
        ({"REFRESH_REUSE_GRACE": "-1"}, "REFRESH_REUSE_GRACE must not be negative (0 turns it off)"),
        ({"REFRESH_REUSE_GRACE": "ten"}, "REFRESH_REUSE_GRACE: invalid literal for int()"),
    ],
)
def test_invalid_settings_name_the_setting(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(environ)
    assert str(raised.value).startswith(message)


def test_login_protection_defaults() -> None:
    """A short reuse grace, a 15-minute cap on login delays, two argon2 computations at once."""
    loaded = settings({"APP_ENV": "production"})
    assert {name: loaded[name] for name in (
        "PASSWORD_HASH_CONCURRENCY", "THROTTLE_MAX_DELAY", "THROTTLE_ADDRESS_LIMIT", "THROTTLE_ADDRESS_WINDOW",
        "REFRESH_REUSE_GRACE",
    )} == {
        "PASSWORD_HASH_CONCURRENCY": 2, "THROTTLE_MAX_DELAY": 900, "THROTTLE_ADDRESS_LIMIT": 100,
        "THROTTLE_ADDRESS_WINDOW": 300, "REFRESH_REUSE_GRACE": 10,
    }


@pytest.mark.parametrize(
    ("value", "parsed"),
    [("https://a.example, https://b.example", ["https://a.example", "https://b.example"]), ("", [])],
)
def test_cors_origins_are_a_comma_separated_list(value: str, parsed: list[str]) -> None:
    assert settings({"APP_ENV": "production", "CORS_ORIGINS": value})["CORS_ORIGINS"] == parsed


@pytest.mark.parametrize(
    ("host", "loopback"),
    [(None, True), ("http://localhost:8000", True), ("http://127.0.0.1:4566", True),
     ("https://dynamodb.eu-west-1.amazonaws.com", False)],
)
def test_local_endpoints_get_local_credentials(host: str | None, loopback: bool) -> None:
    environ = {"DYNAMODB_HOST": host} if host else {}
    assert config.is_loopback_endpoint(settings(environ)) is loopback


def test_dotenv_is_read_without_overriding_the_environment(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / ".env").write_text("PORT=6123\nHOST=10.0.0.1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOST", "127.0.0.2")
    monkeypatch.delenv("PORT", raising=False)
    loaded = load_settings()
    assert (loaded["PORT"], loaded["HOST"]) == (6123, "127.0.0.2")
    monkeypatch.delenv("PORT", raising=False)  # load_dotenv set it in os.environ


@pytest.mark.parametrize(
    "name", ["GRAPHQL_MAX_TOKENS", "GRAPHQL_MAX_ALIASES", "GRAPHQL_MAX_ROOT_FIELDS", "GRAPHQL_MAX_REPEATED_FIELDS",
             "GRAPHQL_MAX_COST",
             "GRAPHQL_MAX_DOCUMENT_SIZE", "GRAPHQL_TIMEOUT"],
)
@pytest.mark.parametrize("value", ["0", "-1"])
def test_limits_must_be_positive(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"{name} must be positive"):
        settings({name: value})


def test_limits_are_on_in_production_and_introspection_off() -> None:
    production = settings({"APP_ENV": "production"})
    assert {name: production[name] for name in (
        "GRAPHQL_MAX_DOCUMENT_SIZE", "GRAPHQL_MAX_TOKENS", "GRAPHQL_MAX_DEPTH", "GRAPHQL_MAX_ALIASES",
        "GRAPHQL_MAX_ROOT_FIELDS", "GRAPHQL_MAX_REPEATED_FIELDS", "GRAPHQL_MAX_COST", "GRAPHQL_TIMEOUT",
        "GRAPHQL_INTROSPECTION",
        "GRAPHQL_REPORT_COST", "PERSISTED_QUERIES_FILE", "TRUSTED_DOCUMENTS_ONLY",
    )} == {
        "GRAPHQL_MAX_DOCUMENT_SIZE": 16384, "GRAPHQL_MAX_TOKENS": 1000, "GRAPHQL_MAX_DEPTH": 20,
        "GRAPHQL_MAX_ALIASES": 15, "GRAPHQL_MAX_ROOT_FIELDS": 10, "GRAPHQL_MAX_REPEATED_FIELDS": 10,
        "GRAPHQL_MAX_COST": 5000, "GRAPHQL_TIMEOUT": 10.0,
        "GRAPHQL_INTROSPECTION": False, "GRAPHQL_REPORT_COST": False, "PERSISTED_QUERIES_FILE": None,
        "TRUSTED_DOCUMENTS_ONLY": False,
    }


def test_dynamodb_calls_fail_within_api_gateways_29_seconds() -> None:
    """The models' botocore limits: even a frozen endpoint ends a call well before API Gateway gives up."""
    import models

    names = ("table_name", "host", "region", "aws_access_key_id", "aws_secret_access_key", "connect_timeout_seconds",
             "read_timeout_seconds", "max_retry_attempts")
    saved = [(model, {name: getattr(model.Meta, name) for name in names}, model._connection) for model in models.MODELS]
    try:
        models.configure(settings({"APP_ENV": "production", "JWT_SECRET_KEY": "x" * 40}))
        client_config = models.User._get_connection().connection.client.meta.config
    finally:  # the other tests' endpoint
        for model, meta, connection in saved:
            for name, value in meta.items():
                setattr(model.Meta, name, value)
            model._connection = connection
    limits = (client_config.connect_timeout, client_config.read_timeout, client_config.retries)
    assert limits == (1.0, 3.0, {"total_max_attempts": 3, "mode": "standard"})
    attempts = limits[2]["total_max_attempts"]
    assert attempts * (limits[0] + limits[1]) + 1 + 2 < 29  # plus the standard mode's backoff between attempts


def test_every_setting_is_in_the_readmes_configuration_table() -> None:
    """A setting nobody can find is a setting nobody sets right: each one has its row."""
    from support import ROOT

    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert [name for name in config.SETTING_NAMES if not any(f"`{name}`" in row.split("|")[1] for row in rows)] == []


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"HASURA_CLAIMS_FORMAT": "yaml"}, "HASURA_CLAIMS_FORMAT must be json or stringified_json, got 'yaml'"),
        ({"HASURA_CLAIMS": "maybe"}, "HASURA_CLAIMS: expected true or false, got 'maybe'"),
        ({"HASURA_DEFAULT_ROLE": ""}, "HASURA_DEFAULT_ROLE must not be empty"),
        ({"HASURA_SECRET_HEADER": ""}, "HASURA_SECRET_HEADER must not be empty"),
        ({"JWT_ALGORITHM": "none"}, "JWT_ALGORITHM must be one of HS256, RS256, ES256, EdDSA, got 'none'"),
    ],
)
def test_bad_hasura_and_token_settings_are_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(environ)
    assert str(raised.value) == message
