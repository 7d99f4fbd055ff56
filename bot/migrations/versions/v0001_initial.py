"""The schema `create_all` made before migrations: deployments and workspaces.

Revision ID: 0001
Revises: none
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the deployments, workspaces and workspace_changes tables."""
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("enterprise_id", sa.String(32)),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("message_channel", sa.String(32)),
        sa.Column("message_ts", sa.String(32)),
        sa.Column("external_deployment_id", sa.String(255), nullable=False),
        sa.Column("deployment_id", sa.String(255)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("http_status", sa.Integer()),
        sa.Column("error", sa.Text()),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("response_url", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("vendor_status", sa.String(32)),
        sa.Column("vendor_status_at", sa.DateTime(timezone=True)),
        sa.Column("fail_reason", sa.Text()),
        sa.Column("next_poll_at", sa.DateTime(timezone=True)),
        sa.Column("poll_interval_s", sa.Float()),
        sa.Column("follow_until", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("team_id", "external_deployment_id"),
    )
    op.create_index("ix_deployments_next_poll_at", "deployments", ["next_poll_at"])
    op.create_table(
        "workspaces",
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("enterprise_id", sa.String(32)),
        sa.Column("team_id", sa.String(32)),
        sa.Column("api_key_encrypted", sa.Text()),
        sa.Column("api_key_hint", sa.String(8)),
        sa.Column("api_key_set_by", sa.String(32)),
        sa.Column("api_key_set_at", sa.DateTime(timezone=True)),
        sa.Column("allowed_channels", sa.JSON(), nullable=False),
        sa.Column("allowed_users", sa.JSON(), nullable=False),
        sa.Column("allowed_usergroups", sa.JSON(), nullable=False),
        sa.Column("access_set_by", sa.String(32)),
        sa.Column("access_set_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "workspace_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("enterprise_id", sa.String(32)),
        sa.Column("team_id", sa.String(32)),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_workspace_changes_scope", "workspace_changes", ["scope"])


def downgrade() -> None:
    """Drop them."""
    op.drop_table("workspace_changes")
    op.drop_table("workspaces")
    op.drop_table("deployments")
