"""Posting to Slack so an outcome always reaches the user: channel, else response_url, else DM."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack_errors import SLACK_FAILURES

log = logging.getLogger(__name__)

Message = dict[str, Any]  # {"text": …, "blocks": […]} as blocks/ renders it


@dataclass(frozen=True)
class Place:
    """Where a deployment's conversation lives: a message with a thread, or a response_url."""

    channel: str | None = None
    ts: str | None = None
    response_url: str | None = None

    @property
    def threaded(self) -> bool:
        """True when replies can go in a thread under the parent message."""
        return self.channel is not None and self.ts is not None


class Messenger:
    """One user's conversation with the bot about one request, and its fallbacks."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        user_id: str,
        response_url: str | None,
    ) -> None:
        self._client = client
        self._user_id = user_id
        self._response_url = response_url

    async def post_parent(self, channel: str, message: Message) -> Place | None:
        """Post the visible parent message, joining public channels; fall back when refused."""
        try:
            return await self._post_in_channel(channel, message)
        except SlackApiError as exc:
            error = exc.response.get("error")
            log.warning("cannot post in %s (%s); falling back", channel, error)
        except SLACK_FAILURES:
            log.warning("cannot post in %s; falling back", channel, exc_info=True)
        return await self._fallback(message, in_channel=True)

    async def reply(
        self, place: Place | None, message: Message, *, broadcast: bool = False
    ) -> None:
        """Reply in the thread (or through the fallback the parent used); `broadcast` shows the
        reply in the channel too (failures, so the channel sees them)."""
        if place is not None and place.channel and place.ts:
            try:
                await self._client.chat_postMessage(
                    channel=place.channel,
                    thread_ts=place.ts,
                    unfurl_links=False,
                    # None leaves the parameter out: an ordinary reply stays in the thread.
                    reply_broadcast=True if broadcast else None,
                    **message,
                )
            except SLACK_FAILURES:
                log.warning("thread reply failed; falling back", exc_info=True)
            else:
                return
        await self._fallback(message, in_channel=True)

    async def update_parent(self, place: Place | None, message: Message) -> None:
        """Show the outcome on the parent message; response_url messages keep their text."""
        if place is None or not (place.channel and place.ts):
            return
        try:
            await self._client.chat_update(channel=place.channel, ts=place.ts, **message)
        except SLACK_FAILURES:
            # The thread reply already carries the outcome; a stale parent is cosmetic.
            log.warning("updating the parent message failed", exc_info=True)

    async def tell_user(self, message: Message) -> None:
        """Say something only the user sees: response_url (ephemeral), else a DM."""
        if self._response_url and await self._send_response_url(message, in_channel=False):
            return
        await self._direct_message(message)

    async def replace_original(self, message: Message) -> None:
        """Replace the message whose button was clicked (an ephemeral list, say) through the
        click's response_url; else say it as `tell_user` does."""
        if self._response_url and await self._send_response_url(
            message, in_channel=False, replace=True
        ):
            return
        await self._direct_message(message)

    async def _post_in_channel(self, channel: str, message: Message) -> Place:
        try:
            response = await self._client.chat_postMessage(
                channel=channel, unfurl_links=False, **message
            )
        except SlackApiError as exc:
            if exc.response.get("error") != "not_in_channel":
                raise
            # Public channels can be joined; private ones answer an error and we fall back.
            await self._client.conversations_join(channel=channel)
            response = await self._client.chat_postMessage(
                channel=channel, unfurl_links=False, **message
            )
        return Place(channel=response["channel"], ts=response["ts"])

    async def _fallback(self, message: Message, *, in_channel: bool) -> Place | None:
        if self._response_url and await self._send_response_url(message, in_channel=in_channel):
            return Place(response_url=self._response_url)
        return await self._direct_message(message)

    async def _send_response_url(
        self, message: Message, *, in_channel: bool, replace: bool = False
    ) -> bool:
        webhook = AsyncWebhookClient(
            self._response_url or "",
            session=self._client.session,  # the bot's connection pool (see Bot.start)
            retry_handlers=self._client.retry_handlers,
        )
        try:
            response = await webhook.send(
                response_type="in_channel" if in_channel else "ephemeral",
                replace_original=replace,
                **message,
            )
        except SLACK_FAILURES:
            log.warning("posting to the response_url failed", exc_info=True)
            return False
        if response.status_code != 200:  # noqa: PLR2004 — Slack answers 200 "ok" on success
            log.warning("response_url answered HTTP %s", response.status_code)
            return False
        return True

    async def _direct_message(self, message: Message) -> Place | None:
        try:
            response = await self._client.chat_postMessage(
                channel=self._user_id, unfurl_links=False, **message
            )
        except SLACK_FAILURES:
            log.exception(
                "could not reach user %s by any way; the outcome is only in the log", self._user_id
            )
            return None
        return Place(channel=response["channel"], ts=response["ts"])
