"""The demo content, loaded once per test session and put back in each test that wants it.

`manage.py load_demo` draws images, publishes pages and updates the search and reference
indexes: seconds per test, tens of seconds on a loaded machine. `DemoSnapshot.take()` runs it
once on the database as migrations left it, keeps every row it added or changed (and the keys
of the rows it deleted), then puts the database back. `restore()` writes those rows again,
which is what `load_demo` would have written, at a fraction of the cost.

It knows nothing about what the demo contains; it compares the database before and after.
The demo's rows keep their ids. Those ids are free: the demo was really loaded once, so every
id counter (PostgreSQL sequences, SQLite's AUTOINCREMENT) is past them, and flushes between
tests leave counters alone. `restore()` never moves a counter back (as `loaddata` would): on
PostgreSQL an id is then never used twice in a run, which caches keyed by id (renditions)
rely on. Whenever the fast way cannot promise the same result (a test made rows with the demo's
keys first, or the date changed since the snapshot, which moves the demo's dates), `restore()`
returns False and the caller loads the demo the slow way.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from django.apps import apps
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone


def _rows(serialized: str) -> dict[tuple[str, object], dict]:
    return {(row["model"], row["pk"]): row for row in json.loads(serialized)}


def _reset(pristine: str) -> None:
    """Empty every table and write back the rows migrations made, as Django's serialized
    rollback does between transactional tests; id sequences are left where they are."""
    call_command(
        "flush", interactive=False, verbosity=0, reset_sequences=False, inhibit_post_migrate=True
    )
    connection.creation.deserialize_db_from_string(pristine)


@dataclass(frozen=True)
class DemoSnapshot:
    day: object
    added: dict[str, list]  # model label -> primary keys of rows the demo created
    deleted: dict[str, list]  # model label -> primary keys of rows the demo removed
    rows: str  # the added and changed rows, serialized

    @classmethod
    def take(cls) -> DemoSnapshot:
        """Load the demo once and remember what it wrote; the database ends as migrations
        left it (also when a transactional test had flushed it before)."""
        pristine = getattr(connection, "_test_serialized_contents", None)
        if pristine is None:
            # No transactional test in this run: nothing has flushed the migrated rows.
            pristine = connection.creation.serialize_db_to_string()
        _reset(pristine)
        day = timezone.localdate()
        with open(os.devnull, "w") as devnull:
            call_command("load_demo", stdout=devnull)
        before, after = _rows(pristine), _rows(connection.creation.serialize_db_to_string())
        _reset(pristine)

        added: dict[str, list] = {}
        deleted: dict[str, list] = {}
        for label, pk in after.keys() - before.keys():
            added.setdefault(label, []).append(pk)
        for label, pk in before.keys() - after.keys():
            deleted.setdefault(label, []).append(pk)
        changed = [row for key, row in after.items() if before.get(key) != row]
        return cls(day=day, added=added, deleted=deleted, rows=json.dumps(changed))

    def restore(self) -> bool:
        """Write the demo into the current test's database; False (and nothing written) when
        only a real `load_demo` can give the same result."""
        if timezone.localdate() != self.day:
            return False
        try:
            with transaction.atomic():
                for label, pks in self.added.items():
                    if apps.get_model(label)._base_manager.filter(pk__in=pks).exists():
                        return False
                with connection.cursor() as cursor:
                    for label, pks in self.deleted.items():
                        meta = apps.get_model(label)._meta
                        placeholders = ", ".join(["%s"] * len(pks))
                        cursor.execute(
                            f"DELETE FROM {connection.ops.quote_name(meta.db_table)} "  # noqa: S608
                            f"WHERE {connection.ops.quote_name(meta.pk.column)} "
                            f"IN ({placeholders})",
                            pks,
                        )
                connection.creation.deserialize_db_from_string(self.rows)
        except IntegrityError:
            return False  # a row the test made first holds a unique value the demo needs
        return True
