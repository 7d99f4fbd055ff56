"""Signed requests shaped like the ones Slack sends to the app: commands, interactions, events.

Each builder returns the raw body and the headers Slack would send, signed with
`SIGNING_SECRET`, ready for an HTTP post to the app or for `AsyncBoltRequest(body=…, headers=…)`.
"""

import itertools
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "test-signing-secret"
API_APP_ID = "A111"
TEAM_DOMAIN = "test-team"
# Slack still sends the deprecated verification token in every payload.
VERIFICATION_TOKEN = "verification-token"
FORM = "application/x-www-form-urlencoded"

_trigger_counter = itertools.count(1)


@dataclass(frozen=True)
class SlackRequest:
    """A raw body and its headers: content-type, x-slack-request-timestamp, x-slack-signature."""

    body: bytes
    headers: dict[str, str]

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode()

    def to_bolt(self) -> AsyncBoltRequest:
        """The request as `AsyncApp.async_dispatch` takes it, for tests that skip HTTP."""
        return AsyncBoltRequest(body=self.text, headers=dict(self.headers))


def sign(
    body: bytes,
    *,
    content_type: str,
    signing_secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SlackRequest:
    """Sign a body the way Slack does; `timestamp` defaults to now."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=stamp, body=body)
    if signature is None:  # generate_signature returns None only without a timestamp
        raise AssertionError("slack_sdk produced no signature")
    return SlackRequest(
        body=body,
        headers={
            "content-type": content_type,
            "x-slack-request-timestamp": stamp,
            "x-slack-signature": signature,
        },
    )


def _new_trigger_id() -> str:
    """A trigger_id unique within the test run, shaped like Slack's."""
    return f"{next(_trigger_counter)}.{int(time.time())}.0123456789abcdef0123456789abcdef"


def slash_command(
    *,
    text: str = "",
    command: str = "/deploy",
    team_id: str = "T111",
    channel_id: str = "C111",
    user_id: str = "U111",
    response_url: str = "https://hooks.slack.com/commands/T111/1/x",
    trigger_id: str | None = None,
    signing_secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SlackRequest:
    """A slash command: plain form fields, as Slack posts them."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": "deploys",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _new_trigger_id(),
    }
    return sign(
        urlencode(fields).encode(),
        content_type=FORM,
        signing_secret=signing_secret,
        timestamp=timestamp,
    )


def view_submission(
    *,
    values: Mapping[str, str | Mapping[str, Any] | None],
    private_metadata: str = "",
    callback_id: str = "deploy_modal",
    team_id: str = "T111",
    user_id: str = "U111",
    view_id: str = "V111",
    blocks: Sequence[Mapping[str, Any]] | None = None,
    signing_secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SlackRequest:
    """A modal submission; `values` maps block_id to typed text (or a raw element state).

    Text becomes `state.values[block_id][block_id]` of a `plain_text_input` (an empty box is
    `None`, as Slack sends it); a mapping is used as that element's state as it is, e.g.
    `{"type": "static_select", "selected_option": {...}}`. `blocks` defaults to one input block
    per value.
    """
    state = {block_id: {block_id: _element_state(value)} for block_id, value in values.items()}
    view = {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "blocks": list(blocks) if blocks is not None else [_input_block(b) for b in values],
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "state": {"values": state},
        "hash": f"{int(time.time())}.abcd1234",
        "title": {"type": "plain_text", "text": "Deploy"},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": {"type": "plain_text", "text": "Cancel"},
        "submit": {"type": "plain_text", "text": "Deploy"},
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": API_APP_ID,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": "BBOT",
    }
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": _new_trigger_id(),
        "view": view,
        "response_urls": [],
        "enterprise": None,
        "is_enterprise_install": False,
    }
    return _interaction(payload, signing_secret=signing_secret, timestamp=timestamp)


def block_action(
    *,
    action_id: str,
    value: str,
    channel_id: str = "C111",
    message_ts: str = "1700000000.000100",
    team_id: str = "T111",
    user_id: str = "U111",
    response_url: str = "https://hooks.slack.com/actions/T111/1/x",
    block_id: str = "actions",
    message: Mapping[str, Any] | None = None,
    trigger_id: str | None = None,
    signing_secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SlackRequest:
    """A button click on a message in a channel; `message` defaults to a bare bot message."""
    clicked_on = dict(message) if message is not None else _bot_message(message_ts, team_id)
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id or _new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "deploys"},
        "message": clicked_on,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": "Button", "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return _interaction(payload, signing_secret=signing_secret, timestamp=timestamp)


def view_action(
    *,
    action_id: str,
    value: str,
    view_id: str = "VHOME",
    view_type: str = "home",
    team_id: str = "T111",
    user_id: str = "U111",
    block_id: str = "actions",
    trigger_id: str | None = None,
    signing_secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SlackRequest:
    """A button click in a view (the App Home tab by default): no channel, no response_url."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view_id},
        "trigger_id": trigger_id or _new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": view_type,
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": f"{int(time.time())}.abcd1234",
            "app_id": API_APP_ID,
            "app_installed_team_id": team_id,
            "bot_id": "BBOT",
        },
        "state": {"values": {}},
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": "Button", "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return _interaction(payload, signing_secret=signing_secret, timestamp=timestamp)


def app_home_opened(
    *,
    team_id: str = "T111",
    user_id: str = "U111",
    channel_id: str = "D111",
    tab: str = "home",
    signing_secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SlackRequest:
    """The Events API's `app_home_opened`, as Slack posts it: a signed JSON `event_callback`."""
    now = int(time.time())
    body = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": API_APP_ID,
        "event": {
            "type": "app_home_opened",
            "user": user_id,
            "channel": channel_id,
            "tab": tab,
            "event_ts": f"{now}.000100",
        },
        "type": "event_callback",
        "event_id": f"Ev{next(_trigger_counter):010d}",
        "event_time": now,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": "UBOT",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
    return sign(
        json.dumps(body).encode(),
        content_type="application/json",
        signing_secret=signing_secret,
        timestamp=timestamp,
    )


def _interaction(
    payload: Mapping[str, Any], *, signing_secret: str, timestamp: int | None
) -> SlackRequest:
    """Interactions arrive form-encoded, the JSON payload in one `payload` field."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return sign(body, content_type=FORM, signing_secret=signing_secret, timestamp=timestamp)


def _user(user_id: str, team_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id}


def _element_state(value: str | Mapping[str, Any] | None) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    return {"type": "plain_text_input", "value": value or None}


def _input_block(block_id: str) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": block_id, "emoji": True},
        "optional": False,
        "dispatch_action": False,
        "element": {"type": "plain_text_input", "action_id": block_id},
    }


def _bot_message(ts: str, team_id: str) -> dict[str, Any]:
    return {
        "type": "message",
        "user": "UBOT",
        "bot_id": "BBOT",
        "app_id": API_APP_ID,
        "team": team_id,
        "text": "",
        "ts": ts,
        "blocks": [],
    }
