"""Slack installations at rest: slack_sdk's installation store with every token encrypted.

With OAuth installs, `slack_installations` and `slack_bots` hold each workspace's bot token,
which can read and post in every channel the bot is in. They are encrypted like workspace API
keys (Fernet under `DEPLOYBOT_ENCRYPTION_KEY`, `bot.crypto`): a column type encrypts on the way
in and decrypts on the way out, so slack_sdk's store works unchanged above it. The token
columns are `Text`: a Fernet token is longer than the 200 characters slack_sdk reserves.

At start-up `reseal` encrypts tokens stored in clear by earlier versions and re-encrypts those
an older encryption key wrote (rotation). A token no configured key can open reads as absent:
its workspace is refused until it installs deploybot again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from slack_sdk.oauth.installation_store.sqlalchemy import (
    AsyncSQLAlchemyInstallationStore,
    SQLAlchemyInstallationStore,
)
from sqlalchemy import Dialect, MetaData, Table, Text, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import TypeDecorator

from bot.crypto import KeyBox, UndecryptableError

log = logging.getLogger(__name__)

INSTALLATIONS = SQLAlchemyInstallationStore.default_installations_table_name
BOTS = SQLAlchemyInstallationStore.default_bots_table_name
# Every column of slack_sdk's tables that holds a credential.
TOKEN_COLUMNS: Mapping[str, tuple[str, ...]] = {
    INSTALLATIONS: (
        "bot_token",
        "bot_refresh_token",
        "user_token",
        "user_refresh_token",
        "incoming_webhook_url",
    ),
    BOTS: ("bot_token", "bot_refresh_token"),
}
# What slack_sdk wrote before tokens were encrypted: Slack tokens and webhook URLs.
_CLEAR_PREFIXES = ("xox", "https://")


def installations_table(metadata: MetaData) -> Table:
    """`slack_installations` as slack_sdk defines it, its token columns `Text`."""
    return _with_text_tokens(
        SQLAlchemyInstallationStore.build_installations_table(metadata, INSTALLATIONS)
    )


def bots_table(metadata: MetaData) -> Table:
    """`slack_bots` as slack_sdk defines it, its token columns `Text`."""
    return _with_text_tokens(SQLAlchemyInstallationStore.build_bots_table(metadata, BOTS))


def _with_text_tokens(table: Table) -> Table:
    for name in TOKEN_COLUMNS[table.name]:
        table.c[name].type = Text()
    return table


class SealedText(TypeDecorator[str]):
    """Text encrypted with a KeyBox when written and decrypted when read."""

    impl = Text
    cache_ok = True

    def __init__(self, box: KeyBox) -> None:
        super().__init__()
        self.box = box

    def process_bind_param(self, value: str | None, _dialect: Dialect) -> str | None:
        """Encrypt what is written."""
        return None if value is None else self.box.encrypt(value)

    def process_result_value(self, value: str | None, _dialect: Dialect) -> str | None:
        """Decrypt what is read; None for what no configured key opens."""
        if value is None or value.startswith(_CLEAR_PREFIXES):
            return value  # written in clear before encryption; `reseal` encrypts it at start-up
        try:
            return self.box.decrypt(value)
        except UndecryptableError:
            log.error(  # noqa: TRY400 — the traceback adds nothing here
                "a stored Slack token cannot be decrypted with any DEPLOYBOT_ENCRYPTION_KEY; its "
                "workspace must install deploybot again"
            )
            return None


class EncryptedInstallationStore(AsyncSQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store, with tokens encrypted in the database."""

    def __init__(self, *, client_id: str, engine: AsyncEngine, box: KeyBox) -> None:
        super().__init__(client_id=client_id, engine=engine)
        self._box = box
        for table in (self.installations, self.bots):
            for name in TOKEN_COLUMNS[table.name]:
                table.c[name].type = SealedText(box)

    @classmethod
    def build_installations_table(cls, metadata: MetaData, table_name: str) -> Table:
        """slack_sdk's table with `Text` token columns."""
        del table_name  # deploybot's tables keep slack_sdk's default names
        return installations_table(metadata)

    @classmethod
    def build_bots_table(cls, metadata: MetaData, table_name: str) -> Table:
        """slack_sdk's table with `Text` token columns."""
        del table_name
        return bots_table(metadata)

    async def reseal(self) -> int:
        """Encrypt tokens stored in clear, re-encrypt those of older keys; how many changed."""
        plain = MetaData()
        changed = 0
        async with self.engine.begin() as connection:
            for table in (installations_table(plain), bots_table(plain)):
                names = TOKEN_COLUMNS[table.name]
                rows = await connection.execute(select(table.c.id, *(table.c[n] for n in names)))
                for row in rows.all():
                    values = {
                        name: sealed
                        for name, value in zip(names, row[1:], strict=True)
                        if value is not None and (sealed := self._resealed(value)) != value
                    }
                    if values:
                        await connection.execute(
                            update(table).where(table.c.id == row[0]).values(**values)
                        )
                        changed += 1
        if changed:
            log.info(
                "encrypted the Slack tokens of %d installations under the current key", changed
            )
        return changed

    def _resealed(self, value: str) -> str:
        """The value encrypted under the current key (unchanged if it already is, or if no
        configured key opens it)."""
        if value.startswith(_CLEAR_PREFIXES):
            return self._box.encrypt(value)
        if self._box.is_current(value):
            return value
        try:
            return self._box.rotate(value)
        except UndecryptableError:
            log.error(  # noqa: TRY400 — the traceback adds nothing here
                "a stored Slack token cannot be decrypted with any DEPLOYBOT_ENCRYPTION_KEY"
            )
            return value
