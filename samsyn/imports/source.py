"""The core_source row an import loads into (legacy get_or_create by sid)."""
from __future__ import annotations

import os

import psycopg

from samsyn.errors import ImportFailed
from samsyn.imports.options import ImportOptions

_LIMITS = {"sid": 50, "source_name": 50, "description": 255, "source_type": 50}


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path.rstrip("/")))[0] or "import"


def check_lengths(options: ImportOptions) -> None:
    for name, limit in _LIMITS.items():
        value = getattr(options, name)
        if value is not None and len(value) > limit:
            raise ImportFailed(f"{options.path}: --{name} is longer than {limit} characters")


def get_or_create(conn: psycopg.Connection, options: ImportOptions) -> tuple[int, str, str, bool]:
    """(source pk, sid, name, created). An existing sid is reused (rows are appended); the row
    is held FOR KEY SHARE until commit so it cannot be deleted under the import."""
    check_lengths(options)
    name = options.source_name or _stem(options.path)[:50]
    if options.sid is not None:
        # Look before inserting: an INSERT that meets the unique sid still takes (burns) an id
        # from the identity sequence, as the legacy's failed re-upload did.
        existing = "SELECT id, name FROM core_source WHERE sid = %s FOR KEY SHARE"
        row = conn.execute(existing, (options.sid,)).fetchone()
        if row is not None:
            return int(row[0]), options.sid, str(row[1]), False
        row = conn.execute(
            "INSERT INTO core_source (sid, name, description, source_type, attributes) "
            "VALUES (%s, %s, %s, %s, '{}') ON CONFLICT (sid) DO NOTHING RETURNING id",
            (options.sid, name, options.description, options.source_type)).fetchone()
        if row is not None:
            return int(row[0]), options.sid, name, True
        row = conn.execute(existing, (options.sid,)).fetchone()   # a concurrent import won
        if row is None:  # and its source was deleted again since
            raise ImportFailed(f"{options.path}: source {options.sid!r} vanished, try again")
        return int(row[0]), options.sid, str(row[1]), False
    # No sid: a new source whose sid is its id (the legacy sids are ids as text).
    (pk,) = conn.execute(
        "INSERT INTO core_source (sid, name, description, source_type, attributes) "
        "VALUES (gen_random_uuid()::text, %s, %s, %s, '{}') RETURNING id",
        (name, options.description, options.source_type)).fetchone()
    sid = str(pk)
    taken = conn.execute("SELECT 1 FROM core_source WHERE sid = %s", (sid,)).fetchone()
    if taken:
        sid = f"{_stem(options.path)[:30]}-{pk}"
    conn.execute("UPDATE core_source SET sid = %s WHERE id = %s", (sid, pk))
    return int(pk), sid, name, True
