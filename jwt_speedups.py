"""Make PyJWT's per-token work cheaper without changing what it accepts or rejects.

flask-jwt-extended loads each token four times per request (claims and header, before
and after choosing the key), and PyJWT 2.15 spends most of a load checking every
base64url character in a Python generator, then re-derives what an HMAC key is (PEM?
SSH? DER? a JWK?) on every verification. Two replacements, applied by `install()`:

- the base64url segment check runs as one regular expression (C speed) with the same
  rules and the same DecodeError messages as PyJWT's own;
- an HMAC key's preparation, a pure function of the key bytes, is remembered for the
  few keys a process uses (the current secret, perhaps the one before).

tests/test_jwt_speedups.py runs PyJWT's decisions with and without them on a table of
good and malformed tokens and keys.
"""

from __future__ import annotations

import binascii
import re
from functools import lru_cache
from typing import Any

from jwt import api_jws
from jwt.algorithms import HMACAlgorithm
from jwt.exceptions import DecodeError
from jwt.utils import base64url_decode, base64url_encode

_BASE64URL = re.compile(rb"[A-Za-z0-9_-]*")
_pyjwt_decode_segment = api_jws.PyJWS._decode_base64url_segment
_pyjwt_prepare_hmac_key = HMACAlgorithm.prepare_key


def _decode_base64url_segment(segment: bytes, name: str) -> bytes:
    """Decode one base64url segment of a token, or raise DecodeError as PyJWT does."""
    stripped = segment.rstrip(b"=")
    padding = len(segment) - len(stripped)
    if padding > 2 or (padding and len(segment) % 4 != 0):
        raise DecodeError(f"Invalid {name} padding")
    if len(stripped) % 4 == 1 or not _BASE64URL.fullmatch(stripped):
        raise DecodeError(f"Invalid {name} padding")
    try:
        decoded = base64url_decode(stripped)
    except (TypeError, binascii.Error) as err:
        raise DecodeError(f"Invalid {name} padding") from err
    # Non-canonical encodings (stray bits in the last character) are refused, as PyJWT does.
    if base64url_encode(decoded) != stripped:
        raise DecodeError(f"Invalid {name} padding")
    return decoded


@lru_cache(maxsize=8)
def _prepared_hmac_key(algorithm: HMACAlgorithm, key: str | bytes) -> bytes:
    return _pyjwt_prepare_hmac_key(algorithm, key)  # type: ignore[no-any-return]


def _prepare_hmac_key(self: HMACAlgorithm, key: Any) -> bytes:
    if not isinstance(key, (str, bytes)):  # PyJWT raises its own error for these: let it
        return _pyjwt_prepare_hmac_key(self, key)  # type: ignore[no-any-return]
    return _prepared_hmac_key(self, key)


def install() -> None:
    """Use the faster equivalents in every PyJWT decode of this process."""
    api_jws.PyJWS._decode_base64url_segment = staticmethod(_decode_base64url_segment)  # type: ignore[method-assign]
    HMACAlgorithm.prepare_key = _prepare_hmac_key  # type: ignore[method-assign]


def uninstall() -> None:
    """Use PyJWT's own code again."""
    api_jws.PyJWS._decode_base64url_segment = staticmethod(_pyjwt_decode_segment)  # type: ignore[method-assign]
    HMACAlgorithm.prepare_key = _pyjwt_prepare_hmac_key  # type: ignore[method-assign]
