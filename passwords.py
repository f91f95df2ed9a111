"""Hash and verify passwords: argon2id, with werkzeug's legacy formats accepted for upgrade."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, TypeVar

from errors import ValidationFailed

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_LENGTH = 8
MAX_LENGTH = 1024
_LEGACY_PREFIXES = ("pbkdf2:", "scrypt:")  # what werkzeug.security.generate_password_hash stores

# argon2 is imported with the first hash or verification: requests that carry a token
# never need it, so a Lambda cold start that serves one does not pay for it.
_parameters = {"time_cost": 3, "memory_cost": 65536, "parallelism": 4}
_hasher_instance: PasswordHasher | None = None

# Each argon2 computation holds memory_cost KiB (64 MiB by default) until it returns: at most
# this many run at once, so a burst of logins queues instead of exhausting memory.
DEFAULT_CONCURRENCY = 2
_slots = threading.BoundedSemaphore(DEFAULT_CONCURRENCY)
_T = TypeVar("_T")


def _hasher() -> PasswordHasher:
    global _hasher_instance
    if _hasher_instance is None:
        from argon2 import PasswordHasher

        _hasher_instance = PasswordHasher(**_parameters)
    return _hasher_instance


class PasswordHash(str):
    """A stored password hash, as opposed to a plaintext password waiting to be hashed."""


def configure(time_cost: int, memory_cost: int, parallelism: int) -> None:
    """Set the argon2id parameters; hashes made with others are rehashed at the next login."""
    global _hasher_instance
    wanted = {"time_cost": time_cost, "memory_cost": memory_cost, "parallelism": parallelism}
    if wanted != _parameters:
        _parameters.update(wanted)
        _hasher_instance = None
        _dummy_hash.cache_clear()


def configure_concurrency(limit: int) -> None:
    """Let at most `limit` hashes or verifications run at once (each holds ARGON2_MEMORY_COST KiB)."""
    global _slots
    if limit < 1:
        raise ValueError("at least one password hash must be allowed to run")
    _slots = threading.BoundedSemaphore(limit)


def _bounded(compute: Callable[[], _T]) -> _T:
    """Run a memory-hungry hash computation once a slot is free."""
    with _slots:
        return compute()


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
    hasher = _hasher()
    return PasswordHash(_bounded(lambda: hasher.hash(password)))


def verify_password(stored: str | None, password: str) -> bool:
    """Say whether `password` matches `stored`; with no stored hash, spend the same time and fail."""
    if not stored:
        _verify_argon2(_dummy_hash(), password)
        return False
    if stored.startswith(_LEGACY_PREFIXES):
        from werkzeug.security import check_password_hash

        return _bounded(lambda: check_password_hash(stored, password))  # scrypt needs memory too
    return _verify_argon2(stored, password)


def needs_rehash(stored: str) -> bool:
    """Say whether `stored` is a legacy hash or an argon2 hash made with other parameters."""
    if stored.startswith(_LEGACY_PREFIXES):
        return True
    try:
        return _hasher().check_needs_rehash(stored)
    except ValueError:  # argon2's InvalidHashError
        return True


def _verify_argon2(stored: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    try:
        return _bounded(lambda: hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Return a hash of a random password, to verify against when an account does not exist."""
    return hash_password(secrets.token_urlsafe(16))
