"""State of the stand-in: Stripe objects, events and idempotency records in one SQLite database.

SQLite gives us atomic multi-object updates and, with a file path, state that survives a
restart; ``:memory:`` keeps tests isolated. One connection behind a re-entrant lock is plenty
for a development tool and keeps every action serialised, like a single Stripe account.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS objects_kind ON objects (kind, seq);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    params TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


# The field that names an object's owner, for the kinds read by owner.
PARENT_FIELD = {
    "invoice_payment": "invoice",
    "refund": "charge",
    "subscription": "customer",
    "invoice": "customer",
}


class Store:
    """Objects keyed by Stripe id, listed newest first like the real API."""

    def __init__(self, path: str = ":memory:") -> None:
        self.lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            # WAL with NORMAL sync: durable enough for a dev tool, and commits stay fast.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._add_parent_column()
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(idempotency)")}
        if "created" not in columns:  # a data file from before keys expired
            self._db.execute(
                "ALTER TABLE idempotency ADD COLUMN created INTEGER NOT NULL DEFAULT 0"
            )
        self._depth = 0

    def _add_parent_column(self) -> None:
        """Each object's owner (PARENT_FIELD), indexed: expanding an invoice's payments or a
        charge's refunds reads those rows, not every row of the kind (Stripe's reads do not
        slow down as an account grows; the stand-in's should not either)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(objects)")}
        if "parent" not in columns:
            self._db.execute("ALTER TABLE objects ADD COLUMN parent TEXT")
            for kind, field in PARENT_FIELD.items():
                self._db.execute(
                    "UPDATE objects SET parent = json_extract(body, ?) WHERE kind = ?",
                    (f"$.{field}", kind),
                )
        self._db.execute("CREATE INDEX IF NOT EXISTS objects_parent ON objects (parent, kind, seq)")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock and make every write inside one atomic unit (nesting joins the outer)."""
        with self.lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            self._db.close()

    # -- objects -----------------------------------------------------------------------------

    def get(self, object_id: str) -> dict[str, Any] | None:
        with self.lock:
            row = self._db.execute("SELECT body FROM objects WHERE id = ?", (object_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, obj: dict[str, Any], kind: str | None = None) -> dict[str, Any]:
        """Insert or replace; a replaced object keeps its place in list order."""
        body = json.dumps(obj, separators=(",", ":"), sort_keys=False)
        with self.transaction():
            kind = kind or obj["object"]
            field = PARENT_FIELD.get(kind)
            parent = obj.get(field) if field else None
            row = self._db.execute("SELECT seq FROM objects WHERE id = ?", (obj["id"],)).fetchone()
            if row:
                self._db.execute(
                    "UPDATE objects SET body = ?, parent = ? WHERE id = ?",
                    (body, parent, obj["id"]),
                )
            else:
                seq = self.next_number("object_seq")
                self._db.execute(
                    "INSERT INTO objects (id, kind, seq, body, parent) VALUES (?, ?, ?, ?, ?)",
                    (obj["id"], kind, seq, body, parent),
                )
        return obj

    def children(self, kind: str, parent: str) -> list[dict[str, Any]]:
        """The objects of a kind that belong to `parent` (see PARENT_FIELD), newest first."""
        with self.lock:
            rows = self._db.execute(
                "SELECT body FROM objects WHERE parent = ? AND kind = ? ORDER BY seq DESC",
                (parent, kind),
            ).fetchall()
        return [json.loads(body) for (body,) in rows]

    def all(self, kind: str) -> list[dict[str, Any]]:
        """Every object of a kind, newest first."""
        with self.lock:
            rows = self._db.execute(
                "SELECT body FROM objects WHERE kind = ? ORDER BY seq DESC", (kind,)
            ).fetchall()
        return [json.loads(body) for (body,) in rows]

    # -- counters and switches -----------------------------------------------------------------

    def next_number(self, name: str) -> int:
        with self.transaction():
            current = int(self.meta(name, "0"))
            self.set_meta(name, str(current + 1))
        return current + 1

    def meta(self, key: str, default: str | None = None) -> str | None:
        with self.lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str | None) -> None:
        with self.lock:
            if value is None:
                self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

    # -- idempotency ---------------------------------------------------------------------------

    def idempotent_result(
        self, key: str, *, not_before: int
    ) -> tuple[str, str, str, int, str] | None:
        """The result saved for `key`, unless it was saved before `not_before` (then it is
        forgotten, as Stripe forgets keys after 24 hours)."""
        with self.lock:
            self._db.execute(
                "DELETE FROM idempotency WHERE key = ? AND created < ?", (key, not_before)
            )
            return self._db.execute(
                "SELECT method, path, params, status, body FROM idempotency WHERE key = ?", (key,)
            ).fetchone()

    def save_idempotent_result(
        self, key: str, method: str, path: str, params: str, status: int, body: str, created: int
    ) -> None:
        with self.lock:
            self._db.execute(
                "INSERT OR REPLACE INTO idempotency "
                "(key, method, path, params, status, body, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, method, path, params, status, body, created),
            )

    def reset(self) -> None:
        with self.transaction():
            for table in ("objects", "idempotency", "meta"):
                self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
