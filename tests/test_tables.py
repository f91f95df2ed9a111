"""import_data writes all or nothing: DynamoDB's rules checked first, and a refusal mid-way undone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from test_faults import FaultProxy

import tables
from local_dynamodb import LocalDynamoDB


def email_claim(number: int, user_id: str | None = None) -> dict[str, Any]:
    item = {"email": {"S": f"u{number}@example.com"}, "user_id": {"S": user_id or str(number)}}
    return {"table": "user_emails", "item": item}


def good_lines(count: int) -> list[str]:
    return [json.dumps(email_claim(number)) for number in range(count)]


def all_items() -> dict[str, list[dict[str, Any]]]:
    import models

    return {
        tables.TABLE_NAMES[model]: sorted(
            (item.to_dynamodb_dict() for item in model.scan(consistent_read=True)), key=json.dumps
        )
        for model in models.MODELS
    }


EMPTY = {name: [] for name in tables.TABLE_NAMES.values()}  # every table, each empty
BIG_TEXT = "x" * (400 * 1024)


@pytest.mark.parametrize(
    ("bad_record", "problem"),
    [
        pytest.param(
            {"table": "user_emails", "item": {"email": {"S": ""}, "user_id": {"S": "1"}}},
            "key attribute 'email' is empty",
            id="empty string key",
        ),
        pytest.param(
            email_claim(3),
            "an earlier line has the same key in table 'user_emails'",
            id="key repeated in the file",
        ),
        pytest.param(
            {"table": "todos", "item": {"user_id": {"S": "1"}, "id": {"S": "1"}, "text": {"S": BIG_TEXT}}},
            f"the item is {len(BIG_TEXT) + len('user_id') + 1 + len('id') + 1 + len('text')} bytes; "
            "DynamoDB takes at most 409600",
            id="item over 400 KB",
        ),
        pytest.param(
            {"table": "user_emails", "item": {"email": {"S": "e" * 2049}, "user_id": {"S": "1"}}},
            "key attribute 'email' is longer than 2048 bytes",
            id="hash key over 2048 bytes",
        ),
        pytest.param(
            {"table": "todos", "item": {"user_id": {"S": "1"}, "id": {"S": "i" * 1025}, "text": {"S": "t"}}},
            "key attribute 'id' is longer than 1024 bytes",
            id="range key over 1024 bytes",
        ),
    ],
)
def test_a_bad_item_among_999_good_ones_writes_nothing(app: Any, bad_record: dict[str, Any], problem: str) -> None:
    """GIVEN 999 good items and, at line 500, one that only DynamoDB itself would refuse THEN nothing is written."""
    lines = good_lines(999)
    lines.insert(499, json.dumps(bad_record))

    with pytest.raises(tables.BadImportFile) as raised:
        tables.import_data(line + "\n" for line in lines)

    assert str(raised.value) == f"line 500: {problem}"
    assert all_items() == EMPTY


def test_a_good_file_replaces_items_with_the_same_keys(app: Any) -> None:
    """Existing items with the keys of the file are replaced; the others stay."""
    assert tables.import_data([json.dumps(email_claim(1, "old")), json.dumps(email_claim(2))]) == 2
    assert tables.import_data([json.dumps(email_claim(1, "new")), json.dumps(email_claim(3))]) == 2
    expected = [email_claim(1, "new")["item"], email_claim(2)["item"], email_claim(3)["item"]]
    assert all_items() == {**EMPTY, "user_emails": sorted(expected, key=json.dumps)}


def test_a_snapshot_file_of_run_py_imports(app: Any) -> None:
    """The header line of run.py's snapshot is not an item."""
    assert tables.import_data([json.dumps({"snapshot": {"seq": 7}}), json.dumps(email_claim(1))]) == 1
    assert all_items() == {**EMPTY, "user_emails": [email_claim(1)["item"]]}


@pytest.fixture
def proxied(app: Any, settings: dict[str, Any], dynamodb: LocalDynamoDB) -> Iterator[FaultProxy]:
    """Point the models at DynamoDB through a fault proxy."""
    import config
    import models

    proxy = FaultProxy(dynamodb.port)
    models.configure(config.load_settings({**settings, "DYNAMODB_HOST": proxy.url}, dotenv=False))
    yield proxy
    models.configure(config.load_settings(settings, dotenv=False))
    proxy.close()


def test_a_refusal_mid_way_puts_back_what_was_written(app: Any, proxied: FaultProxy) -> None:
    """GIVEN a file of 60 items, one replacing an item WHEN DynamoDB refuses the third batch THEN all is as before."""
    before = json.dumps(email_claim(30, "before the import"))
    tables.import_data([before])
    lines = good_lines(60)

    # Each batch of 25 is a BatchGetItem (what it replaces) and a BatchWriteItem: the 6th request is the 3rd write.
    proxied.set("refuse", forward_next=5, times=1)
    with pytest.raises(tables.BadImportFile) as raised:
        tables.import_data(lines)

    assert str(raised.value) == (
        "line 51: DynamoDB refused the items of lines 51 to 60: "
        "One or more parameter values were invalid: refused by the test proxy"
    )
    assert all_items() == {**EMPTY, "user_emails": [json.loads(before)["item"]]}
