"""Login and password-reset throttling: request counters shared by every API process.

* samsyn_throttle: one row per (scope, key, window_end): `hits` requests of that scope
  (login_ip, login_account, password_reset_ip, password_reset_account) from that client
  address or for that account in the fixed window ending at `window_end`. UNLOGGED (no WAL:
  a crash only resets the current windows); the housekeeping job deletes ended windows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "samsyn_throttle",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", "window_end", name="samsyn_throttle_pkey"),
        prefixes=["UNLOGGED"],
    )
    op.create_index("samsyn_throttle_window_end_idx", "samsyn_throttle", ["window_end"])


def downgrade() -> None:
    op.drop_index("samsyn_throttle_window_end_idx", table_name="samsyn_throttle")
    op.drop_table("samsyn_throttle")
