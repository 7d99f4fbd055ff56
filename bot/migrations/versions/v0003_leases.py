"""Leases: which replica works on a deployment (a start in flight, a status poll) and until when.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add lease_owner and lease_until; index status, which recovery looks rows up by."""
    op.add_column("deployments", sa.Column("lease_owner", sa.String(64)))
    op.add_column("deployments", sa.Column("lease_until", sa.DateTime(timezone=True)))
    op.create_index("ix_deployments_status", "deployments", ["status"])


def downgrade() -> None:
    """Remove them (a table copy on SQLite)."""
    op.drop_index("ix_deployments_status", table_name="deployments")
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
