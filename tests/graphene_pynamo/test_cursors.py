"""Signed cursors and the settings that sign them."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLError
from pynamo_testapp import TodoModel

import graphene_pynamo
from graphene_pynamo import PynamoQuery, settings
from graphene_pynamo.connection import read_page
from graphene_pynamo.cursors import decode_cursor, encode_cursor

KEY_TYPES = {"owner": "S", "rank": "N", "digest": "B"}
POSITION = {"owner": {"S": "ada"}, "rank": {"N": "-1.5"}, "digest": {"B": b"\x00\xff"}}


def test_cursors_round_trip_every_key_type():
    """Decode the position a cursor was made from: string, number and binary keys."""
    cursor = encode_cursor(POSITION, KEY_TYPES, b"list one")

    assert decode_cursor(cursor, KEY_TYPES, b"list one") == POSITION


def test_cursors_are_url_safe_and_opaque():
    """Make cursors of URL-safe characters that do not show the list they belong to."""
    cursor = encode_cursor(POSITION, KEY_TYPES, b"todos of ada")

    assert cursor.replace("-", "").replace("_", "").isalnum()
    assert encode_cursor(POSITION, KEY_TYPES, b"todos of grace") != cursor


@pytest.mark.parametrize(
    "cursor",
    [None, 7, "", "%%%", "A", "é", "A" * 30, lambda: encode_cursor(POSITION, KEY_TYPES, b"another list")],
)
def test_cursors_of_other_lists_or_none_at_all_are_invalid(cursor):
    """Raise INVALID_CURSOR for anything but a cursor of this list."""
    cursor = cursor() if callable(cursor) else cursor

    with pytest.raises(GraphQLError) as raised:
        decode_cursor(cursor, KEY_TYPES, b"list one")
    assert raised.value.extensions == {"code": "INVALID_CURSOR"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cursor_secret": "too short"}, "cursor_secret must be at least 32 characters long"),
        ({"cursor_secret": None}, "cursor_secret must be at least 32 characters long"),
        (
            {"cursor_secret": "x" * 32, "max_page_size": 0},
            "max_page_size and max_items_read must be positive",
        ),
        (
            {"cursor_secret": "x" * 32, "max_items_read": -1},
            "max_page_size and max_items_read must be positive",
        ),
    ],
)
def test_configure_rejects_weak_secrets_and_empty_bounds(options, message):
    """Refuse a secret shorter than 32 characters and bounds below 1."""
    with pytest.raises(ValueError, match=message):
        graphene_pynamo.configure(**options)


def test_connections_need_a_configured_secret(monkeypatch: Any):
    """Refuse to page until the app has configured a cursor secret: there is no default."""
    monkeypatch.setattr(settings, "_settings", settings.Settings())

    with pytest.raises(RuntimeError, match=r"call graphene_pynamo\.configure\(cursor_secret=\.\.\.\)"):
        read_page(PynamoQuery(TodoModel, "ada"), after="anything")


def test_configure_sets_the_default_bounds():
    """Keep the configured page size and read bound, 100 and 1,000 by default."""
    assert (settings.get_settings().max_page_size, settings.get_settings().max_items_read) == (100, 1000)

    graphene_pynamo.configure(cursor_secret="x" * 32, max_page_size=10, max_items_read=50)

    assert (settings.get_settings().max_page_size, settings.get_settings().max_items_read) == (10, 50)


def test_a_cursor_is_a_keyed_blake2b_tag_then_the_key_values():
    """Pin the format: base64url(BLAKE2b-128 keyed with the cursor key, over the list's identity and the
    values; then the values as a JSON array), without padding."""
    import hashlib
    from base64 import urlsafe_b64encode

    identity, payload = b"list one", b'["ada","-1.5","AP8="]'
    tag = hashlib.blake2b(len(identity).to_bytes(4, "big") + identity + payload,
                          key=settings.get_settings().cursor_key, digest_size=16).digest()
    expected = urlsafe_b64encode(tag + payload).rstrip(b"=").decode("ascii")
    assert encode_cursor(POSITION, KEY_TYPES, identity) == expected


def test_a_raw_item_gives_its_positions_cursor():
    """A page makes each edge's cursor from the raw item: only the key attributes count."""
    from graphene_pynamo.cursors import ListCursors

    item = {**POSITION, "text": {"S": "not a key"}}
    assert ListCursors(KEY_TYPES, b"list one").encode(item) == encode_cursor(POSITION, KEY_TYPES, b"list one")
