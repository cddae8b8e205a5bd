"""Job statuses in OGC API Processes words (accepted/running/successful/failed); who ran it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("samsyn_job_status_check", "samsyn_job", type_="check")
    op.execute("UPDATE samsyn_job SET status = CASE status WHEN 'queued' THEN 'accepted' "
               "WHEN 'succeeded' THEN 'successful' ELSE status END")
    op.alter_column("samsyn_job", "status", server_default=sa.text("'accepted'"))
    op.create_check_constraint(
        "samsyn_job_status_check", "samsyn_job",
        "status IN ('accepted', 'running', 'successful', 'failed')")
    op.add_column("samsyn_job", sa.Column("worker", sa.Text(), nullable=True))
    op.add_column("samsyn_job", sa.Column("attempts", sa.Integer(), nullable=False,
                                          server_default=sa.text("0")))
    op.add_column("samsyn_job", sa.Column("updated", sa.DateTime(timezone=True), nullable=False,
                                          server_default=sa.text("now()")))


def downgrade() -> None:
    op.drop_column("samsyn_job", "updated")
    op.drop_column("samsyn_job", "attempts")
    op.drop_column("samsyn_job", "worker")
    op.drop_constraint("samsyn_job_status_check", "samsyn_job", type_="check")
    op.execute("UPDATE samsyn_job SET status = CASE status WHEN 'accepted' THEN 'queued' "
               "WHEN 'successful' THEN 'succeeded' ELSE status END")
    op.alter_column("samsyn_job", "status", server_default=sa.text("'queued'"))
    op.create_check_constraint(
        "samsyn_job_status_check", "samsyn_job",
        "status IN ('queued', 'running', 'succeeded', 'failed')")
