"""Signed requests for the admin flows: modal submissions and clicks, org installs, events."""

import json
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from bot.modal_context import ModalContext
from tests.slack_requests import (
    API_APP_ID,
    FORM,
    TEAM_DOMAIN,
    VERIFICATION_TOKEN,
    SlackRequest,
    sign,
    view_submission,
)


def where(channel_id: str, response_url: str) -> str:
    """The private_metadata the bot puts in its modals: the channel and the response_url."""
    return ModalContext(channel_id=channel_id, response_url=response_url).dump()


def api_key_submission(
    api_key: str | None,
    *,
    team_id: str = "T111",
    user_id: str = "UADMIN",
    view_id: str = "VKEY",
    private_metadata: str = "",
) -> SlackRequest:
    """The key modal submitted with `api_key` typed in."""
    return view_submission(
        values={"api_key": api_key},
        callback_id="api_key_modal",
        team_id=team_id,
        user_id=user_id,
        view_id=view_id,
        private_metadata=private_metadata,
    )


def settings_submission(
    *,
    channels: Sequence[str] = (),
    users: Sequence[str] = (),
    usergroups: Sequence[str] = (),
    team_id: str = "T111",
    user_id: str = "UADMIN",
    private_metadata: str = "",
) -> SlackRequest:
    """The settings modal submitted with these selections, in Slack's element state shapes."""
    return view_submission(
        values={
            "allowed_channels": {
                "type": "multi_conversations_select",
                "selected_conversations": list(channels),
            },
            "allowed_users": {"type": "multi_users_select", "selected_users": list(users)},
            "allowed_usergroups": {
                "type": "multi_static_select",
                "selected_options": [
                    {"text": {"type": "plain_text", "text": group}, "value": group}
                    for group in usergroups
                ],
            },
        },
        callback_id="deploy_settings_modal",
        team_id=team_id,
        user_id=user_id,
        private_metadata=private_metadata,
    )


def remove_key_click(
    *,
    team_id: str = "T111",
    user_id: str = "UADMIN",
    view_id: str = "VKEY",
    private_metadata: str = "",
) -> SlackRequest:
    """A click on the key modal's confirmed "Remove key" button."""
    payload = {
        "type": "block_actions",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": team_id},
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view_id},
        "trigger_id": f"{int(time.time())}.remove.0123456789abcdef",
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "callback_id": "api_key_modal",
            "private_metadata": private_metadata,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.abcd1234",
            "app_installed_team_id": team_id,
        },
        "actions": [
            {
                "action_id": "remove_api_key",
                "block_id": "status",
                "type": "button",
                "value": "remove",
                "action_ts": f"{time.time():.6f}",
            }
        ],
        "enterprise": None,
        "is_enterprise_install": False,
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return sign(body, content_type=FORM)


def org_slash_command(
    *,
    text: str,
    enterprise_id: str,
    team_id: str,
    user_id: str,
    channel_id: str = "C111",
    response_url: str = "https://hooks.slack.com/commands/E1/1/x",
    trigger_id: str = "1.1.org",
) -> SlackRequest:
    """A slash command in a workspace of an Enterprise Grid org that installed deploybot
    org-wide."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "enterprise_id": enterprise_id,
        "enterprise_name": "Org",
        "channel_id": channel_id,
        "channel_name": "deploys",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": "/deploy",
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "true",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return sign(urlencode(fields).encode(), content_type=FORM)


def event(
    event_type: str,
    *,
    team_id: str,
    enterprise_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> SlackRequest:
    """An Events API callback, JSON as Slack posts it, e.g. `app_uninstalled`."""
    body = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "enterprise_id": enterprise_id,
        "api_app_id": API_APP_ID,
        "event": {"type": event_type, **(details or {})},
        "type": "event_callback",
        "event_id": f"Ev{int(time.time() * 1000)}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": enterprise_id,
                "team_id": team_id,
                "user_id": "UBOT",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
    }
    return sign(json.dumps(body).encode(), content_type="application/json")
