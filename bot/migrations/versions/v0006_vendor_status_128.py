"""A status from Hiveon is stored when it is a plain ID of up to 128 characters (as deployment
IDs are): `deployments.vendor_status` grows from 32 characters to 128.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Widen vendor_status (a table copy on SQLite)."""
    with op.batch_alter_table("deployments") as batch:
        batch.alter_column("vendor_status", type_=sa.String(128), existing_type=sa.String(32))


def downgrade() -> None:
    """Narrow it again."""
    with op.batch_alter_table("deployments") as batch:
        batch.alter_column("vendor_status", type_=sa.String(32), existing_type=sa.String(128))
