"""Credentials end with a password change; mail retries for hours, then waits visibly dead.

* samsyn_user_token_epoch: per user, the time before which no JWT of that user is valid
  (a password change or reset sets it; JWTs are checked by their `iat`).
* samsyn_mail_outbox.next_attempt_at / dead_at: exponential backoff between delivery
  attempts, and a dead state that `samsyn mail dead` lists and `samsyn mail requeue` undoes.
  Rows the old sender had given up on (20 failed attempts, never retried again) become dead.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "samsyn_user_token_epoch",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("valid_after", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="samsyn_user_token_epoch_pkey"),
        # the legacy Django admin deletes users without knowing this table
        sa.ForeignKeyConstraint(["user_id"], ["auth_user.id"], ondelete="CASCADE",
                                name="samsyn_user_token_epoch_user_id_fkey"),
    )

    op.add_column("samsyn_mail_outbox", sa.Column(
        "next_attempt_at", sa.DateTime(timezone=True), nullable=False,
        server_default=sa.text("now()")))
    op.add_column("samsyn_mail_outbox", sa.Column("dead_at", sa.DateTime(timezone=True),
                                                  nullable=True))
    op.execute("UPDATE samsyn_mail_outbox SET next_attempt_at = created")
    op.execute("UPDATE samsyn_mail_outbox SET dead_at = now() "
               "WHERE sent_at IS NULL AND attempts >= 20")
    op.drop_index("samsyn_mail_outbox_unsent_idx", table_name="samsyn_mail_outbox")
    # the sender's work queue: mail that is neither sent nor dead, the most overdue first
    op.create_index("samsyn_mail_outbox_due_idx", "samsyn_mail_outbox", ["next_attempt_at", "id"],
                    postgresql_where=sa.text("sent_at IS NULL AND dead_at IS NULL"))


def downgrade() -> None:
    op.drop_index("samsyn_mail_outbox_due_idx", table_name="samsyn_mail_outbox")
    op.create_index("samsyn_mail_outbox_unsent_idx", "samsyn_mail_outbox", ["created"],
                    postgresql_where=sa.text("sent_at IS NULL"))
    op.drop_column("samsyn_mail_outbox", "dead_at")
    op.drop_column("samsyn_mail_outbox", "next_attempt_at")
    op.drop_table("samsyn_user_token_epoch")
