"""Create the tables, and export or import all their items as JSON Lines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

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
    """A line of an import file cannot be read; the message names the line."""


def read_records(lines: Iterable[str]) -> list[Model]:
    """Parse and check every line before anything is written, so a bad file writes nothing."""
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise BadImportFile(f"line {number}: not JSON ({exc})") from None
        if not isinstance(record, dict) or not isinstance(record.get("item"), dict):
            part = "the line" if not isinstance(record, dict) else '"item"'
            raise BadImportFile(f'line {number}: {part} is not an object; expected {{"table": ..., "item": {{...}}}}')
        model = _MODELS_BY_TABLE.get(record.get("table"))  # type: ignore[arg-type]
        if model is None:
            known = ", ".join(sorted(_MODELS_BY_TABLE))
            raise BadImportFile(f"line {number}: unknown table {record.get('table')!r} (known: {known})")
        item = record["item"]
        for attribute in model.get_attributes().values():
            if (attribute.is_hash_key or attribute.is_range_key) and attribute.attr_name not in item:
                raise BadImportFile(f"line {number}: the item has no key attribute {attribute.attr_name!r}")
        try:
            instance = model(_user_instantiated=False)
            instance.from_dynamodb_dict(item)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BadImportFile(f"line {number}: the item does not fit table {record['table']!r}: {exc}") from None
        records.append(instance)
    return records


def import_data(lines: Iterable[str]) -> int:
    """Write every record of a JSON Lines export (existing items with the same keys are replaced)."""
    records = read_records(lines)
    by_model: dict[type[Model], list[Model]] = {}
    for instance in records:
        by_model.setdefault(type(instance), []).append(instance)
    for model, instances in by_model.items():
        with model.batch_write() as batch:
            for instance in instances:
                batch.save(instance)
    return len(records)
