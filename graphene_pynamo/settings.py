"""Package settings the app sets once at startup with `configure(...)`.

Cursors are signed with a secret the app provides: there is no built-in default, so a
deployment cannot end up signing cursors with a secret everybody knows. Use the same
secret on every instance (cursors outlive the process that issued them).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import NamedTuple

MIN_SECRET_LENGTH = 32
DEFAULT_MAX_PAGE_SIZE = 100
DEFAULT_MAX_ITEMS_READ = 1000


class Settings(NamedTuple):
    """What `configure` set: the cursor signing key and the default paging bounds."""

    cursor_key: bytes | None = None
    max_page_size: int = DEFAULT_MAX_PAGE_SIZE
    max_items_read: int = DEFAULT_MAX_ITEMS_READ


_settings = Settings()


def configure(
    *,
    cursor_secret: str | bytes,
    max_page_size: int = DEFAULT_MAX_PAGE_SIZE,
    max_items_read: int = DEFAULT_MAX_ITEMS_READ,
) -> None:
    """Set the cursor secret and the default bounds of every connection field."""
    global _settings
    secret = cursor_secret.encode() if isinstance(cursor_secret, str) else cursor_secret
    if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"cursor_secret must be at least {MIN_SECRET_LENGTH} characters long")
    if max_page_size < 1 or max_items_read < 1:
        raise ValueError("max_page_size and max_items_read must be positive")
    # Derive a key of its own, so the app may pass a secret it also uses elsewhere (e.g. for JWTs).
    key = hmac.new(secret, b"graphene_pynamo cursor key v2", hashlib.sha256).digest()
    _settings = Settings(cursor_key=key, max_page_size=max_page_size, max_items_read=max_items_read)


def get_settings() -> Settings:
    """Return the settings `configure` set last (the defaults, without a cursor key, before)."""
    return _settings
