"""jwt_speedups: PyJWT decides every token and key exactly as it does without them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from jwt.algorithms import HMACAlgorithm

import jwt_speedups

SECRET = "s" * 48
GOOD = jwt.encode({"sub": "u1", "exp": 4102444800}, SECRET, algorithm="HS256")
HEADER, PAYLOAD, SIGNATURE = GOOD.split(".")


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    jwt_speedups.install()  # what auth.init_app leaves in place


def outcome(action: Callable[[], Any]) -> Any:
    try:
        return ("ok", action())
    except Exception as error:  # the outcome compared is the error itself
        return (type(error).__name__, str(error))


def both(action: Callable[[], Any]) -> tuple[Any, Any]:
    jwt_speedups.uninstall()
    theirs = outcome(action)
    jwt_speedups.install()
    return theirs, outcome(action)


TOKENS = {
    "valid": GOOD,
    "padded payload": f"{HEADER}.{PAYLOAD}{'=' * (-len(PAYLOAD) % 4)}.{SIGNATURE}",
    "three pad characters": f"{HEADER}.{PAYLOAD}===.{SIGNATURE}",
    "padding on a full block": f"{HEADER}.{PAYLOAD[: -(len(PAYLOAD) % 4) or None]}==.{SIGNATURE}",
    "padding in the middle": f"{HEADER}.{PAYLOAD[:4]}={PAYLOAD[5:]}.{SIGNATURE}",
    "standard base64 plus": f"{HEADER}.{PAYLOAD[:-1]}+.{SIGNATURE}",
    "standard base64 slash": f"{HEADER[:-1]}/.{PAYLOAD}.{SIGNATURE}",
    "junk": "!!!!.!!!!.!!!!",
    "non-ascii": f"{HEADER}.{PAYLOAD}é.{SIGNATURE}",
    "one character too many": f"{HEADER}.{PAYLOAD}A.{SIGNATURE}"
    if len(PAYLOAD) % 4 == 0
    else f"{HEADER}.A{PAYLOAD[: -(len(PAYLOAD) % 4) or None]}.{SIGNATURE}",
    "non-canonical last character": f"{HEADER}.{PAYLOAD}.{SIGNATURE[:-1]}{'B' if SIGNATURE[-1] == 'A' else 'A'}",
    "signature with newline": f"{HEADER}.{PAYLOAD}.{SIGNATURE}\n",
    "empty segments": "..",
    "two segments": f"{HEADER}.{PAYLOAD}",
    "wrong signature": f"{HEADER}.{PAYLOAD}.{SIGNATURE[::-1]}",
    "bytes token": GOOD.encode(),
}


ACCEPTED = {"valid", "bytes token"}  # padding changes the signed input: a padded token fails its signature


@pytest.mark.parametrize("name", TOKENS)
def test_a_token_is_decided_as_pyjwt_decides_it(name: str) -> None:
    """GIVEN a good or malformed token WHEN decoded with and without the speedups THEN the outcome is the same."""
    theirs, ours = both(lambda: jwt.api_jwt.decode_complete(TOKENS[name], SECRET, algorithms=["HS256"]))
    assert theirs == ours
    assert (ours[0] == "ok") is (name in ACCEPTED)


def test_the_valid_token_still_decodes() -> None:
    assert jwt.decode(GOOD, SECRET, algorithms=["HS256"]) == {"sub": "u1", "exp": 4102444800}


PEM = b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
KEYS = {
    "text secret": SECRET,
    "bytes secret": SECRET.encode(),
    "empty": "",
    "pem public key": PEM,
    "ssh public key": "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC user@host",
    "jwk json": '{"kty": "oct", "k": "c2VjcmV0"}',
    "not a key": 12345,
}


@pytest.mark.parametrize("key", KEYS.values(), ids=KEYS.keys())
def test_an_hmac_key_is_prepared_as_pyjwt_prepares_it(key: Any) -> None:
    """GIVEN a key WHEN prepared twice with and without the speedups THEN the outcome is the same each time."""
    algorithm = HMACAlgorithm(HMACAlgorithm.SHA256)
    theirs, ours = both(lambda: algorithm.prepare_key(key))
    assert theirs == ours == outcome(lambda: algorithm.prepare_key(key))  # and again, from the cache
