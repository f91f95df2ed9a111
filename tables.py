"""Create the tables, and export or import all their items as JSON Lines."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException
from pynamodb.models import Model

from models import MODELS, TABLE_NAMES

_MODELS_BY_TABLE = {TABLE_NAMES[model]: model for model in MODELS}


def create_tables(models: Iterable[type[Model]] = MODELS) -> list[str]:
    """Create the tables that do not exist yet (on-demand billing) and return their names."""
    created = []
    for model in models:
        if not model.exists():
            model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
            created.append(model.Meta.table_name)
    return created


def export_items(models: Iterable[type[Model]] = MODELS) -> Iterator[dict[str, Any]]:
    """Yield every item of every table as `{"table": name without prefix, "item": DynamoDB JSON}`."""
    for model in models:
        for item in model.scan(consistent_read=True):
            yield {"table": TABLE_NAMES[model], "item": item.to_dynamodb_dict()}


def export_data(out: IO[str], models: Iterable[type[Model]] = MODELS) -> int:
    """Write every item as one JSON line to `out` and return how many were written."""
    count = 0
    for record in export_items(models):
        out.write(json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n")
        count += 1
    return count


class BadImportFile(ValueError):
    """A line of an import file cannot be imported; the message names the line."""


MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item size limit
MAX_HASH_KEY_BYTES = 2048
MAX_RANGE_KEY_BYTES = 1024
_BATCH_SIZE = 25  # BatchWriteItem's limit
_SPOOL_IN_MEMORY = 8 * 1024 * 1024  # larger checked files spill to a temporary file


def import_data(lines: Iterable[str]) -> int:
    """Write every record of a JSON Lines export, all or nothing; return how many were written.

    Every line is checked against DynamoDB's rules before the first write. Should DynamoDB
    still refuse a batch, the items written so far are put back as they were (removed, or
    the replaced item restored). The file is read once and spooled, so memory stays bounded.
    """
    with (
        tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY, mode="w+", encoding="utf-8") as checked,
        tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY, mode="w+", encoding="utf-8") as undo,
    ):
        count = _check_all(lines, checked)
        checked.seek(0)
        _write_all_or_nothing(checked, undo)
    return count


def read_records(lines: Iterable[str]) -> Iterator[tuple[int, Model]]:
    """Yield (line number, item) for every record, checked as DynamoDB would check it, before any write."""
    seen_keys: set[bytes] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise BadImportFile(f"line {number}: not JSON ({exc})") from None
        if number == 1 and isinstance(record, dict) and set(record) == {"snapshot"}:
            continue  # the header of run.py's snapshot file
        yield number, _check_record(number, record, seen_keys)


def _check_record(number: int, record: Any, seen_keys: set[bytes]) -> Model:
    if not isinstance(record, dict) or not isinstance(record.get("item"), dict):
        part = "the line" if not isinstance(record, dict) else '"item"'
        raise BadImportFile(f'line {number}: {part} is not an object; expected {{"table": ..., "item": {{...}}}}')
    model = _MODELS_BY_TABLE.get(record.get("table"))  # type: ignore[arg-type]
    if model is None:
        known = ", ".join(sorted(_MODELS_BY_TABLE))
        raise BadImportFile(f"line {number}: unknown table {record.get('table')!r} (known: {known})")
    item = record["item"]
    key = []
    for attribute in model.get_attributes().values():
        if not (attribute.is_hash_key or attribute.is_range_key):
            continue
        name = attribute.attr_name
        value = item.get(name)
        if value is None:
            raise BadImportFile(f"line {number}: the item has no key attribute {name!r}")
        if not isinstance(value, dict) or list(value) != [attribute.attr_type]:
            raise BadImportFile(f"line {number}: key attribute {name!r} must be of type {attribute.attr_type}")
        if value[attribute.attr_type] in ("", None):
            raise BadImportFile(f"line {number}: key attribute {name!r} is empty")
        limit = MAX_HASH_KEY_BYTES if attribute.is_hash_key else MAX_RANGE_KEY_BYTES
        if _value_size(value) > limit:
            raise BadImportFile(f"line {number}: key attribute {name!r} is longer than {limit} bytes")
        key.append(value)
    digest = hashlib.blake2b(json.dumps([record["table"], key], sort_keys=True).encode(), digest_size=16).digest()
    if digest in seen_keys:  # BatchWriteItem refuses a key twice in one batch; across batches, one would be lost
        raise BadImportFile(f"line {number}: an earlier line has the same key in table {record['table']!r}")
    seen_keys.add(digest)
    try:
        size = item_size(item)
        instance = model(_user_instantiated=False)
        instance.from_dynamodb_dict(item)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadImportFile(f"line {number}: the item does not fit table {record['table']!r}: {exc}") from None
    if size > MAX_ITEM_BYTES:
        raise BadImportFile(f"line {number}: the item is {size} bytes; DynamoDB takes at most {MAX_ITEM_BYTES}")
    return instance


def item_size(item: dict[str, Any]) -> int:
    """Return an item's size as DynamoDB counts it: attribute names plus values."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, content),) = value.items()
    if kind == "S":
        return len(content.encode("utf-8"))
    if kind == "N":
        return len(content.lstrip("-").replace(".", "").strip("0")) // 2 + 2  # about 1 byte per 2 digits, + 1
    if kind == "B":
        return len(base64.b64decode(content))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: member}) for member in content)
    if kind == "L":
        return 3 + sum(1 + _value_size(member) for member in content)
    if kind == "M":
        return 3 + sum(1 + len(name.encode("utf-8")) + _value_size(member) for name, member in content.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def _check_all(lines: Iterable[str], checked: IO[str]) -> int:
    """Check every line and spool the good ones as `[line number, table, item]`; return how many."""
    count = 0
    for number, instance in read_records(lines):
        checked.write(json.dumps([number, TABLE_NAMES[type(instance)], instance.to_dynamodb_dict()]) + "\n")
        count += 1
    return count


def _write_all_or_nothing(checked: IO[str], undo: IO[str]) -> None:
    pending: dict[type[Model], list[tuple[int, Model]]] = {}
    batch: list[tuple[int, Model]] = []
    try:
        for line in checked:
            number, table, item = json.loads(line)
            model = _MODELS_BY_TABLE[table]
            instance = model(_user_instantiated=False)
            instance.from_dynamodb_dict(item)
            batch = pending.setdefault(model, [])
            batch.append((number, instance))
            if len(batch) == _BATCH_SIZE:
                _write_batch(model, batch, undo)
                batch.clear()
        for model, batch in pending.items():
            if batch:
                _write_batch(model, batch, undo)
    except (PynamoDBException, BotoCoreError, ClientError) as error:
        lines = f"{batch[0][0]}" if len(batch) < 2 else f"{batch[0][0]} to {batch[-1][0]}"
        reason = getattr(error, "cause_response_message", None) or error
        try:
            _undo(undo)
        except (PynamoDBException, BotoCoreError, ClientError) as undo_error:
            raise BadImportFile(
                f"line {batch[0][0]}: DynamoDB refused the items of lines {lines} ({reason}), and putting back "
                f"what was written before failed too ({undo_error}): items of earlier lines may remain"
            ) from None
        raise BadImportFile(f"line {batch[0][0]}: DynamoDB refused the items of lines {lines}: {reason}") from None


def _key(model: type[Model], instance: Model) -> Any:
    hash_key = getattr(instance, model._hash_keyname)
    return (hash_key, getattr(instance, model._range_keyname)) if model._range_keyname else hash_key


def _write_batch(model: type[Model], batch: list[tuple[int, Model]], undo: IO[str]) -> None:
    """Note what the batch replaces (for the undo), then write it."""
    keys = [_key(model, instance) for _, instance in batch]
    previous = {json.dumps(_key(model, item)): item for item in model.batch_get(keys, consistent_read=True)}
    for key, (_, instance) in zip(keys, batch, strict=True):
        before = previous.get(json.dumps(key))
        entry = {"table": TABLE_NAMES[model], "item": instance.to_dynamodb_dict()}
        entry["previous"] = before.to_dynamodb_dict() if before is not None else None
        undo.write(json.dumps(entry) + "\n")
    undo.flush()
    with model.batch_write() as writer:
        for _, instance in batch:
            writer.save(instance)


def _undo(undo: IO[str]) -> None:
    """Put back every item the import replaced and remove every item it added (batch writes: no model hooks)."""
    undo.seek(0)
    with contextlib.ExitStack() as stack:
        writers: dict[type[Model], Any] = {}
        for line in undo:
            entry = json.loads(line)
            model = _MODELS_BY_TABLE[entry["table"]]
            if model not in writers:
                writers[model] = stack.enter_context(model.batch_write())
            instance = model(_user_instantiated=False)
            instance.from_dynamodb_dict(entry["previous"] or entry["item"])
            if entry["previous"] is not None:
                writers[model].save(instance)
            else:
                writers[model].delete(instance)
