"""Drop the exact duplicate indexes of the legacy core tables.

The legacy schema indexes the same columns three times: Django's `db_index=True` on the field
(`core_source_name_ad2acb83`), a `Meta.indexes` entry (`core_source_name_2cf590_idx`) and a
RunSQL migration (`source_name_idx`); `core_geometry.geom` has two identical GiST indexes.
PostgreSQL keeps every copy up to date on every write and never uses more than one, so the
copies only slow writes down: loading core_geometry maintained 12 indexes, 5 of them copies
(bench/import). One index of each group stays, the one Django's field created; a group whose
kept index is missing (a database someone changed by hand) keeps its first other member, so a
column indexed before is still indexed after. Rows, constraints and unique indexes are not
touched; the downgrade recreates the copies with their legacy names and definitions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, the index kept, {copy: its legacy definition after "ON <table> USING"})
GROUPS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("core_geometry", "core_geometry_geom_c3f9f4aa_id", {"geometry_geom_gist": "gist (geom)"}),
    ("core_geometry", "core_geometry_source_id_6ecebd3f", {
        "core_geomet_source__039adc_idx": "btree (source_id)",
        "geometry_source_idx": "btree (source_id)"}),
    ("core_geometry", "core_geometry_geometry_type_fe35c225", {
        "core_geomet_geometr_759639_idx": "btree (geometry_type)",
        "geometry_type_idx": "btree (geometry_type)"}),
    ("core_layer", "core_layer_name_562fe994", {
        "core_layer_name_17699f_idx": "btree (name)", "layer_name_idx": "btree (name)"}),
    ("core_project", "core_project_name_ebbd35d6", {
        "core_projec_name_0563a9_idx": "btree (name)", "project_name_idx": "btree (name)"}),
    ("core_project", "core_project_project_type_e2a9781d", {
        "core_projec_project_62b015_idx": "btree (project_type)",
        "project_type_idx": "btree (project_type)"}),
    ("core_source", "core_source_name_ad2acb83", {
        "core_source_name_2cf590_idx": "btree (name)", "source_name_idx": "btree (name)"}),
    ("core_source", "core_source_source_type_ce8589f8", {
        "core_source_source__6c8e54_idx": "btree (source_type)",
        "source_type_idx": "btree (source_type)"}),
)
DROPPED = tuple(name for _, _, copies in GROUPS for name in copies)


def _existing(names: list[str]) -> set[str]:
    rows = op.get_bind().execute(
        text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
             "AND indexname = ANY(:names)"), {"names": names})
    return {r[0] for r in rows}


def upgrade() -> None:
    for _, kept, copies in GROUPS:
        present = _existing([kept, *copies])
        survivor = kept if kept in present else next((c for c in copies if c in present), None)
        for name in copies:
            if name in present and name != survivor:
                op.execute(f'DROP INDEX "{name}"')


def downgrade() -> None:
    for table, _, copies in GROUPS:
        for name, definition in copies.items():
            op.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON {table} USING {definition}')
