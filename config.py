"""Read every setting from the environment (and `.env`) in one place."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENVIRONMENTS = ("development", "production", "test")
JWT_ALGORITHMS = ("HS256", "RS256", "ES256", "EdDSA")
HASURA_CLAIMS_FORMATS = ("json", "stringified_json")
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
    # Sized for API Gateway's 29 s: even a frozen endpoint fails a call within about 15 s
    # (3 attempts x (1 s connect + 3 s read) + backoff with jitter), well before the function times out.
    "DYNAMODB_CONNECT_TIMEOUT": (float, 1.0, 1.0),
    "DYNAMODB_READ_TIMEOUT": (float, 3.0, 3.0),
    "DYNAMODB_MAX_ATTEMPTS": (int, 3, 3),
    # Item calls as signed JSON over botocore's session, skipping its per-call pipeline (lean_dynamodb.py).
    "DYNAMODB_LEAN_PATH": (_bool, True, True),
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
    "GRAPHQL_MAX_DOCUMENT_SIZE": (int, 16_384, 16_384),
    "GRAPHQL_MAX_TOKENS": (int, 1000, 1000),
    "GRAPHQL_MAX_ALIASES": (int, 15, 15),
    "GRAPHQL_MAX_ROOT_FIELDS": (int, 10, 10),
    "GRAPHQL_MAX_REPEATED_FIELDS": (int, 10, 10),
    "GRAPHQL_MAX_COST": (int, 5000, 5000),
    "GRAPHQL_TIMEOUT": (float, 10.0, 10.0),
    "GRAPHQL_INTROSPECTION": (_bool, True, False),
    "GRAPHQL_REPORT_COST": (_bool, True, False),
    "PERSISTED_QUERIES_FILE": (str, None, None),
    "TRUSTED_DOCUMENTS_ONLY": (_bool, False, False),
    "GRAPHQL_CACHE_SIZE": (int, 256, 256),
    "GRAPHQL_MAX_PAGE_SIZE": (int, 100, 100),
    "GRAPHQL_MAX_ITEMS_READ": (int, 1000, 1000),
    "MAX_CONTENT_LENGTH": (int, 64 * 1024, 64 * 1024),
    "ARGON2_TIME_COST": (int, 3, 3),
    "ARGON2_MEMORY_COST": (int, 65536, 65536),
    "ARGON2_PARALLELISM": (int, 4, 4),
    # Argon2 computations run at once; each holds ARGON2_MEMORY_COST KiB while it runs.
    "PASSWORD_HASH_CONCURRENCY": (int, 2, 2),
    # Login protection (throttle.py): the longest delay after failed passwords for one account,
    # and how many requests one client address may send to each auth endpoint per window.
    "THROTTLE_MAX_DELAY": (int, 15 * 60, 15 * 60),
    "THROTTLE_ADDRESS_LIMIT": (int, 100, 100),
    "THROTTLE_ADDRESS_WINDOW": (int, 5 * 60, 5 * 60),
    # Seconds during which a rotated refresh token still gets the pair that replaced it.
    "REFRESH_REUSE_GRACE": (int, 10, 10),
    "LOG_LEVEL": (str, "INFO", "INFO"),
    # /execute-graphql (proxy.py): off unless UPSTREAM_GRAPHQL_URL is set.
    "UPSTREAM_GRAPHQL_URL": (str, None, None),
    "UPSTREAM_TOKEN_URL": (str, None, None),
    "UPSTREAM_CLIENT_ID": (str, None, None),
    "UPSTREAM_CLIENT_SECRET": (str, None, None),
    # On Lambda: the SSM SecureString that lambda_handler.py reads into UPSTREAM_CLIENT_SECRET.
    "UPSTREAM_CLIENT_SECRET_PARAMETER": (str, None, None),
    "UPSTREAM_SCOPE": (str, None, None),
    "UPSTREAM_ADMIN_SECRET": (str, None, None),
    # On Lambda: the SSM SecureString that lambda_handler.py reads into UPSTREAM_ADMIN_SECRET.
    "UPSTREAM_ADMIN_SECRET_PARAMETER": (str, None, None),
    "UPSTREAM_FORWARD_USER": (_bool, False, False),
    "UPSTREAM_ROLE": (str, "user", "user"),
    "UPSTREAM_TIMEOUT": (float, 10.0, 10.0),
    # The most /execute-graphql reads of an upstream answer (Lambda answers at most 6 MB anyway).
    "UPSTREAM_MAX_RESPONSE_BYTES": (int, 6 * 1024 * 1024, 6 * 1024 * 1024),
    "RELOAD": (_bool, True, False),
    # Every token carries `iss` and `aud`, and every token's are checked (RFC 8725; Hasura's `issuer`, `audience`).
    "JWT_ISSUER": (str, "relay-api", "relay-api"),
    "JWT_AUDIENCE": (str, "relay-api", "relay-api"),
    # HS256 signs with JWT_SECRET_KEY; the others with JWT_PRIVATE_KEY (PEM), public keys at /.well-known/jwks.json.
    "JWT_ALGORITHM": (str, "HS256", "HS256"),
    "JWT_PRIVATE_KEY": (str, None, None),
    # On Lambda: the SSM SecureString that lambda_handler.py reads into JWT_PRIVATE_KEY.
    "JWT_PRIVATE_KEY_PARAMETER": (str, None, None),
    # PEM public keys of retired private keys, still served and accepted until their tokens expire.
    "JWT_PREVIOUS_PUBLIC_KEYS": (str, None, None),
    # Hasura: claims in access tokens, and the Actions/Events endpoints (enabled by setting the secret).
    "HASURA_CLAIMS": (_bool, False, False),
    "HASURA_CLAIMS_NAMESPACE": (str, "https://hasura.io/jwt/claims", "https://hasura.io/jwt/claims"),
    "HASURA_CLAIMS_FORMAT": (str, "json", "json"),
    "HASURA_DEFAULT_ROLE": (str, "user", "user"),
    "HASURA_ACTION_SECRET": (str, None, None),
    # On Lambda: the SSM SecureString that lambda_handler.py reads into HASURA_ACTION_SECRET.
    "HASURA_ACTION_SECRET_PARAMETER": (str, None, None),
    "HASURA_SECRET_HEADER": (str, "X-Hasura-Action-Secret", "X-Hasura-Action-Secret"),
}
SETTING_NAMES = ("APP_ENV", *_SETTINGS)
_LIMITS = (
    "GRAPHQL_MAX_DEPTH", "GRAPHQL_MAX_DOCUMENT_SIZE", "GRAPHQL_MAX_TOKENS", "GRAPHQL_MAX_ALIASES",
    "GRAPHQL_MAX_ROOT_FIELDS", "GRAPHQL_MAX_REPEATED_FIELDS", "GRAPHQL_MAX_COST", "GRAPHQL_TIMEOUT",
    "GRAPHQL_CACHE_SIZE",
)

# Development origins: any port on the loopback names (flask-cors treats these as regexes).
DEV_CORS_ORIGINS = [r"http://localhost(:\d+)?", r"http://127\.0\.0\.1(:\d+)?"]


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    dotenv: bool = True,
    *,
    before_secrets: bool = False,
) -> dict[str, Any]:
    """Return settings layered as defaults, then environment, then explicit overrides.

    `before_secrets`: the secrets may still be missing, since lambda_handler.load_secrets reads them
    from SSM next; skip the checks that need them (the upstream's service identity).
    """
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
    if settings["DYNAMODB_MAX_ATTEMPTS"] < 1:
        raise ConfigError("DYNAMODB_MAX_ATTEMPTS must be at least 1 (the first try counts)")
    if settings["DYNAMODB_CONNECT_TIMEOUT"] <= 0 or settings["DYNAMODB_READ_TIMEOUT"] <= 0:
        raise ConfigError("DYNAMODB_CONNECT_TIMEOUT and DYNAMODB_READ_TIMEOUT must be positive (seconds)")
    if settings["GRAPHQL_SCHEMA_ACCESS"] not in ("open", "token", "off"):
        raise ConfigError("GRAPHQL_SCHEMA_ACCESS must be open, token or off")
    for name in ("PASSWORD_HASH_CONCURRENCY", "THROTTLE_MAX_DELAY", "THROTTLE_ADDRESS_WINDOW"):
        if settings[name] < 1:
            raise ConfigError(f"{name} must be at least 1")
    for name in ("THROTTLE_ADDRESS_LIMIT", "REFRESH_REUSE_GRACE"):
        if settings[name] < 0:
            raise ConfigError(f"{name} must not be negative (0 turns it off)")
    if settings["TRUSTED_DOCUMENTS_ONLY"] and not settings["PERSISTED_QUERIES_FILE"]:
        raise ConfigError("TRUSTED_DOCUMENTS_ONLY needs PERSISTED_QUERIES_FILE: the documents it allows")
    for name in _LIMITS:
        if settings[name] <= 0:
            raise ConfigError(f"{name} must be positive, got {settings[name]}")
    _check_token_settings(settings)
    _check_upstream(settings, identity=not before_secrets)
    return settings


# API Gateway ends an integration after 29 s: the upstream must answer well before.
MAX_UPSTREAM_TIMEOUT = 25.0
_CLIENT_CREDENTIALS = ("UPSTREAM_TOKEN_URL", "UPSTREAM_CLIENT_ID", "UPSTREAM_CLIENT_SECRET")


def _check_upstream(settings: dict[str, Any], *, identity: bool = True) -> None:
    """Refuse an /execute-graphql configuration that is incomplete, ambiguous or, in production, unsafe.

    `identity=False`: check only what needs no secret (the URLs and the timeout).
    """
    url = settings["UPSTREAM_GRAPHQL_URL"]
    if not url:
        return
    production = settings["APP_ENV"] == "production"
    for name in ("UPSTREAM_GRAPHQL_URL", "UPSTREAM_TOKEN_URL"):
        _check_url(name, settings[name], https=production)
    if settings["UPSTREAM_MAX_RESPONSE_BYTES"] < 1:
        raise ConfigError("UPSTREAM_MAX_RESPONSE_BYTES must be positive")
    if not 0 < settings["UPSTREAM_TIMEOUT"] <= MAX_UPSTREAM_TIMEOUT:
        raise ConfigError(f"UPSTREAM_TIMEOUT must be more than 0 and at most {MAX_UPSTREAM_TIMEOUT:g} seconds")
    if not identity:
        return
    given = [name for name in _CLIENT_CREDENTIALS if settings[name]]
    if given and len(given) < len(_CLIENT_CREDENTIALS):
        missing = ", ".join(name for name in _CLIENT_CREDENTIALS if name not in given)
        raise ConfigError(f"{', '.join(given)} set without {missing}: client credentials need all three")
    if given and settings["UPSTREAM_ADMIN_SECRET"]:
        raise ConfigError("Set either UPSTREAM_ADMIN_SECRET or the UPSTREAM_TOKEN_URL client credentials, not both")
    if production and not given and not settings["UPSTREAM_ADMIN_SECRET"]:
        raise ConfigError(
            "UPSTREAM_GRAPHQL_URL is set without a service identity: production needs UPSTREAM_ADMIN_SECRET or "
            "UPSTREAM_TOKEN_URL, UPSTREAM_CLIENT_ID and UPSTREAM_CLIENT_SECRET"
        )
    if settings["UPSTREAM_FORWARD_USER"] and not settings["UPSTREAM_ADMIN_SECRET"]:
        raise ConfigError(
            "UPSTREAM_FORWARD_USER needs UPSTREAM_ADMIN_SECRET: Hasura takes x-hasura-* headers as the session "
            "only from requests that carry the admin secret"
        )


def _check_url(name: str, url: str | None, *, https: bool) -> None:
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http(s) URL, got {url!r}")
    loopback = parts.hostname in ("localhost", "::1") or parts.hostname.startswith("127.")
    if https and parts.scheme != "https" and not loopback:
        raise ConfigError(f"{name} must use https in production: the service identity travels with every request")


def _check_token_settings(settings: dict[str, Any]) -> None:
    """Refuse token and Hasura settings that would issue tokens nobody can check, or open Hasura's doors."""
    for name in ("JWT_ISSUER", "JWT_AUDIENCE"):
        if not settings[name]:
            raise ConfigError(f"{name} must not be empty: every token carries it and every token is checked for it")
    if settings["JWT_ALGORITHM"] not in JWT_ALGORITHMS:
        allowed = ", ".join(JWT_ALGORITHMS)
        raise ConfigError(f"JWT_ALGORITHM must be one of {allowed}, got {settings['JWT_ALGORITHM']!r}")
    if settings["HASURA_CLAIMS_FORMAT"] not in HASURA_CLAIMS_FORMATS:
        got = settings["HASURA_CLAIMS_FORMAT"]
        raise ConfigError(f"HASURA_CLAIMS_FORMAT must be json or stringified_json, got {got!r}")
    for name in ("HASURA_CLAIMS_NAMESPACE", "HASURA_DEFAULT_ROLE", "HASURA_SECRET_HEADER"):
        if not settings[name]:
            raise ConfigError(f"{name} must not be empty")
    secret = settings["HASURA_ACTION_SECRET"]
    if secret and len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"HASURA_ACTION_SECRET is only {len(secret)} characters long: use a random secret of at least "
            f"{MIN_SECRET_LENGTH} characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )


def hasura_enabled(settings: Mapping[str, Any]) -> bool:
    """Say whether the Hasura endpoints are served: only with HASURA_ACTION_SECRET, so never without it."""
    return bool(settings["HASURA_ACTION_SECRET"])


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
