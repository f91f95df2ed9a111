"""Keep the embedded store's data across restarts and crashes: a snapshot plus a journal of writes.

Every write the store acknowledges is first appended to DATA_DIR/dynamodb.journal, so
`kill -9` loses none of them. Every SNAPSHOT_INTERVAL seconds (when something changed)
and at exit, the tables are written to DATA_DIR/dynamodb.jsonl while no request is
served, so the snapshot is one moment of every table, and the journal starts afresh.
At start, the snapshot is loaded and the journal's newer writes are replayed in order.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SNAPSHOT_NAME = "dynamodb.jsonl"
JOURNAL_NAME = "dynamodb.journal"


class DurableData:
    """Snapshot and journal of one LocalDynamoDB, for the models' tables."""

    def __init__(self, store: Any, data_dir: Path, interval: float) -> None:
        self.store = store
        self.path = data_dir / SNAPSHOT_NAME
        self.journal_path = data_dir / JOURNAL_NAME
        self.interval = interval
        self._saved_sequence = -1
        self._save_lock = threading.Lock()
        self._stopped = threading.Event()

    def restore(self) -> int:
        """Load the snapshot, replay the journal, start journaling; return how many items there are."""
        import tables
        from local_dynamodb import Journal

        tables.create_tables()
        sequence = 0
        if self.path.exists():
            with open(self.path, encoding="utf-8") as lines:
                sequence = _read_header(lines)
                tables.import_data(lines)
        replayed = sequence
        for record in _journal_records(self.journal_path):
            if record["seq"] <= sequence:
                continue  # already in the snapshot: the journal was not cleared before a crash
            status = self.store.replay(record["target"], record["region"], record["body"].encode("utf-8"))
            if status != 200:  # it succeeded once on the same state, so it cannot fail now
                log.warning("journal write %s (%s) answered %s on replay", record["seq"], record["target"], status)
            replayed = record["seq"]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.store.journal = Journal(self.journal_path, sequence=replayed)
        self._saved_sequence = -1
        return self.save()

    def save(self) -> int:
        """Write every table to the snapshot while no request is served, then clear the journal.

        Returns how many items the snapshot holds (-1 when nothing changed since the last save).
        """
        from models import MODELS, TABLE_NAMES

        with self._save_lock, self.store.paused():
            journal = self.store.journal
            if journal is None or journal.sequence == self._saved_sequence:
                return -1
            partial = self.path.with_name(self.path.name + ".partial")
            count = 0
            with open(partial, "w", encoding="utf-8") as out:
                out.write(json.dumps({"snapshot": {"seq": journal.sequence}}) + "\n")
                for model in MODELS:
                    for item in self.store.table_items(model.Meta.table_name):
                        record = {"table": TABLE_NAMES[model], "item": item}
                        out.write(json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n")
                        count += 1
            os.replace(partial, self.path)  # atomic: a crash mid-save keeps the previous snapshot
            # A crash right here replays nothing twice: the snapshot's seq covers these lines.
            journal.clear()
            self._saved_sequence = journal.sequence
            return count

    def run_in_background(self) -> None:
        """Save periodically until the process exits, and once more at exit."""

        def loop() -> None:
            while not self._stopped.wait(self.interval):
                self.save()

        threading.Thread(target=loop, name="snapshots", daemon=True).start()
        atexit.register(self.stop)

    def stop(self) -> None:
        self._stopped.set()
        self.save()


def _read_header(lines: Any) -> int:
    """Return the journal sequence a snapshot covers (0 for a snapshot without a header)."""
    position = lines.tell()
    first = lines.readline()
    try:
        header = json.loads(first)
    except ValueError:
        header = None
    if isinstance(header, dict) and isinstance(header.get("snapshot"), dict):
        return int(header["snapshot"].get("seq", 0))
    lines.seek(position)
    return 0


def _journal_records(path: Path) -> list[dict[str, Any]]:
    """Return the journal's records in order; a torn last line (never acknowledged) is left out."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    records = []
    for line in text.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            break  # only the last line can be torn: it was being written when the process died
    return records
