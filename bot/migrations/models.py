"""The schema the migrations must produce: deploybot's models and slack_sdk's OAuth tables."""

from __future__ import annotations

from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData

from bot import installations
from bot.models import Base


def target_metadata() -> MetaData:
    """Every table, as the code expects it; slack_sdk's as bot.installations stores them."""
    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    installations.installations_table(metadata)  # tokens encrypted, so their columns are Text
    installations.bots_table(metadata)
    states = SQLAlchemyOAuthStateStore
    states.build_oauth_states_table(metadata, states.default_table_name)
    return metadata
