"""Slack tokens are stored encrypted: their columns become `Text`, as a Fernet token is longer
than the 200 characters slack_sdk reserves. Tokens stored in clear are encrypted at start-up
(`bot.installations`), where the encryption key is known.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TOKEN_COLUMNS = {
    "slack_installations": (
        "bot_token",
        "bot_refresh_token",
        "user_token",
        "user_refresh_token",
        "incoming_webhook_url",
    ),
    "slack_bots": ("bot_token", "bot_refresh_token"),
}


def upgrade() -> None:
    """Widen the token columns to Text (a table copy on SQLite)."""
    for table, columns in TOKEN_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.Text(), existing_type=sa.String(200))


def downgrade() -> None:
    """Narrow them again (encrypted tokens may not fit: decrypt them first)."""
    for table, columns in TOKEN_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.String(200), existing_type=sa.Text())
