"""The emulator's account state: one table per resource kind, guarded by one lock.

Records are plain JSON-able dicts keyed by `(parent SID, SID)`; mapping kinds reuse the mapped
resource's SID, so the parent is part of the key. Optionally persisted to a JSON file after
every change (atomic replace), so a `local` stack survives restarts.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from emulator.catalog import KINDS

Record = dict[str, object]
Key = tuple[str, str]
STATE_VERSION = 1


class Store:
    """Thread-safe tables of records; all reads and writes happen under `lock`."""

    def __init__(
        self,
        account_sid: str,
        *,
        path: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account_sid = account_sid
        self.path = path
        self.clock = clock
        self.lock = threading.RLock()
        self.tables: dict[str, dict[Key, Record]] = {kind.name: {} for kind in KINDS}
        # With a seed (the emulator uses its fault seed), SIDs are derived from it and from
        # the creating request, so a fresh emulator gets the same SIDs on every run, hence the
        # same request URLs, hence the same seeded faults on the same calls. Counts are never
        # reset (not even by an admin reset), so this process never hands out a SID twice.
        self.sid_seed: Callable[[], int | None] = lambda: None
        self._sid_counts: Counter[str] = Counter()

    def new_sid(self, prefix: str, basis: str = "") -> str:
        """A new SID: random, or with ``sid_seed`` derived from it, ``prefix`` and ``basis``.

        A store kept in a state file always gets random SIDs: after a restart the counts would
        start over and hand a deleted resource's SID to a new one, which Twilio never does.
        """
        seed = self.sid_seed()
        if seed is None or self.path is not None:
            return prefix + uuid.uuid4().hex
        with self.lock:
            key = f"{seed}|{prefix}|{basis}"
            count = self._sid_counts[key]
            self._sid_counts[key] = count + 1
        # Distinct inputs (the count) make distinct 128-bit digests: no collision check needed.
        return prefix + hashlib.sha256(f"{key}|{count}".encode()).hexdigest()[:32]

    def get(self, kind: str, parent: str, sid: str) -> Record | None:
        return self.tables[kind].get((parent, sid))

    def put(self, kind: str, parent: str, record: Record) -> None:
        self.tables[kind][(parent, str(record["sid"]))] = record

    def remove(self, kind: str, parent: str, sid: str) -> Record | None:
        return self.tables[kind].pop((parent, sid), None)

    def items(self, kind: str, parent: str | None = None) -> Iterator[tuple[Key, Record]]:
        """Records of a kind in creation order, optionally only those under `parent`."""
        for key, record in self.tables[kind].items():
            if parent is None or key[0] == parent:
                yield key, record

    def find(self, kind: str, field: str, value: object) -> Record | None:
        for _, record in self.items(kind):
            if record.get(field) == value:
                return record
        return None

    def clear(self) -> None:
        for table in self.tables.values():
            table.clear()

    def snapshot(self) -> dict[str, object]:
        """The whole state as JSON-able data (no secrets: passwords are stored as digests)."""
        return {
            "version": STATE_VERSION,
            "account_sid": self.account_sid,
            "tables": {
                name: [[parent, record] for (parent, _), record in table.items()]
                for name, table in self.tables.items()
            },
        }

    def restore(self, data: dict[str, object]) -> None:
        tables = data.get("tables")
        if not isinstance(tables, dict):
            raise ValueError("state file has no 'tables' object")
        self.clear()
        for name, rows in tables.items():
            if name not in self.tables or not isinstance(rows, list):
                continue
            for parent, record in rows:
                self.put(name, str(parent), dict(record))

    def save(self) -> None:
        """Write the state file atomically, if persistence is on."""
        if self.path is None:
            return
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.snapshot(), separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, self.path)

    def load(self) -> bool:
        """Read the state file if it exists; return whether it did."""
        if self.path is None or not self.path.exists():
            return False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(
                f"cannot read emulator state {self.path}: {exc}; delete it to start fresh"
            ) from exc
        self.restore(data)
        return True


__all__ = ["Key", "Record", "Store"]
