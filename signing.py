"""Asymmetric token signing: the private key, the public keys by `kid`, and /.well-known/jwks.json.

Imported only when JWT_ALGORITHM is not HS256: PyJWT imports `cryptography` whenever it is
installed (about 70 ms of a cold start), so HS256 deployments do not install it at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from flask import Flask, Response, current_app, jsonify
from flask_jwt_extended.default_callbacks import (
    default_decode_key_callback,
    default_encode_key_callback,
    default_jwt_headers_callback,
)

from auth import jwt
from config import ConfigError

JWKS_PATH = "/.well-known/jwks.json"
MIN_RSA_BITS = 2048
# Hasura refreshes its copy of the keys as Cache-Control says: a rotated key reaches it within this.
JWKS_MAX_AGE = 600
_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z ]+-----.+?-----END [A-Z ]+-----", re.DOTALL)
# The members of each key type that make its RFC 7638 thumbprint, our `kid`.
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}


class PublicKey(NamedTuple):
    """A public key that checks tokens: its algorithm, its `kid` and its JWK."""

    algorithm: str
    key: Any
    jwk: dict[str, str]

    @property
    def kid(self) -> str:
        return self.jwk["kid"]


class KeySet(NamedTuple):
    """The key that signs new tokens, and every public key whose tokens are still accepted."""

    private_key: Any
    current: PublicKey
    previous: tuple[PublicKey, ...]

    def public_key(self, kid: str | None, algorithm: str | None) -> Any:
        """Return the public key named `kid` (the current one if none is: its signature check then fails).

        The token's `alg` must be that key's: a token never picks how its own signature is checked.
        """
        chosen = next((key for key in (self.current, *self.previous) if key.kid == kid), self.current)
        if algorithm != chosen.algorithm:
            from jwt.exceptions import InvalidAlgorithmError

            raise InvalidAlgorithmError("The token's algorithm is not its key's")
        return chosen.key

    def algorithms(self) -> list[str]:
        """Return the algorithms of the accepted keys: the only ones a token may name."""
        return sorted({key.algorithm for key in (self.current, *self.previous)})

    def jwks(self) -> dict[str, Any]:
        """Return the JWK Set document of the accepted public keys, the current one first."""
        return {"keys": [key.jwk for key in (self.current, *self.previous)]}


def init_app(app: Flask) -> None:
    """Load the keys named by the settings, sign and check tokens with them, and serve the JWKS."""
    keys = load_keys(app.config)
    app.extensions["signing_keys"] = keys
    app.config["JWT_DECODE_ALGORITHMS"] = keys.algorithms()

    @app.get(JWKS_PATH)
    def jwks() -> Response:
        """Serve the public keys as a JWK Set: what Hasura's `jwk_url` reads."""
        response = jsonify(keys.jwks())
        response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
        return response


def load_keys(settings: Mapping[str, Any]) -> KeySet:
    """Return the key set of the settings, or raise ConfigError saying what to fix."""
    algorithm = settings["JWT_ALGORITHM"]
    try:
        import cryptography  # noqa: F401  (its submodules may be cached: ask for the package itself)
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
    except ImportError:
        raise ConfigError(
            f"JWT_ALGORITHM={algorithm} needs the cryptography package, which is not installed: "
            "pip install -r requirements-asymmetric.txt (on Lambda, add it to requirements.txt)"
        ) from None
    pem = _pem(settings["JWT_PRIVATE_KEY"])
    if not pem:
        raise ConfigError(
            f"JWT_ALGORITHM={algorithm} needs JWT_PRIVATE_KEY: a PEM private key "
            "(see the README's Hasura section for the openssl command that makes one)"
        )
    try:
        private_key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ConfigError("JWT_PRIVATE_KEY is not an unencrypted PEM private key") from None
    if _algorithm_of(private_key) != algorithm:
        raise ConfigError(f"JWT_PRIVATE_KEY {_describe(private_key)} does not suit JWT_ALGORITHM={algorithm}")
    current = public_key(private_key.public_key())
    previous = tuple(
        key for key in map(public_key, _previous_keys(settings["JWT_PREVIOUS_PUBLIC_KEYS"])) if key.kid != current.kid
    )
    return KeySet(private_key, current, previous)


def public_key(key: Any) -> PublicKey:
    """Return `key` with its algorithm and its JWK, whose `kid` is its RFC 7638 thumbprint."""
    from jwt.algorithms import get_default_algorithms

    algorithm = _algorithm_of(key)
    jwk = get_default_algorithms()[algorithm].to_jwk(key, as_dict=True)
    canonical = json.dumps({name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}, separators=(",", ":"))
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    return PublicKey(algorithm, key, {**jwk, "kid": kid, "alg": algorithm, "use": "sig"})


def _algorithm_of(key: Any) -> str | None:
    """Return the JWT algorithm a private or public key signs or checks with, or None if none of ours."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RS256" if key.key_size >= MIN_RSA_BITS else None
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "ES256" if isinstance(key.curve, ec.SECP256R1) else None
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "EdDSA"
    return None


def _describe(key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return f"(RSA {key.key_size} bits)"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return f"(EC {key.curve.name})"
    return f"({type(key).__name__})"


def _previous_keys(value: str | None) -> list[Any]:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    keys = []
    for number, block in enumerate(_PEM_BLOCK.findall(_pem(value)), start=1):
        try:
            key = load_pem_public_key(block.encode())
        except (ValueError, TypeError):
            raise ConfigError(f"JWT_PREVIOUS_PUBLIC_KEYS: key {number} is not a PEM public key") from None
        if _algorithm_of(key) is None:
            raise ConfigError(
                f"JWT_PREVIOUS_PUBLIC_KEYS: key {number} {_describe(key)} "
                "is not an RSA (2048+ bits), P-256 or Ed25519 key"
            )
        keys.append(key)
    if _pem(value).strip() and not keys:
        raise ConfigError("JWT_PREVIOUS_PUBLIC_KEYS holds no PEM public key")
    return keys


def _pem(value: str | None) -> str:
    """Return PEM text; `\\n` escapes are accepted, since environment files often hold one line."""
    return (value or "").replace("\\n", "\n").strip()


# flask-jwt-extended has one set of callbacks per process; apps signing with HS256 keep its defaults.


def _keys() -> KeySet | None:
    return current_app.extensions.get("signing_keys")


@jwt.encode_key_loader
def _encode_key(identity: Any) -> Any:
    keys = _keys()
    return keys.private_key if keys else default_encode_key_callback(identity)


@jwt.decode_key_loader
def _decode_key(header: dict[str, Any], payload: dict[str, Any]) -> Any:
    keys = _keys()
    if keys is None:
        return default_decode_key_callback(header, payload)
    return keys.public_key(header.get("kid"), header.get("alg"))


@jwt.additional_headers_loader
def _headers(identity: Any) -> dict[str, Any]:
    keys = _keys()
    return {"kid": keys.current.kid} if keys else default_jwt_headers_callback(identity)
