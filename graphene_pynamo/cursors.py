"""Opaque, signed cursors that are only valid on the list they came from.

A cursor is a position in a DynamoDB list: the key attributes of an item, in the shape
DynamoDB takes as `ExclusiveStartKey` (the table's keys, plus the index's keys when the
list reads an index). The same position serves both directions: a Query forward from it
returns the items after it, a Query backward (`ScanIndexForward=False`) the items before.

Format: URL-safe base64, without padding, of a 16-byte keyed BLAKE2b tag (RFC 7693, which
Python's hashlib documents as a faster replacement for HMAC) followed by the JSON array of
the key values (strings and numbers as DynamoDB writes them, binary in base64). The tag
covers the key values and the identity of the list (operation, table,
index, partition key value, key condition, filter and order), and the identity is not in
the cursor: a cursor taken from one user's todos fails the check on another user's, or
on the same list with another filter. Any cursor that fails raises a GraphQLError with
`extensions.code` INVALID_CURSOR. The key values are visible to clients, who see them in
global ids anyway; signing keeps clients from reading from positions they make up.

Because the identity includes the conditions, a resolver whose conditions change from
request to request (say, `created_at > now - 1 day`) issues cursors that are only valid
while the conditions stay the same: round such values, or page on a stable list.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
from base64 import b64decode, b64encode, urlsafe_b64decode, urlsafe_b64encode
from typing import Any

from graphql import GraphQLError
from pynamodb.constants import BINARY

from .ids import compact_json
from .settings import get_settings

INVALID_CURSOR = "INVALID_CURSOR"
_TAG_SIZE = 16

Position = dict[str, dict[str, Any]]  # attribute name -> DynamoDB typed value, e.g. {"id": {"S": "01H..."}}


def invalid_cursor(message: str = "The cursor is not valid for this list.") -> GraphQLError:
    """Return the error a client gets for a cursor we did not issue for this list."""
    return GraphQLError(message, extensions={"code": INVALID_CURSOR})


def _key() -> bytes:
    key = get_settings().cursor_key
    if key is None:
        raise RuntimeError("call graphene_pynamo.configure(cursor_secret=...) before serving connections")
    return key


class ListCursors:
    """The cursors of one list: made and checked with the list's identity absorbed into the MAC once.

    A page makes a cursor per edge; each costs a copy of the prepared MAC, not a new one.
    """

    def __init__(self, key_types: dict[str, str], identity: bytes) -> None:
        self.key_types = key_types
        self._mac = hashlib.blake2b(len(identity).to_bytes(4, "big") + identity, key=_key(), digest_size=_TAG_SIZE)

    def _tag(self, payload: bytes) -> bytes:
        mac = self._mac.copy()
        mac.update(payload)
        return mac.digest()

    def encode(self, position: Position) -> str:
        """Return the cursor of `position` (a raw item will do: only its key attributes are read)."""
        values = []
        for name, kind in self.key_types.items():
            value = position[name][kind]
            values.append(b64encode(value).decode("ascii") if kind == BINARY else value)
        payload = compact_json(values).encode()
        return urlsafe_b64encode(self._tag(payload) + payload).rstrip(b"=").decode("ascii")

    def decode(self, cursor: Any) -> Position:
        """Return the position in `cursor`, or raise INVALID_CURSOR unless we issued it for this list."""
        if not isinstance(cursor, str) or not cursor.isascii():
            raise invalid_cursor()
        try:
            raw = urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise invalid_cursor() from None
        tag, payload = raw[:_TAG_SIZE], raw[_TAG_SIZE:]
        if not hmac.compare_digest(tag, self._tag(payload)):
            raise invalid_cursor()
        # Past the signature check the payload is ours; a mismatch means the list's keys changed.
        values = json.loads(payload)
        if not isinstance(values, list) or len(values) != len(self.key_types):
            raise invalid_cursor()
        return {
            name: {kind: b64decode(value) if kind == BINARY else value}
            for (name, kind), value in zip(self.key_types.items(), values, strict=True)
        }


def encode_cursor(position: Position, key_types: dict[str, str], identity: bytes) -> str:
    """Return the cursor of `position` on the list with `identity`."""
    return ListCursors(key_types, identity).encode(position)


def decode_cursor(cursor: Any, key_types: dict[str, str], identity: bytes) -> Position:
    """Return the position in `cursor`, or raise INVALID_CURSOR unless we issued it for this list."""
    return ListCursors(key_types, identity).decode(cursor)
