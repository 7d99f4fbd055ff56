"""How work outside a Slack request finds a workspace's Hiveon API key and its Slack client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import Freeze, Guardrails

# (enterprise ID, team ID) -> the key its deployments use, or None when it has none.
ApiKeyLookup = Callable[[str | None, str], Awaitable[str | None]]
# (enterprise ID, team ID) -> a Web API client with that workspace's bot token, or None.
ClientLookup = Callable[[str | None, str], Awaitable[AsyncWebClient | None]]
# (enterprise ID, team ID) -> its guardrails: approval, approvers, default and longest run.
GuardrailsLookup = Callable[[str | None, str], Awaitable[Guardrails]]
# (enterprise ID, team ID) -> the deploy freeze that holds there now, or None.
FreezeLookup = Callable[[str | None, str], Awaitable[Freeze | None]]
