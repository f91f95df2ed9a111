"""Read every setting from the environment (and `.env`) in one place."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENVIRONMENTS = ("development", "production", "test")
MIN_SECRET_LENGTH = 32
LOCAL_CREDENTIALS = ("local", "local")  # local servers accept any key; botocore insists on one


class ConfigError(Exception):
    """A setting is missing or invalid; the message says which and what to do."""


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


# name -> (parser, development default, production default); None means "derived below".
_SETTINGS: dict[str, tuple[Any, Any, Any]] = {
    "HOST": (str, "127.0.0.1", "127.0.0.1"),
    "PORT": (int, 5000, 5000),
    "DYNAMODB_HOST": (str, None, None),
    "DYNAMODB_PORT": (int, 8000, 8000),
    "AWS_REGION": (str, "us-east-1", "us-east-1"),
    "TABLE_PREFIX": (str, "relay_", "relay_"),
    "DATA_DIR": (str, ".data", ".data"),
    "SNAPSHOT_INTERVAL": (float, 2.0, 2.0),
    # Reads as signed JSON over botocore's session, skipping its per-call pipeline (lean_dynamodb.py).
    "DYNAMODB_LEAN_READS": (_bool, True, True),
    "JWT_SECRET_KEY": (str, None, None),
    # On Lambda: the SSM SecureString that lambda_handler.py reads into JWT_SECRET_KEY.
    "JWT_SECRET_PARAMETER": (str, None, None),
    "ACCESS_TOKEN_EXPIRES": (int, 15 * 60, 15 * 60),
    "REFRESH_TOKEN_EXPIRES": (int, 30 * 24 * 3600, 30 * 24 * 3600),
    "AUTH_COOKIES": (_bool, False, False),
    "COOKIE_SECURE": (_bool, False, True),
    "CORS_ORIGINS": (_list, None, []),
    "GRAPHIQL": (_bool, True, False),
    "GRAPHQL_SCHEMA_ACCESS": (str, "open", "token"),
    "GRAPHQL_MAX_DEPTH": (int, 20, 20),
    "GRAPHQL_CACHE_SIZE": (int, 256, 256),
    "GRAPHQL_MAX_PAGE_SIZE": (int, 100, 100),
    "GRAPHQL_MAX_ITEMS_READ": (int, 1000, 1000),
    "MAX_CONTENT_LENGTH": (int, 64 * 1024, 64 * 1024),
    "ARGON2_TIME_COST": (int, 3, 3),
    "ARGON2_MEMORY_COST": (int, 65536, 65536),
    "ARGON2_PARALLELISM": (int, 4, 4),
    "LOG_LEVEL": (str, "INFO", "INFO"),
    "RELOAD": (_bool, True, False),
}
SETTING_NAMES = ("APP_ENV", *_SETTINGS)

# Development origins: any port on the loopback names (flask-cors treats these as regexes).
DEV_CORS_ORIGINS = [r"http://localhost(:\d+)?", r"http://127\.0\.0\.1(:\d+)?"]


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    dotenv: bool = True,
) -> dict[str, Any]:
    """Return settings layered as defaults, then environment, then explicit overrides."""
    if environ is None:
        if dotenv:
            _load_dotenv()
        environ = os.environ
    overrides = dict(overrides or {})

    def raw(name: str) -> Any:
        if name in overrides:
            return overrides[name]
        return environ.get(name)

    env = raw("APP_ENV") or ("production" if environ.get("AWS_LAMBDA_FUNCTION_NAME") else "development")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    production = env == "production"
    settings: dict[str, Any] = {"APP_ENV": env}
    for name, (parse, dev_default, prod_default) in _SETTINGS.items():
        value = raw(name)
        if value is None or (value == "" and parse is not str):
            settings[name] = prod_default if production else dev_default
            continue
        if isinstance(value, str) and parse is not str:
            try:
                value = parse(value)
            except ValueError as exc:
                raise ConfigError(f"{name}: {exc}") from None
        settings[name] = value
    if settings["CORS_ORIGINS"] is None:
        settings["CORS_ORIGINS"] = list(DEV_CORS_ORIGINS)
    if settings["GRAPHQL_SCHEMA_ACCESS"] not in ("open", "token", "off"):
        raise ConfigError("GRAPHQL_SCHEMA_ACCESS must be open, token or off")
    return settings


def jwt_secret(settings: Mapping[str, Any]) -> str:
    """Return the JWT secret; production refuses a missing or weak one, development makes one."""
    secret = settings["JWT_SECRET_KEY"]
    if secret and len(secret) >= MIN_SECRET_LENGTH:
        return secret
    if settings["APP_ENV"] == "production":
        problem = "is not set" if not secret else f"is only {len(secret)} characters long"
        raise ConfigError(
            f"JWT_SECRET_KEY {problem}: production needs a random secret of at least "
            f"{MIN_SECRET_LENGTH} characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    if secret:
        raise ConfigError(f"JWT_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters long")
    return _development_secret(Path(settings["DATA_DIR"]))


def _development_secret(data_dir: Path) -> str:
    """Return a random secret kept under DATA_DIR, so tokens survive dev-server restarts."""
    path = data_dir / "jwt-secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        # O_EXCL: a concurrent starter keeps the first secret; 0o600 from the start, not after.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret)
    return secret


def _load_dotenv() -> None:
    """Load `.env` from the working directory without overriding the real environment."""
    if Path(".env").is_file():
        from dotenv import load_dotenv

        load_dotenv(".env", override=False)


def uses_embedded_store(settings: Mapping[str, Any]) -> bool:
    """Say whether the settings point at the embedded store that run.py starts."""
    return not settings["DYNAMODB_HOST"] and settings["APP_ENV"] != "production"


def is_loopback_endpoint(settings: Mapping[str, Any]) -> bool:
    """Say whether DynamoDB is served on this machine (embedded, DynamoDB Local, LocalStack)."""
    endpoint = dynamodb_endpoint(settings)
    if endpoint is None:
        return False
    host = urlsplit(endpoint).hostname or ""
    return host == "localhost" or host == "::1" or host.startswith("127.")


def dynamodb_endpoint(settings: Mapping[str, Any]) -> str | None:
    """Return the DynamoDB endpoint URL: DYNAMODB_HOST, the embedded store, or None for AWS."""
    if settings["DYNAMODB_HOST"]:
        return settings["DYNAMODB_HOST"]
    if uses_embedded_store(settings):
        return f"http://127.0.0.1:{settings['DYNAMODB_PORT']}"
    return None
