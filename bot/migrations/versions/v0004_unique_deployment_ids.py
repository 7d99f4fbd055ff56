"""A deployment ID belongs to one submission of a workspace: `(team_id, deployment_id)` unique.

Before look-ups checked the external ID of what they found, a submission whose external ID was
typed as someone else's deployment ID could record that deployment as its own (and then stop
it). Such later claims lose the deployment ID, are marked unknown and stop being followed; the
earliest row keeps it. Then a unique index makes another claim impossible.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEX = "uq_deployments_team_deployment_id"
CLAIM_CLEARED = "deployment ID cleared: an earlier submission of this workspace holds it"


def upgrade() -> None:
    """Clear later claims of a deployment ID, then make `(team_id, deployment_id)` unique."""
    deployments = sa.table(
        "deployments",
        sa.column("id", sa.Integer()),
        sa.column("team_id", sa.String()),
        sa.column("deployment_id", sa.String()),
        sa.column("status", sa.String()),
        sa.column("error", sa.Text()),
        sa.column("next_poll_at", sa.DateTime(timezone=True)),
        sa.column("poll_interval_s", sa.Float()),
    )
    earlier = deployments.alias("earlier")
    claimed_before = (
        sa.select(earlier.c.id)
        .where(
            earlier.c.team_id == deployments.c.team_id,
            earlier.c.deployment_id == deployments.c.deployment_id,
            earlier.c.id < deployments.c.id,
        )
        .exists()
    )
    op.execute(
        deployments.update()
        .where(deployments.c.deployment_id.is_not(None), claimed_before)
        .values(
            deployment_id=None,
            status="unknown",
            error=CLAIM_CLEARED,
            next_poll_at=None,
            poll_interval_s=None,
        )
    )
    op.create_index(INDEX, "deployments", ["team_id", "deployment_id"], unique=True)


def downgrade() -> None:
    """Drop the index (cleared claims stay cleared)."""
    op.drop_index(INDEX, table_name="deployments")
