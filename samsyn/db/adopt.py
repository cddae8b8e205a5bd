"""Database layer: adopt an existing legacy Django database in place (verify, then stamp).

``adopt(url)`` compares the database, table by table, with what revision 0001 creates (the DDL
of samsyn/db/sql/legacy_schema.sql, built for the comparison in a scratch schema inside a
transaction that is rolled back, so nothing is left behind and no CREATE DATABASE privilege is
needed). If it matches, missing legacy SQL functions are created, Alembic is stamped at 0001
and upgraded to head: samsyn's own tables are created and the legacy tables' exact duplicate
indexes dropped (revision 0006); rows are never touched. On a mismatch it reports per table
what differs and changes nothing.

``inspect_schema(conn)`` reads pg_catalog into a plain comparable structure and
``diff_schema(expected, actual)`` compares two of them; tests/integration/test_schema.py uses
both to diff the migrated schema against the legacy pg_dump.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import Connection

from samsyn.db.migrate import alembic_config, head_revision, normalize_url, sql_script

__all__ = [
    "LEGACY_FUNCTIONS",
    "LEGACY_TABLES",
    "AdoptReport",
    "adopt",
    "diff_schema",
    "inspect_schema",
    "legacy_function_statements",
]

#: Every table of contract/legacy-schema.sql (the tables samsyn shares with Django).
LEGACY_TABLES: frozenset[str] = frozenset(
    re.findall(r"^CREATE TABLE (\w+) \(", sql_script("legacy_schema.sql"), flags=re.M))

#: Identity signatures (``name(argtypes)``) of the legacy SQL functions.
LEGACY_FUNCTIONS: frozenset[str] = frozenset({
    "generate_geojson_feature_collection_v3(source_idq integer, bbox text, feature_limit integer)",
    "get_tile_coords(lat double precision, lon double precision, z integer)",
    "mvt_tile(z integer, x integer, y integer, query_params json)",
    "tilebbox(z integer, x integer, y integer, srid integer)",
    "update_source_attributes(source_id_param integer)",
})

_PROBE_SCHEMA = "samsyn_adopt_probe"
_ALEMBIC_BASE_REVISION = "0001"


# --------------------------------------------------------------------------- inspection

_TABLES_SQL = """
SELECT c.oid, c.relname, c.relkind, c.relpersistence, c.reloptions
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = :schema AND c.relkind IN ('r', 'p')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                   AND d.objid = c.oid AND d.deptype = 'e')
"""

_COLUMNS_SQL = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity, a.attgenerated,
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS collation
  FROM pg_attribute a
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  LEFT JOIN pg_collation co ON co.oid = a.attcollation
 WHERE a.attrelid = ANY(:oids) AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attrelid, a.attnum
"""

_CONSTRAINTS_SQL = """
SELECT conrelid, conname, contype, pg_get_constraintdef(oid) AS def, condeferrable, condeferred
  FROM pg_constraint WHERE conrelid = ANY(:oids)
"""

_INDEXES_SQL = """
SELECT i.indrelid, ic.relname, pg_get_indexdef(i.indexrelid) AS def, i.indisunique
  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
 WHERE i.indrelid = ANY(:oids)
"""

_TRIGGERS_SQL = """
SELECT tgrelid, tgname, pg_get_triggerdef(oid) AS def
  FROM pg_trigger WHERE tgrelid = ANY(:oids) AND NOT tgisinternal
"""

_SEQUENCES_SQL = """
SELECT s.relname, format_type(q.seqtypid, NULL) AS type, q.seqstart, q.seqincrement, q.seqmin,
       q.seqmax, q.seqcache, q.seqcycle, dep.refobjid AS owner_oid, dep.refobjsubid AS owner_col,
       dep.deptype
  FROM pg_sequence q
  JOIN pg_class s ON s.oid = q.seqrelid
  JOIN pg_namespace n ON n.oid = s.relnamespace
  LEFT JOIN pg_depend dep ON dep.classid = 'pg_class'::regclass AND dep.objid = s.oid
       AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i')
 WHERE n.nspname = :schema
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                   AND d.objid = s.oid AND d.deptype = 'e')
"""

_FUNCTIONS_SQL = """
SELECT p.proname || '(' || pg_get_function_arguments(p.oid) || ')' AS key,
       pg_get_function_identity_arguments(p.oid) AS identity_args,
       pg_get_function_result(p.oid) AS result, l.lanname AS language, p.prokind AS kind,
       p.provolatile AS volatility, p.proisstrict AS strict, p.proparallel AS parallel,
       p.prosecdef AS security_definer, p.proconfig AS config
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_language l ON l.oid = p.prolang
 WHERE n.nspname = :schema
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                   AND d.objid = p.oid AND d.deptype = 'e')
"""


def _unqualify(sql_text: str | None, schema: str) -> str | None:
    # Definitions name the schema only when it is not on the search_path; strip it so that
    # the same object built in the probe schema and in public compares equal.
    if sql_text is None:
        return None
    return re.sub(rf'\b(?:public|"?{re.escape(schema)}"?)\.', "", sql_text)


def inspect_schema(conn: Connection, *, schema: str = "public",
                   tables: Iterable[str] | None = None) -> dict[str, Any]:
    """Read a schema's tables, sequences and functions into a comparable structure.

    Objects that belong to an extension (PostGIS's ``spatial_ref_sys`` and functions) are left
    out; definitions are stripped of the schema name.

    Args:
        conn: An open SQLAlchemy connection.
        schema: The schema to read.
        tables: Only these tables (and the sequences they own); default: all.

    Returns:
        ``{"tables": {name: {"columns": [...], "constraints": {...}, "indexes": {...},
        "triggers": {...}, "sequences": {...}, ...}}, "sequences": {...} (not owned by a table),
        "functions": {"name(args)": {...}}}``.
    """
    wanted = set(tables) if tables is not None else None
    out: dict[str, Any] = {"tables": {}, "sequences": {}, "functions": {}}
    names: dict[int, str] = {}
    for oid, relname, relkind, persistence, options in conn.execute(
            text(_TABLES_SQL), {"schema": schema}):
        if wanted is not None and relname not in wanted:
            continue
        names[oid] = relname
        out["tables"][relname] = {
            "kind": relkind, "persistence": persistence, "options": options,
            "columns": [], "constraints": {}, "indexes": {}, "triggers": {}, "sequences": {},
        }
    oids = list(names)
    for row in conn.execute(text(_COLUMNS_SQL), {"oids": oids}).mappings():
        cols = out["tables"][names[row["attrelid"]]]["columns"]
        cols.append({
            "name": row["attname"],
            "type": _unqualify(row["type"], schema),
            "not_null": row["attnotnull"],
            "default": _unqualify(row["default"], schema),
            "identity": row["attidentity"] or None,
            "generated": row["attgenerated"] or None,
            "collation": row["collation"],
        })
    for row in conn.execute(text(_CONSTRAINTS_SQL), {"oids": oids}).mappings():
        out["tables"][names[row["conrelid"]]]["constraints"][row["conname"]] = {
            "type": row["contype"],
            "def": _unqualify(row["def"], schema),
            "deferrable": row["condeferrable"],
            "deferred": row["condeferred"],
        }
    for row in conn.execute(text(_INDEXES_SQL), {"oids": oids}).mappings():
        out["tables"][names[row["indrelid"]]]["indexes"][row["relname"]] = {
            "def": _unqualify(row["def"], schema), "unique": row["indisunique"],
        }
    for row in conn.execute(text(_TRIGGERS_SQL), {"oids": oids}).mappings():
        out["tables"][names[row["tgrelid"]]]["triggers"][row["tgname"]] = _unqualify(
            row["def"], schema)
    attnames = {(r[0], r[1]): r[2] for r in conn.execute(text(
        "SELECT attrelid, attnum, attname FROM pg_attribute WHERE attrelid = ANY(:oids)"),
        {"oids": oids})}
    for row in conn.execute(text(_SEQUENCES_SQL), {"schema": schema}).mappings():
        seq = {
            "type": row["type"], "start": row["seqstart"], "increment": row["seqincrement"],
            "min": row["seqmin"], "max": row["seqmax"], "cache": row["seqcache"],
            "cycle": row["seqcycle"],
        }
        owner = row["owner_oid"]
        if owner in names:
            seq["owned_by"] = attnames.get((owner, row["owner_col"]))
            seq["identity"] = row["deptype"] == "i"
            out["tables"][names[owner]]["sequences"][row["relname"]] = seq
        elif wanted is None and owner is None:
            out["sequences"][row["relname"]] = seq
    for row in conn.execute(text(_FUNCTIONS_SQL), {"schema": schema}).mappings():
        out["functions"][_unqualify(row["key"], schema)] = {
            "identity_args": _unqualify(row["identity_args"], schema),
            "result": _unqualify(row["result"], schema),
            "language": row["language"], "kind": row["kind"], "volatility": row["volatility"],
            "strict": row["strict"], "parallel": row["parallel"],
            "security_definer": row["security_definer"], "config": row["config"],
        }
    return out


# --------------------------------------------------------------------------- comparison

def _strip_index_name(definition: str) -> str:
    return re.sub(r"^CREATE (UNIQUE )?INDEX \S+ ON ", r"CREATE \1INDEX ON ", definition)


def _diff_table(name: str, exp: dict[str, Any], act: dict[str, Any],
                strict_index_names: bool) -> tuple[list[str], list[str]]:
    errors: list[str] = []
    warnings: list[str] = []
    for key in ("kind", "persistence", "options"):
        if exp[key] != act[key]:
            errors.append(f"{key}: expected {exp[key]!r}, found {act[key]!r}")

    exp_cols = {c["name"]: c for c in exp["columns"]}
    act_cols = {c["name"]: c for c in act["columns"]}
    for col in exp["columns"]:
        found = act_cols.get(col["name"])
        if found is None:
            errors.append(f"column {col['name']}: missing")
            continue
        for key, value in col.items():
            if found[key] != value:
                errors.append(f"column {col['name']}: {key} expected {value!r}, "
                              f"found {found[key]!r}")
    for col in act["columns"]:
        if col["name"] not in exp_cols:
            errors.append(f"column {col['name']}: unexpected ({col['type']})")
    if not errors and [c["name"] for c in exp["columns"]] != [c["name"] for c in act["columns"]]:
        errors.append("column order differs: expected "
                      f"{[c['name'] for c in exp['columns']]}, "
                      f"found {[c['name'] for c in act['columns']]}")

    for cname, con in exp["constraints"].items():
        found = act["constraints"].get(cname)
        if found is None:
            errors.append(f"constraint {cname}: missing ({con['def']})")
        elif found != con:
            errors.append(f"constraint {cname}: expected {con}, found {found}")
    for cname, con in act["constraints"].items():
        if cname not in exp["constraints"]:
            errors.append(f"constraint {cname}: unexpected ({con['def']})")

    if strict_index_names:
        for iname, idx in exp["indexes"].items():
            found = act["indexes"].get(iname)
            if found is None:
                errors.append(f"index {iname}: missing ({idx['def']})")
            elif found != idx:
                errors.append(f"index {iname}: expected {idx['def']}, found {found['def']}")
        for iname, idx in act["indexes"].items():
            if iname not in exp["indexes"]:
                errors.append(f"index {iname}: unexpected ({idx['def']})")
    else:
        # Index names do not change behaviour; what is indexed does. A missing unique index
        # changes what the database accepts (an error), a missing plain one only speed.
        exp_defs = Counter(_strip_index_name(i["def"]) for i in exp["indexes"].values())
        act_defs = Counter(_strip_index_name(i["def"]) for i in act["indexes"].values())
        for definition, n in (exp_defs - act_defs).items():
            msg = f"index missing: {definition}" + (f" (x{n})" if n > 1 else "")
            (errors if definition.startswith("CREATE UNIQUE") else warnings).append(msg)
        for definition, n in (act_defs - exp_defs).items():
            msg = f"index unexpected: {definition}" + (f" (x{n})" if n > 1 else "")
            (errors if definition.startswith("CREATE UNIQUE") else warnings).append(msg)

    for tname in exp["triggers"].keys() | act["triggers"].keys():
        if exp["triggers"].get(tname) != act["triggers"].get(tname):
            errors.append(f"trigger {tname}: expected {exp['triggers'].get(tname)}, "
                          f"found {act['triggers'].get(tname)}")

    for sname in exp["sequences"].keys() | act["sequences"].keys():
        if exp["sequences"].get(sname) != act["sequences"].get(sname):
            if sname not in act["sequences"]:
                errors.append(f"sequence {sname}: missing")
            elif sname not in exp["sequences"]:
                errors.append(f"sequence {sname}: unexpected")
            else:
                errors.append(f"sequence {sname}: expected {exp['sequences'][sname]}, "
                              f"found {act['sequences'][sname]}")
    return errors, warnings


def diff_schema(expected: dict[str, Any], actual: dict[str, Any], *,
                tables: Iterable[str] | None = None, functions: bool = True,
                strict_index_names: bool = True) -> dict[str, list[str]]:
    """Differences between two ``inspect_schema`` results, per table.

    Args:
        expected: The reference schema.
        actual: The schema under test.
        tables: Compare only these tables (default: the union of both).
        functions: Also compare the functions (signatures and attributes, not bodies) under the
            key ``"(functions)"``.
        strict_index_names: Compare indexes by name and definition; otherwise by definition
            only, with missing/extra non-unique indexes reported under ``"(warnings)"``.

    Returns:
        ``{table: [difference, ...]}``; empty when the schemas match.
    """
    names = set(tables) if tables is not None else (
        expected["tables"].keys() | actual["tables"].keys())
    out: dict[str, list[str]] = {}
    warnings: list[str] = []
    for name in sorted(names):
        exp = expected["tables"].get(name)
        act = actual["tables"].get(name)
        if exp is None and act is None:
            continue
        if exp is None:
            out[name] = ["table unexpected"]
        elif act is None:
            out[name] = ["table missing"]
        else:
            errors, warns = _diff_table(name, exp, act, strict_index_names)
            if errors:
                out[name] = errors
            warnings += [f"{name}: {w}" for w in warns]
    if functions:
        errors = []
        for key in sorted(expected["functions"].keys() | actual["functions"].keys()):
            exp_f = expected["functions"].get(key)
            act_f = actual["functions"].get(key)
            if exp_f != act_f:
                errors.append(f"function {key}: expected {exp_f}, found {act_f}")
        if errors:
            out["(functions)"] = errors
    if warnings:
        out["(warnings)"] = warnings
    return out


# --------------------------------------------------------------------------- adoption

@dataclass
class AdoptReport:
    """What ``adopt`` found and did.

    Attributes:
        adopted: The database is now under samsyn's Alembic at head (now or before).
        changed: Whether this call changed the database.
        revision_before: The Alembic revision found (``None``: not under Alembic).
        revision_after: The revision after the call.
        differences: Per legacy table, how it differs from revision 0001 (blocking).
        warnings: Non-blocking differences (e.g. extra or missing non-unique indexes, legacy
            functions whose signature or attributes differ).
        functions_created: Legacy SQL functions that were missing and were created.
        message: One-line summary.
    """

    adopted: bool
    changed: bool = False
    revision_before: str | None = None
    revision_after: str | None = None
    differences: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    functions_created: list[str] = field(default_factory=list)
    message: str = ""

    def __str__(self) -> str:
        lines = [self.message]
        for table, diffs in sorted(self.differences.items()):
            lines.append(f"  {table}:")
            lines += [f"    - {d}" for d in diffs]
        if self.functions_created:
            lines.append("  created functions: " + ", ".join(self.functions_created))
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def legacy_function_statements() -> dict[str, str]:
    """The ``CREATE OR REPLACE FUNCTION`` statements of functions.sql, by function name."""
    script = sql_script("functions.sql")
    parts = re.split(r"(?=^CREATE OR REPLACE FUNCTION )", script, flags=re.M)
    out = {}
    for part in parts:
        m = re.match(r"CREATE OR REPLACE FUNCTION public\.(\w+)\(", part)
        if m:
            out[m.group(1)] = part
    return out


def _postgis_schema(conn: Connection) -> str | None:
    return conn.execute(text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'postgis'")).scalar()


def _search_path(postgis_schema: str, first: str = "public") -> str:
    return ", ".join(f'"{name}"' for name in dict.fromkeys((first, postgis_schema)))


def _expected_schema(conn: Connection, postgis_schema: str) -> dict[str, Any]:
    """Build revision 0001's tables in a scratch schema, inspect them, roll them back."""
    savepoint = conn.begin_nested()
    try:
        try:
            conn.exec_driver_sql(f'CREATE SCHEMA "{_PROBE_SCHEMA}"')
        except Exception as exc:
            raise RuntimeError(
                "adopt builds the reference schema in a scratch schema that is rolled back; "
                f"it needs the CREATE privilege on the database: {exc}") from exc
        conn.exec_driver_sql(
            f"SET LOCAL search_path = {_search_path(postgis_schema, _PROBE_SCHEMA)}")
        conn.connection.driver_connection.execute(sql_script("legacy_schema.sql"))
        return inspect_schema(conn, schema=_PROBE_SCHEMA)
    finally:
        savepoint.rollback()  # also undoes the SET LOCAL


def _actual_schema(conn: Connection, postgis_schema: str) -> dict[str, Any]:
    """Inspect public with the same search_path as the probe, so type names print alike."""
    savepoint = conn.begin_nested()
    try:
        conn.exec_driver_sql(f"SET LOCAL search_path = {_search_path(postgis_schema)}")
        return inspect_schema(conn, schema="public", tables=LEGACY_TABLES)
    finally:
        savepoint.rollback()


def _check(conn: Connection) -> tuple[dict[str, list[str]], list[str]]:
    postgis = _postgis_schema(conn)
    if postgis is None:
        return {"(database)": ["the postgis extension is not installed"]}, []
    expected = _expected_schema(conn, postgis)
    actual = _actual_schema(conn, postgis)
    diffs = diff_schema(expected, actual, tables=LEGACY_TABLES, functions=False,
                        strict_index_names=False)
    warnings = diffs.pop("(warnings)", [])
    present = inspect_schema(conn, schema="public")["tables"]
    ours = sorted(t for t in present if t.startswith("samsyn_"))
    if ours:
        diffs["(samsyn)"] = [f"samsyn's table {t} exists but the database is not stamped"
                             for t in ours]
    return diffs, warnings


def _missing_functions(conn: Connection) -> tuple[list[str], list[str]]:
    have = inspect_schema(conn, schema="public", tables=())["functions"]
    have_identity = {k.split("(", 1)[0] + "(" + v["identity_args"] + ")" for k, v in have.items()}
    have_names = {k.split("(", 1)[0] for k in have}
    missing, warnings = [], []
    for signature in sorted(LEGACY_FUNCTIONS):
        name = signature.split("(", 1)[0]
        if signature in have_identity:
            continue
        if name in have_names:
            warnings.append(f"function {name} exists with another signature than {signature}; "
                            f"left as it is")
        else:
            missing.append(name)
    return missing, warnings


def adopt(target: str | Connection, *, dry_run: bool = False) -> AdoptReport:
    """Adopt an existing legacy Django database: verify it, then create samsyn's tables and stamp.

    Args:
        target: Database URL, or an open SQLAlchemy connection (used within its transaction;
            the caller commits).
        dry_run: Only verify and report.

    Returns:
        The report; ``report.adopted`` is false (and nothing changed) on a mismatch.
    """
    if isinstance(target, Connection):
        return _adopt(target, dry_run=dry_run)
    engine = create_engine(normalize_url(target), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            with conn.begin() as tx:
                report = _adopt(conn, dry_run=dry_run)
                if not report.changed:
                    tx.rollback()
            return report
    finally:
        engine.dispose()


def _adopt(conn: Connection, *, dry_run: bool) -> AdoptReport:
    head = head_revision()
    before = MigrationContext.configure(conn).get_current_revision()
    if before == head:
        return AdoptReport(adopted=True, revision_before=before, revision_after=before,
                           message=f"already adopted (Alembic revision {before})")
    if before is not None:
        if dry_run:
            return AdoptReport(adopted=False, revision_before=before, revision_after=before,
                               message=f"under samsyn's Alembic at {before}; would upgrade to "
                                       f"{head}")
        command.upgrade(alembic_config(conn), "head")
        return AdoptReport(adopted=True, changed=True, revision_before=before,
                           revision_after=head,
                           message=f"already under samsyn's Alembic: upgraded {before} -> {head}")

    present = set(inspect_schema(conn, schema="public")["tables"])
    if not present & LEGACY_TABLES:
        return AdoptReport(adopted=False, message="no legacy Django tables found: this is not a "
                           "legacy database (create a new one with `upgrade_head`)")

    differences, warnings = _check(conn)
    if differences:
        return AdoptReport(
            adopted=False, differences=differences, warnings=warnings,
            message=f"not adopted: {len(differences)} table(s) differ from the legacy schema; "
                    f"nothing was changed")
    missing, fn_warnings = _missing_functions(conn)
    warnings += fn_warnings
    if dry_run:
        return AdoptReport(adopted=False, warnings=warnings,
                           message="matches the legacy schema; would create samsyn's tables, "
                                   f"the functions {missing or 'none'} and stamp {head}")

    statements = legacy_function_statements()
    if missing:
        previous = conn.exec_driver_sql("SHOW search_path").scalar()
        conn.exec_driver_sql(
            f"SET LOCAL search_path = {_search_path(_postgis_schema(conn) or 'public')}")
        for name in missing:
            conn.connection.driver_connection.execute(statements[name])
        conn.exec_driver_sql(f"SET LOCAL search_path = {previous}")
    config = alembic_config(conn)
    command.stamp(config, _ALEMBIC_BASE_REVISION)
    command.upgrade(config, "head")
    return AdoptReport(adopted=True, changed=True, revision_before=None, revision_after=head,
                       warnings=warnings, functions_created=missing,
                       message=f"adopted: the legacy schema matches; samsyn's tables created, "
                               f"Alembic stamped at {head}")
