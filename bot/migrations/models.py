"""The schema the migrations must produce: deploybot's models and slack_sdk's OAuth tables."""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData

from bot import workspaces
from bot.store import Base

# Importing the module registers its tables on `Base.metadata`.
_MODELS = (workspaces.WorkspaceRecord, workspaces.ChangeRecord)


def target_metadata() -> MetaData:
    """Every table, as the code expects it; slack_sdk's under the names bot.oauth uses."""
    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    installations = SQLAlchemyInstallationStore
    installations.build_installations_table(
        metadata, installations.default_installations_table_name
    )
    installations.build_bots_table(metadata, installations.default_bots_table_name)
    states = SQLAlchemyOAuthStateStore
    states.build_oauth_states_table(metadata, states.default_table_name)
    return metadata
