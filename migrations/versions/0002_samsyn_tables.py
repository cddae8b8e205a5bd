"""samsyn's own tables: jobs, the JWT denylist and the mail outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_STATUSES = ("queued", "running", "succeeded", "failed")


def upgrade() -> None:
    op.create_table(
        "samsyn_job",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), primary_key=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, server_default=sa.text("'queued'")),
        sa.Column("args", JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("progress", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("result", JSONB(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.Column("started", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="samsyn_job_pkey"),
        sa.UniqueConstraint("idempotency_key", name="samsyn_job_idempotency_key_key"),
        sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')",
                           name="samsyn_job_status_check"),
    )
    op.create_index("samsyn_job_status_created_idx", "samsyn_job", ["status", "created"])

    op.create_table(
        "samsyn_token_denylist",
        sa.Column("jti", sa.Text(), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti", name="samsyn_token_denylist_pkey"),
    )
    op.create_index("samsyn_token_denylist_expires_idx", "samsyn_token_denylist", ["expires"])

    op.create_table(
        "samsyn_mail_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), primary_key=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.Column("sender", sa.Text(), nullable=False),
        sa.Column("recipients", JSONB(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False,
                  server_default=sa.text("'text/plain'")),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="samsyn_mail_outbox_pkey"),
    )
    # the sender's work queue: unsent mail, oldest first
    op.create_index("samsyn_mail_outbox_unsent_idx", "samsyn_mail_outbox", ["created"],
                    postgresql_where=sa.text("sent_at IS NULL"))


def downgrade() -> None:
    op.drop_table("samsyn_mail_outbox")
    op.drop_table("samsyn_token_denylist")
    op.drop_table("samsyn_job")
