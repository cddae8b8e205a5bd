"""Source attribute statistics (legacy update_source_stats) and the Martin tile functions."""
from __future__ import annotations

from dataclasses import dataclass

import psycopg

from samsyn.db.migrate import sql_script


@dataclass
class StatsResult:
    source_pk: int
    updated: bool        # False: the source has no geometries, attributes left as they were
    keys: int            # attribute keys now in Source.attributes (0 when not updated)


def update_source_stats(conn: psycopg.Connection, source_pk: int) -> StatsResult:
    """Fill core_source.attributes with update_source_attributes() (contract NOTES.md §10).

    A source without geometries keeps its attributes and raises nothing (the SQL function
    would fail on it, as the legacy's did). The caller owns the transaction."""
    has_rows = conn.execute("SELECT EXISTS (SELECT 1 FROM core_geometry WHERE source_id = %s)",
                            (source_pk,)).fetchone()
    if not has_rows or not has_rows[0]:
        return StatsResult(source_pk, False, 0)
    conn.execute("SELECT public.update_source_attributes(%s)", (source_pk,))
    row = conn.execute("SELECT count(*) FROM core_source, jsonb_object_keys(attributes) "
                       "WHERE id = %s", (source_pk,)).fetchone()
    return StatsResult(source_pk, True, int(row[0]) if row else 0)


def create_martin_functions(conn: psycopg.Connection) -> list[str]:
    """Re-run functions.sql's CREATE OR REPLACE statements (idempotent); the function names."""
    from samsyn.db.adopt import legacy_function_statements

    statements = legacy_function_statements()
    conn.execute(sql_script("functions.sql"))
    return sorted(statements)
