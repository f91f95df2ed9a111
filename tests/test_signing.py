"""Asymmetric signing: the JWKS, `kid`, key rotation, algorithm pinning and clear configuration errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
from functools import cache
from typing import Any

import jwt as pyjwt
import pytest
from support import PASSWORD

from config import ConfigError

VIEWER = "{ viewer { email } }"


@cache
def private_pem(algorithm: str, number: int = 0, bits: int = 2048) -> str:
    """Return private key `number` for `algorithm` as PEM (made once per test session)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    key = {
        "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=bits),
        "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "ES384": lambda: ec.generate_private_key(ec.SECP384R1()),
        "EdDSA": ed25519.Ed25519PrivateKey.generate,
    }[algorithm]()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def hs256(payload: dict[str, Any], secret: str, kid: str) -> str:
    """Return an HS256 token keyed with `secret` (PyJWT refuses PEM keys as HMAC secrets: we do it by hand)."""
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{part(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'kid': kid}).encode())}."
    signing_input += part(json.dumps(payload).encode())
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(signature)}"


def public_pem(private: str) -> str:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private.encode(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@pytest.fixture
def make_app(settings: dict[str, Any], app: Any) -> Any:
    """Return a factory of apps with these settings changed (on the `app` fixture's empty tables)."""
    from app import create_app

    return lambda **changes: create_app({**settings, **changes})


def signup(app: Any, email: str = "ada@example.com") -> str:
    response = app.test_client().post("/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["access_token"]


def viewer(app: Any, token: str) -> tuple[int, Any]:
    response = app.test_client().post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.get_json()


ADA = (200, {"data": {"viewer": {"email": "ada@example.com"}}})


@pytest.mark.parametrize(("algorithm", "kty"), [("RS256", "RSA"), ("ES256", "EC"), ("EdDSA", "OKP")])
def test_tokens_are_signed_with_the_private_key_and_checked_with_the_jwks(
    make_app: Any, algorithm: str, kty: str
) -> None:
    app = make_app(JWT_ALGORITHM=algorithm, JWT_PRIVATE_KEY=private_pem(algorithm))
    token = signup(app)
    response = app.test_client().get("/.well-known/jwks.json")
    assert (response.status_code, response.headers["Cache-Control"]) == (200, "public, max-age=600")
    (jwk,) = response.get_json()["keys"]
    assert (jwk["kty"], jwk["alg"], jwk["use"]) == (kty, algorithm, "sig")
    assert "d" not in jwk  # the public half only
    header = pyjwt.get_unverified_header(token)
    assert (header["alg"], header["kid"]) == (algorithm, jwk["kid"])
    key = pyjwt.PyJWK.from_dict(jwk).key
    checked = pyjwt.decode(token, key, algorithms=[algorithm], audience="relay-api", issuer="relay-api")
    assert checked["type"] == "access"
    assert viewer(app, token) == ADA


def test_the_kid_is_the_keys_rfc7638_thumbprint(make_app: Any) -> None:
    """The same key always has the same kid, whichever app serves it; another key has another."""
    first = make_app(JWT_ALGORITHM="ES256", JWT_PRIVATE_KEY=private_pem("ES256"))
    again = make_app(JWT_ALGORITHM="ES256", JWT_PRIVATE_KEY=private_pem("ES256").replace("\n", "\\n"))
    other = make_app(JWT_ALGORITHM="ES256", JWT_PRIVATE_KEY=private_pem("ES256", 1))
    jwks = [app.test_client().get("/.well-known/jwks.json").get_json() for app in (first, again, other)]
    kids = [document["keys"][0]["kid"] for document in jwks]
    assert kids[0] == kids[1] != kids[2]
    assert len(kids[0]) == 43  # base64url of a SHA-256 digest


def test_a_previous_public_key_keeps_its_tokens_valid_until_it_is_dropped(make_app: Any) -> None:
    """Rotation: sign with the new key, list the old public key until the old tokens expire, then drop it."""
    old_app = make_app(JWT_ALGORITHM="RS256", JWT_PRIVATE_KEY=private_pem("RS256"))
    old_token = signup(old_app)
    old_jwk = old_app.test_client().get("/.well-known/jwks.json").get_json()["keys"][0]

    rotated = make_app(
        JWT_ALGORITHM="ES256",
        JWT_PRIVATE_KEY=private_pem("ES256"),
        JWT_PREVIOUS_PUBLIC_KEYS=public_pem(private_pem("RS256")) + public_pem(private_pem("EdDSA")),
    )
    keys = rotated.test_client().get("/.well-known/jwks.json").get_json()["keys"]
    assert [key["alg"] for key in keys] == ["ES256", "RS256", "EdDSA"]  # the current key first
    assert keys[1] == old_jwk
    assert viewer(rotated, old_token) == ADA
    new_token = rotated.test_client().post("/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert pyjwt.get_unverified_header(new_token.get_json()["access_token"])["kid"] == keys[0]["kid"]

    dropped = make_app(JWT_ALGORITHM="ES256", JWT_PRIVATE_KEY=private_pem("ES256"))
    status, body = viewer(dropped, old_token)
    assert (status, body["errors"][0]["extensions"]) == (401, {"code": "INVALID_TOKEN"})


def test_forged_tokens_are_refused_whatever_their_header_says(make_app: Any) -> None:
    """An HS256 token keyed with the public key, a kid of one key with another's algorithm, an unknown kid."""
    app = make_app(
        JWT_ALGORITHM="RS256",
        JWT_PRIVATE_KEY=private_pem("RS256"),
        JWT_PREVIOUS_PUBLIC_KEYS=public_pem(private_pem("ES256")),
    )
    good = pyjwt.decode(signup(app), options={"verify_signature": False})
    current, previous = (key["kid"] for key in app.test_client().get("/.well-known/jwks.json").get_json()["keys"])
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    stranger = load_pem_private_key(private_pem("ES256", 7).encode(), password=None)
    forged = {
        "hs256 keyed with the public key": hs256(good, public_pem(private_pem("RS256")), kid=current),
        "es256 under the rsa kid": pyjwt.encode(good, stranger, algorithm="ES256", headers={"kid": current}),
        "es256 under the es256 kid, another key": pyjwt.encode(good, stranger, algorithm="ES256",
                                                                headers={"kid": previous}),
        "unknown kid": pyjwt.encode(good, stranger, algorithm="ES256", headers={"kid": "nope"}),
    }
    answers = {name: viewer(app, token) for name, token in forged.items()}
    assert {name: (status, body["errors"][0]["extensions"]["code"]) for name, (status, body) in answers.items()} == {
        name: (401, "INVALID_TOKEN") for name in forged
    }


def test_an_hs256_app_publishes_no_keys(make_app: Any) -> None:
    response = make_app().test_client().get("/.well-known/jwks.json")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"JWT_ALGORITHM": "RS512"}, "JWT_ALGORITHM must be one of HS256, RS256, ES256, EdDSA, got 'RS512'"),
        ({"JWT_ALGORITHM": "RS256"}, "JWT_ALGORITHM=RS256 needs JWT_PRIVATE_KEY: a PEM private key"),
        ({"JWT_ALGORITHM": "RS256", "JWT_PRIVATE_KEY": "not a key"}, "JWT_PRIVATE_KEY is not an unencrypted PEM"),
        ({"JWT_ALGORITHM": "RS256", "JWT_PRIVATE_KEY": private_pem("ES256")},
         "JWT_PRIVATE_KEY (EC secp256r1) does not suit JWT_ALGORITHM=RS256"),
        ({"JWT_ALGORITHM": "ES256", "JWT_PRIVATE_KEY": private_pem("ES384")},
         "JWT_PRIVATE_KEY (EC secp384r1) does not suit JWT_ALGORITHM=ES256"),
        ({"JWT_ALGORITHM": "RS256", "JWT_PRIVATE_KEY": private_pem("RS256", bits=1024)},
         "JWT_PRIVATE_KEY (RSA 1024 bits) does not suit JWT_ALGORITHM=RS256"),
        ({"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY": private_pem("EdDSA"), "JWT_PREVIOUS_PUBLIC_KEYS": "junk"},
         "JWT_PREVIOUS_PUBLIC_KEYS holds no PEM public key"),
        ({"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY": private_pem("EdDSA"),
          "JWT_PREVIOUS_PUBLIC_KEYS": public_pem(private_pem("ES384"))},
         "JWT_PREVIOUS_PUBLIC_KEYS: key 1 (EC secp384r1) is not an RSA (2048+ bits), P-256 or Ed25519 key"),
        ({"JWT_ISSUER": ""}, "JWT_ISSUER must not be empty"),
        ({"JWT_AUDIENCE": ""}, "JWT_AUDIENCE must not be empty"),
    ],
)
def test_bad_key_settings_stop_the_start_in_one_line(make_app: Any, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        make_app(**changes)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_without_cryptography_an_asymmetric_algorithm_says_what_to_install(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "cryptography", None)  # what `import cryptography` sees when it is absent
    with pytest.raises(ConfigError) as raised:
        make_app(JWT_ALGORITHM="EdDSA", JWT_PRIVATE_KEY=private_pem("EdDSA"))
    assert str(raised.value) == (
        "JWT_ALGORITHM=EdDSA needs the cryptography package, which is not installed: "
        "pip install -r requirements-asymmetric.txt (on Lambda, add it to requirements.txt)"
    )
