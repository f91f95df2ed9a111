"""Tokens Hasura trusts: its claims in our access tokens, checked the way Hasura checks them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import jwt as pyjwt
import pytest
from support import PASSWORD

from models import User

NAMESPACE = "https://hasura.io/jwt/claims"


def pem_private_key(algorithm: str) -> str:
    """Return a new private key for `algorithm`, as PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    key = {
        "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "EdDSA": ed25519.Ed25519PrivateKey.generate,
    }[algorithm]()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def verify_as_hasura(token: str, jwt_secret: dict[str, Any], jwks: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the session variables Hasura would take from `token` under HASURA_GRAPHQL_JWT_SECRET `jwt_secret`.

    Hasura's documented rules: an HS key of 32+ characters, or the JWK of the token's `kid` from
    jwk_url; `audience` and `issuer` checked; the claims under `claims_namespace`, as an object
    (`json`) or a JSON string (`stringified_json`); `x-hasura-allowed-roles` a list and
    `x-hasura-default-role` one of them; every other x-hasura-* value a string.
    """
    if "jwk_url" in jwt_secret:
        assert jwks is not None
        keys = {jwk["kid"]: jwk for jwk in jwks["keys"]}
        jwk = keys[pyjwt.get_unverified_header(token)["kid"]]
        key, algorithms = pyjwt.PyJWK.from_dict(jwk).key, [jwk["alg"]]
    else:
        assert len(jwt_secret["key"]) >= 32
        key, algorithms = jwt_secret["key"], [jwt_secret["type"]]
    payload = pyjwt.decode(
        token, key, algorithms=algorithms, audience=jwt_secret["audience"], issuer=jwt_secret["issuer"]
    )
    claims = payload[jwt_secret.get("claims_namespace", NAMESPACE)]
    if jwt_secret.get("claims_format", "json") == "stringified_json":
        assert isinstance(claims, str)
        claims = json.loads(claims)
    assert isinstance(claims, dict)
    allowed, default = claims["x-hasura-allowed-roles"], claims["x-hasura-default-role"]
    assert isinstance(allowed, list) and all(isinstance(role, str) for role in allowed)
    assert default in allowed
    others = {name: value for name, value in claims.items() if name not in ("x-hasura-allowed-roles",)}
    assert all(name.lower().startswith("x-hasura-") and isinstance(value, str) for name, value in others.items())
    return claims


@pytest.fixture
def fresh_tables(app: Any) -> None:
    """Empty tables (the `app` fixture clears them); each test makes apps of its own settings."""


def make_app(settings: dict[str, Any], **changes: Any) -> Any:
    from app import create_app

    return create_app({**settings, **changes})


def signup_token(app: Any, email: str = "ada@example.com") -> dict[str, Any]:
    response = app.test_client().post("/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("claims_format", ["json", "stringified_json"])
@pytest.mark.parametrize("algorithm", ["HS256", "RS256"])
def test_hasura_accepts_our_access_tokens_with_the_config_we_print(
    settings: dict[str, Any], fresh_tables: None, algorithm: str, claims_format: str
) -> None:
    """GIVEN the HASURA_GRAPHQL_JWT_SECRET that `hasura-jwt-config` prints WHEN Hasura checks an access
    token (asymmetric: with the JWKS document alone) THEN it gets the user's roles and id."""
    keys = {"JWT_PRIVATE_KEY": pem_private_key(algorithm)} if algorithm != "HS256" else {}
    app = make_app(settings, JWT_ALGORITHM=algorithm, HASURA_CLAIMS_FORMAT=claims_format, **keys)
    body = signup_token(app)
    user_id = pyjwt.decode(body["access_token"], options={"verify_signature": False})["sub"]

    printed = app.test_cli_runner().invoke(args=["hasura-jwt-config", "--url", "https://api.example.com/"])
    assert printed.exit_code == 0, printed.output
    jwt_secret = json.loads(printed.stdout)
    expected = {"claims_namespace": NAMESPACE, "claims_format": claims_format, "issuer": "relay-api",
                "audience": "relay-api"}
    if algorithm == "HS256":
        assert jwt_secret == {"type": "HS256", "key": app.config["JWT_SECRET_KEY"], **expected}
        jwks = None
    else:
        assert jwt_secret == {"jwk_url": "https://api.example.com/.well-known/jwks.json", **expected}
        jwks = app.test_client().get(urlsplit(jwt_secret["jwk_url"]).path).get_json()

    assert verify_as_hasura(body["access_token"], jwt_secret, jwks) == {
        "x-hasura-allowed-roles": ["user"],
        "x-hasura-default-role": "user",
        "x-hasura-user-id": user_id,
    }
    with pytest.raises(KeyError):  # refresh tokens are for us only: Hasura finds no claims in them
        verify_as_hasura(body["refresh_token"], jwt_secret, jwks)


def test_hasura_refuses_our_token_with_another_audience_or_issuer(settings: dict[str, Any], fresh_tables: None) -> None:
    app = make_app(settings)
    token = signup_token(app)["access_token"]
    config = json.loads(app.test_cli_runner().invoke(args=["hasura-jwt-config"]).stdout)
    with pytest.raises(pyjwt.InvalidAudienceError):
        verify_as_hasura(token, {**config, "audience": "another-api"})
    with pytest.raises(pyjwt.InvalidIssuerError):
        verify_as_hasura(token, {**config, "issuer": "someone-else"})


@pytest.mark.parametrize(
    ("roles", "default_setting", "default_role"),
    [
        (["user"], "user", "user"),
        (["editor", "user"], "user", "user"),
        (["editor", "admin"], "user", "editor"),
        (["editor", "admin"], "admin", "admin"),
    ],
)
def test_the_default_role_is_the_setting_if_the_user_has_it_else_the_first_role(
    settings: dict[str, Any], fresh_tables: None, roles: list[str], default_setting: str, default_role: str
) -> None:
    app = make_app(settings, HASURA_DEFAULT_ROLE=default_setting, HASURA_CLAIMS_NAMESPACE="claims")
    user_id = pyjwt.decode(signup_token(app)["access_token"], options={"verify_signature": False})["sub"]
    User(user_id).update([User.roles.set(roles)])
    login = app.test_client().post("/login", json={"email": "ada@example.com", "password": PASSWORD}).get_json()
    assert pyjwt.decode(login["access_token"], options={"verify_signature": False})["claims"] == {
        "x-hasura-allowed-roles": roles,
        "x-hasura-default-role": default_role,
        "x-hasura-user-id": user_id,
    }


def test_a_user_without_roles_cannot_get_a_hasura_token(settings: dict[str, Any], fresh_tables: None) -> None:
    app = make_app(settings)
    user_id = pyjwt.decode(signup_token(app)["access_token"], options={"verify_signature": False})["sub"]
    User(user_id).update([User.roles.set([])])
    response = app.test_client().post("/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert (response.status_code, response.get_json()["code"]) == (403, "NO_ROLE")


def test_without_hasura_claims_tokens_carry_none(settings: dict[str, Any], fresh_tables: None) -> None:
    app = make_app(settings, HASURA_CLAIMS=False)
    claims = pyjwt.decode(signup_token(app)["access_token"], options={"verify_signature": False})
    assert (claims["iss"], claims["aud"], NAMESPACE in claims) == ("relay-api", "relay-api", False)


def test_jwt_config_warns_when_tokens_carry_no_hasura_claims(settings: dict[str, Any], fresh_tables: None) -> None:
    result = make_app(settings, HASURA_CLAIMS=False).test_cli_runner().invoke(args=["hasura-jwt-config"])
    assert (result.exit_code, json.loads(result.stdout)["type"]) == (0, "HS256")
    assert result.stderr == "Note: HASURA_CLAIMS is off; Hasura refuses tokens without its claims.\n"


def test_jwt_config_needs_the_public_url_for_asymmetric_keys(settings: dict[str, Any], fresh_tables: None) -> None:
    app = make_app(settings, JWT_ALGORITHM="ES256", JWT_PRIVATE_KEY=pem_private_key("ES256"))
    result = app.test_cli_runner().invoke(args=["hasura-jwt-config"])
    assert result.exit_code == 2
    assert "JWT_ALGORITHM=ES256: give --url, the API's public base URL" in result.output
