"""Requests shaped like the ones Slack sends an app, signed with the playground's signing secret.

Slash commands are form fields; interactions are one form field, `payload`, holding JSON; events
are a JSON `event_callback` envelope. Each is signed as Slack signs (`v0=` HMAC-SHA256 of
`v0:<timestamp>:<body>`), so the bot checks them exactly as it checks Slack's.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.playground.slack_standin import APP_ID, TEAM_DOMAIN, TEAM_ID, Channel, User

_FORM = "application/x-www-form-urlencoded"
# Slack still sends the deprecated verification token in every payload.
_VERIFICATION_TOKEN = "playground-verification-token"  # noqa: S105 — a fixed label, not a secret

Json = dict[str, Any]


@dataclass(frozen=True)
class SignedRequest:
    """A raw body and the headers Slack would send with it."""

    body: bytes
    headers: dict[str, str]


class SlackRequests:
    """Builds and signs what Slack would send the bot for what you do on the page."""

    def __init__(self, signing_secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self._clock = clock

    def slash_command(  # noqa: PLR0913 — the fields Slack sends, all keyword-only
        self,
        *,
        command: str,
        text: str,
        channel: Channel,
        user: User,
        trigger_id: str,
        response_url: str,
    ) -> SignedRequest:
        """`/command text` typed in `channel`."""
        fields = {
            "token": _VERIFICATION_TOKEN,
            "team_id": TEAM_ID,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel.id,
            "channel_name": "directmessage" if channel.is_im else channel.name,
            "user_id": user.id,
            "user_name": user.name,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        return self._sign(urlencode(fields).encode(), _FORM)

    def view_submission(self, *, view: Json, user: User, trigger_id: str) -> SignedRequest:
        """A modal submitted; `view` carries what was typed in `state`."""
        return self._interaction(
            {
                "type": "view_submission",
                "team": _team(),
                "user": _user(user),
                "api_app_id": APP_ID,
                "token": _VERIFICATION_TOKEN,
                "trigger_id": trigger_id,
                "view": view,
                "response_urls": [],
                "enterprise": None,
                "is_enterprise_install": False,
            }
        )

    def view_closed(self, *, view: Json, user: User, is_cleared: bool) -> SignedRequest:
        """A modal closed by its user (sent only when the view asked: `notify_on_close`)."""
        return self._interaction(
            {
                "type": "view_closed",
                "team": _team(),
                "user": _user(user),
                "api_app_id": APP_ID,
                "token": _VERIFICATION_TOKEN,
                "view": view,
                "is_cleared": is_cleared,
                "enterprise": None,
                "is_enterprise_install": False,
            }
        )

    def message_action(  # noqa: PLR0913 — the fields Slack sends, all keyword-only
        self,
        *,
        action: Json,
        user: User,
        channel: Channel,
        message: Json,
        trigger_id: str,
        response_url: str,
    ) -> SignedRequest:
        """A button (or other element) used on a message in `channel`."""
        ephemeral = message.get("subtype") == "ephemeral"
        payload: Json = {
            "type": "block_actions",
            "user": _user(user),
            "api_app_id": APP_ID,
            "token": _VERIFICATION_TOKEN,
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel.id,
                "is_ephemeral": ephemeral,
            },
            "trigger_id": trigger_id,
            "team": _team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel.id, "name": channel.name},
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [self._stamped(action)],
        }
        if not ephemeral:
            # Slack leaves the message out for ephemeral ones: the app is expected to know it.
            payload["message"] = message
        if message.get("thread_ts") and message["thread_ts"] != message["ts"]:
            payload["container"]["thread_ts"] = message["thread_ts"]
        return self._interaction(payload)

    def view_action(
        self, *, action: Json, user: User, view: Json, trigger_id: str
    ) -> SignedRequest:
        """An element used inside a modal or the Home tab; `view` carries its current state."""
        return self._interaction(
            {
                "type": "block_actions",
                "user": _user(user),
                "api_app_id": APP_ID,
                "token": _VERIFICATION_TOKEN,
                "container": {"type": "view", "view_id": view["id"]},
                "trigger_id": trigger_id,
                "team": _team(),
                "enterprise": None,
                "is_enterprise_install": False,
                "view": view,
                "actions": [self._stamped(action)],
            }
        )

    def event(self, event: Json) -> SignedRequest:
        """An Events API delivery (`event_callback`) of one event."""
        now = self._clock()
        envelope = {
            "token": _VERIFICATION_TOKEN,
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event | {"event_ts": f"{now:.6f}"},
            "type": "event_callback",
            "event_id": f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": event.get("user"),
                    "is_bot": False,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        return self._sign(json.dumps(envelope).encode(), "application/json")

    def _stamped(self, action: Mapping[str, Any]) -> Json:
        return dict(action) | {"action_ts": f"{self._clock():.6f}"}

    def _interaction(self, payload: Json) -> SignedRequest:
        return self._sign(urlencode({"payload": json.dumps(payload)}).encode(), _FORM)

    def _sign(self, body: bytes, content_type: str) -> SignedRequest:
        timestamp = str(int(self._clock()))
        signature = self._verifier.generate_signature(timestamp=timestamp, body=body)
        return SignedRequest(
            body=body,
            headers={
                "content-type": content_type,
                "x-slack-request-timestamp": timestamp,
                "x-slack-signature": signature or "",
            },
        )


def _team() -> Json:
    return {"id": TEAM_ID, "domain": TEAM_DOMAIN}


def _user(user: User) -> Json:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": TEAM_ID}
