"""Hash and verify passwords: argon2id, with werkzeug's legacy formats accepted for upgrade."""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from errors import ValidationFailed

MIN_LENGTH = 8
MAX_LENGTH = 1024
_LEGACY_PREFIXES = ("pbkdf2:", "scrypt:")  # what werkzeug.security.generate_password_hash stores

_hasher = PasswordHasher()


class PasswordHash(str):
    """A stored password hash, as opposed to a plaintext password waiting to be hashed."""


def configure(time_cost: int, memory_cost: int, parallelism: int) -> None:
    """Set the argon2id parameters; hashes made with others are rehashed at the next login."""
    global _hasher
    if (time_cost, memory_cost, parallelism) != (
        _hasher.time_cost,
        _hasher.memory_cost,
        _hasher.parallelism,
    ):
        _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
        _dummy_hash.cache_clear()


def validate_password(password: object) -> None:
    """Raise ValidationFailed unless `password` is a string of an acceptable length."""
    if not isinstance(password, str):
        raise ValidationFailed("Password must be a string.", field="password")
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise ValidationFailed(
            f"Password must be {MIN_LENGTH} to {MAX_LENGTH} characters long.", field="password"
        )


def hash_password(password: str) -> PasswordHash:
    """Return the argon2id hash of a plaintext password."""
    return PasswordHash(_hasher.hash(password))


def verify_password(stored: str | None, password: str) -> bool:
    """Say whether `password` matches `stored`; with no stored hash, spend the same time and fail."""
    if not stored:
        _verify_argon2(_dummy_hash(), password)
        return False
    if stored.startswith(_LEGACY_PREFIXES):
        from werkzeug.security import check_password_hash

        return check_password_hash(stored, password)
    return _verify_argon2(stored, password)


def needs_rehash(stored: str) -> bool:
    """Say whether `stored` is a legacy hash or an argon2 hash made with other parameters."""
    if stored.startswith(_LEGACY_PREFIXES):
        return True
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def _verify_argon2(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Return a hash of a random password, to verify against when an account does not exist."""
    return _hasher.hash(secrets.token_urlsafe(16))
