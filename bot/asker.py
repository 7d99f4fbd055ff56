"""Who asked for something, in which workspace and conversation, and how to answer them."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.messenger import Messenger


@dataclass(frozen=True)
class Asker:
    """Who asked (a command, a button, the App Home), where; the workspace comes from Bolt's
    verified context, never from a payload."""

    client: AsyncWebClient
    enterprise_id: str | None
    team_id: str
    user_id: str
    trigger_id: str = ""  # opens one modal, within 3 s of the request
    channel_id: str | None = None
    response_url: str | None = None

    @property
    def messenger(self) -> Messenger:
        """Answers only the asker sees: the request's response_url, else a DM."""
        return Messenger(self.client, user_id=self.user_id, response_url=self.response_url)
