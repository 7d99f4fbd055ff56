"""Guardrails: approval, automatic stop and freezes. Deployments record the approval (who
decided, when, why not; the request sealed until then) and the automatic stop (the run asked
for, when it started, stops, reminds, was stopped); workspaces record whether approval is
required and by whom, the default and longest run, and a freeze.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_DEPLOYMENT_COLUMNS = (
    ("stop_after_s", sa.Integer()),
    ("started_at", sa.DateTime(timezone=True)),
    ("stop_at", sa.DateTime(timezone=True)),
    ("remind_at", sa.DateTime(timezone=True)),
    ("stopped_automatically_at", sa.DateTime(timezone=True)),
    ("approval_expires_at", sa.DateTime(timezone=True)),
    ("decided_by", sa.String(32)),
    ("decided_at", sa.DateTime(timezone=True)),
    ("rejection_reason", sa.Text()),
    ("sealed_request", sa.Text()),
)
_WORKSPACE_COLUMNS = (
    ("default_stop_after_s", sa.Integer()),
    ("max_stop_after_s", sa.Integer()),
    ("frozen_by", sa.String(32)),
    ("frozen_at", sa.DateTime(timezone=True)),
    ("frozen_until", sa.DateTime(timezone=True)),
    ("freeze_reason", sa.Text()),
)


def upgrade() -> None:
    """Add the columns (nullable, or with a default for the rows already there); index the due
    times the scheduled work looks rows up by."""
    for name, kind in _DEPLOYMENT_COLUMNS:
        op.add_column("deployments", sa.Column(name, kind))
    op.create_index("ix_deployments_stop_at", "deployments", ["stop_at"])
    op.create_index("ix_deployments_remind_at", "deployments", ["remind_at"])
    op.add_column(
        "workspaces",
        sa.Column("require_approval", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "workspaces",
        sa.Column("approvers", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    for name, kind in _WORKSPACE_COLUMNS:
        op.add_column("workspaces", sa.Column(name, kind))


def downgrade() -> None:
    """Remove them (a table copy on SQLite)."""
    op.drop_index("ix_deployments_remind_at", table_name="deployments")
    op.drop_index("ix_deployments_stop_at", table_name="deployments")
    with op.batch_alter_table("deployments") as batch:
        for name, _ in reversed(_DEPLOYMENT_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("workspaces") as batch:
        for name, _ in reversed(_WORKSPACE_COLUMNS):
            batch.drop_column(name)
        batch.drop_column("approvers")
        batch.drop_column("require_approval")
