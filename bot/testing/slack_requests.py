"""What Slack sends an app, signed as Slack signs it: slash commands, interactions, events.

The one builder for everything that plays Slack's side: the playground turns what you do on its
page into these requests, the tests post them to the bot or dispatch them to its Bolt app, and
the benchmarks load the bot with them. Each returns the raw body and the headers Slack would
send, signed with `signing_secret` (`v0=` HMAC-SHA256 of `v0:<timestamp>:<body>`), so the bot
checks them exactly as it checks Slack's. The defaults describe the tests' workspace; the
playground passes its own team, app, people and channels.

Slash commands are form fields; interactions (submissions, clicks, shortcuts, the options a
select asks for) are one form field, `payload`, holding JSON; events (Workflow Builder's
`function_executed` too) are a JSON `event_callback` envelope.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.modal_context import ModalContext

SIGNING_SECRET: Final = "test-signing-secret"  # noqa: S105 — the tests' made-up secret
TEAM_ID: Final = "T111"
TEAM_DOMAIN: Final = "test-team"
API_APP_ID: Final = "A111"
BOT_USER_ID: Final = "UBOT"
BOT_ID: Final = "BBOT"
# Slack still sends the deprecated verification token in every payload.
VERIFICATION_TOKEN: Final = "verification-token"  # noqa: S105 — a fixed label, not a secret
FORM: Final = "application/x-www-form-urlencoded"
# What a click on a message defaults to: the first message the fake Slack stores.
FIRST_MESSAGE_TS: Final = "1700000000.000100"

Json = dict[str, Any]

_numbers = itertools.count(1)


@dataclass(frozen=True)
class SlackRequest:
    """A raw body and its headers: content-type, x-slack-request-timestamp, x-slack-signature."""

    body: bytes
    headers: dict[str, str]

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode()


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


def slash_command(
    *,
    text: str = "",
    command: str = "/deploy",
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    enterprise_id: str | None = None,
    is_enterprise_install: bool = False,
    channel_id: str = "C111",
    channel_name: str = "deploys",
    user_id: str = "U111",
    user_name: str | None = None,
    api_app_id: str = API_APP_ID,
    response_url: str = "https://hooks.slack.com/commands/T111/1/x",
    trigger_id: str | None = None,
    signing_secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SlackRequest:
    """`/command text` typed in a channel: plain form fields, as Slack posts them."""
    fields = {"token": VERIFICATION_TOKEN, "team_id": team_id, "team_domain": team_domain}
    if enterprise_id is not None:
        fields |= {"enterprise_id": enterprise_id, "enterprise_name": "Org"}
    fields |= {
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "true" if is_enterprise_install else "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return sign(
        urlencode(fields).encode(),
        content_type=FORM,
        signing_secret=signing_secret,
        timestamp=timestamp,
    )


def org_slash_command(
    *,
    text: str,
    enterprise_id: str,
    team_id: str,
    user_id: str,
    channel_id: str = "C111",
    response_url: str = "https://hooks.slack.com/commands/E1/1/x",
) -> SlackRequest:
    """A slash command in a workspace of an Enterprise Grid org that installed deploybot
    org-wide."""
    return slash_command(
        text=text,
        team_id=team_id,
        enterprise_id=enterprise_id,
        is_enterprise_install=True,
        channel_id=channel_id,
        user_id=user_id,
        response_url=response_url,
    )


def modal_view(
    *,
    values: Mapping[str, str | Mapping[str, Any] | None],
    private_metadata: str = "",
    callback_id: str = "deploy_modal",
    team_id: str = TEAM_ID,
    view_id: str = "V111",
    blocks: Sequence[Mapping[str, Any]] | None = None,
) -> Json:
    """A modal as a submission carries it; `values` maps block_id to typed text (or a raw
    element state).

    Text becomes `state.values[block_id][block_id]` of a `plain_text_input` (an empty box is
    `None`, as Slack sends it); a mapping is used as that element's state as it is, e.g.
    `{"type": "static_select", "selected_option": {...}}`. `blocks` defaults to one input block
    per value.
    """
    state = {block_id: {block_id: _element_state(value)} for block_id, value in values.items()}
    return {
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
        "bot_id": BOT_ID,
    }


def view_submission(
    *,
    values: Mapping[str, str | Mapping[str, Any] | None] | None = None,
    view: Mapping[str, Any] | None = None,
    private_metadata: str = "",
    callback_id: str = "deploy_modal",
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = API_APP_ID,
    user_id: str = "U111",
    user_name: str | None = None,
    view_id: str = "V111",
    blocks: Sequence[Mapping[str, Any]] | None = None,
    trigger_id: str | None = None,
    response_urls: Sequence[Mapping[str, str]] = (),
    signing_secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SlackRequest:
    """A modal submitted: `view` as it is, or one made by `modal_view` from `values` and the
    fields after it. `response_urls` are what Slack adds for a conversations select with
    `response_url_enabled`: `{"block_id", "action_id", "channel_id", "response_url"}` each."""
    if view is None:
        view = modal_view(
            values=values or {},
            private_metadata=private_metadata,
            callback_id=callback_id,
            team_id=team_id,
            view_id=view_id,
            blocks=blocks,
        )
    elif values is not None:
        raise ValueError("give the view, or the values to make one, not both")
    payload: Json = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": team_domain},
        "user": _user(user_id, team_id, user_name),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": dict(view),
        "response_urls": [dict(url) for url in response_urls],
        "enterprise": None,
        "is_enterprise_install": False,
    }
    return _interaction(payload, signing_secret=signing_secret, timestamp=timestamp)


def view_closed(
    *,
    view: Mapping[str, Any],
    is_cleared: bool = False,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = API_APP_ID,
    user_id: str = "U111",
    user_name: str | None = None,
    signing_secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SlackRequest:
    """A modal closed by its user (sent only when the view asked: `notify_on_close`)."""
    payload: Json = {
        "type": "view_closed",
        "team": {"id": team_id, "domain": team_domain},
        "user": _user(user_id, team_id, user_name),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "view": dict(view),
        "is_cleared": is_cleared,
        "enterprise": None,
        "is_enterprise_install": False,
    }
    return _interaction(payload, signing_secret=signing_secret, timestamp=timestamp)


def block_action(
    *,
    action_id: str = "",
    value: str = "",
    block_id: str = "actions",
    action: Mapping[str, Any] | None = None,
    channel_id: str = "C111",
    channel_name: str = "deploys",
    message_ts: str | None = None,
    message: Mapping[str, Any] | None = None,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = API_APP_ID,
    user_id: str = "U111",
    user_name: str | None = None,
    response_url: str = "https://hooks.slack.com/actions/T111/1/x",
    trigger_id: str | None = None,
    signing_secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SlackRequest:
    """An element used on a message in a channel: `action` as the element is drawn, or a
    button with `action_id` and `value`; `message` defaults to a bare bot message."""
    ts = message_ts or (str(message["ts"]) if message is not None else FIRST_MESSAGE_TS)
    clicked_on = dict(message) if message is not None else _bot_message(ts, team_id)
    ephemeral = clicked_on.get("subtype") == "ephemeral"
    container: Json = {
        "type": "message",
        "message_ts": ts,
        "channel_id": channel_id,
        "is_ephemeral": ephemeral,
    }
    if clicked_on.get("thread_ts") not in {None, ts}:
        container["thread_ts"] = clicked_on["thread_ts"]
    payload: Json = {
        "type": "block_actions",
        "user": _user(user_id, team_id, user_name),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [_stamped(action or _button(action_id, value, block_id))],
    }
    if not ephemeral:
        # Slack leaves the message out for ephemeral ones: the app is expected to know it.
        payload["message"] = clicked_on
    return _interaction(payload, signing_secret=signing_secret, timestamp=timestamp)


def view_action(
    *,
    action_id: str = "",
    value: str = "",
    block_id: str = "actions",
    action: Mapping[str, Any] | None = None,
    view: Mapping[str, Any] | None = None,
    view_id: str = "VHOME",
    view_type: str = "home",
    callback_id: str = "",
    private_metadata: str = "",
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = API_APP_ID,
    user_id: str = "U111",
    user_name: str | None = None,
    trigger_id: str | None = None,
    signing_secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SlackRequest:
    """An element used in a view (the App Home tab by default): no channel, no response_url.

    `view` as it is shown, with its current state; or a bare one made of `view_id`,
    `view_type`, `callback_id` and `private_metadata`. `action` as the element is drawn, or a
    button with `action_id` and `value`.
    """
    shown = (
        dict(view)
        if view is not None
        else _bare_view(view_id, view_type, callback_id, private_metadata, team_id)
    )
    payload: Json = {
        "type": "block_actions",
        "user": _user(user_id, team_id, user_name),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": shown["id"]},
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": shown,
        "actions": [_stamped(action or _button(action_id, value, block_id))],
    }
    return _interaction(payload, signing_secret=signing_secret, timestamp=timestamp)


def global_shortcut(
    *,
    callback_id: str,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = API_APP_ID,
    user_id: str = "U111",
    user_name: str | None = None,
    trigger_id: str | None = None,
    signing_secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SlackRequest:
    """A global shortcut chosen (from the shortcuts menu or the search bar): no channel, no
    response_url, a trigger_id to open a modal with."""
    payload: Json = {
        "type": "shortcut",
        "token": VERIFICATION_TOKEN,
        "action_ts": f"{time.time():.6f}",
        "team": {"id": team_id, "domain": team_domain},
        "user": _user(user_id, team_id, user_name),
        "api_app_id": api_app_id,
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return _interaction(payload, signing_secret=signing_secret, timestamp=timestamp)


def message_shortcut(
    *,
    callback_id: str,
    message: Mapping[str, Any],
    channel_id: str = "C111",
    channel_name: str = "deploys",
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = API_APP_ID,
    user_id: str = "U111",
    user_name: str | None = None,
    response_url: str = "https://hooks.slack.com/app/T111/1/x",
    trigger_id: str | None = None,
    signing_secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SlackRequest:
    """A message shortcut used on `message` in a channel (`message_action`): the message as
    Slack stores it, its channel, a response_url and a trigger_id."""
    payload: Json = {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": f"{time.time():.6f}",
        "team": {"id": team_id, "domain": team_domain},
        "user": _user(user_id, team_id, user_name),
        "channel": {"id": channel_id, "name": channel_name},
        "is_enterprise_install": False,
        "enterprise": None,
        "api_app_id": api_app_id,
        "callback_id": callback_id,
        "trigger_id": trigger_id or new_trigger_id(),
        "response_url": response_url,
        "message_ts": str(message.get("ts", "")),
        "message": dict(message),
    }
    return _interaction(payload, signing_secret=signing_secret, timestamp=timestamp)


def block_suggestion(
    *,
    action_id: str,
    value: str = "",
    block_id: str | None = None,
    view: Mapping[str, Any] | None = None,
    view_id: str = "V111",
    callback_id: str = "deploy_modal",
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = API_APP_ID,
    user_id: str = "U111",
    user_name: str | None = None,
    signing_secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SlackRequest:
    """An external select in a modal asking for its options as `value` is typed; the app
    answers them in the ack."""
    shown = (
        dict(view) if view is not None else _bare_view(view_id, "modal", callback_id, "", team_id)
    )
    payload: Json = {
        "type": "block_suggestion",
        "user": _user(user_id, team_id, user_name),
        "container": {"type": "view", "view_id": shown["id"]},
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "action_id": action_id,
        "block_id": block_id or action_id,
        "value": value,
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": shown,
    }
    return _interaction(payload, signing_secret=signing_secret, timestamp=timestamp)


def function_executed(
    *,
    callback_id: str,
    inputs: Mapping[str, Any],
    function_execution_id: str | None = None,
    bot_access_token: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = API_APP_ID,
    bot_user_id: str = BOT_USER_ID,
    signing_secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SlackRequest:
    """Workflow Builder running the app's custom step `callback_id` with `inputs`: the
    execution's ID and its own short-lived token (`xwfp-…`), which completes it."""
    return event(
        "function_executed",
        details={
            "function": {
                "id": f"Fn{secrets.token_hex(5).upper()}",
                "callback_id": callback_id,
                "title": callback_id,
                "description": "",
                "type": "app",
                "input_parameters": [],
                "output_parameters": [],
                "app_id": api_app_id,
                "date_created": int(time.time()),
                "date_updated": int(time.time()),
                "date_deleted": 0,
            },
            "inputs": dict(inputs),
            "function_execution_id": function_execution_id or new_execution_id(),
            "workflow_execution_id": f"Wx{secrets.token_hex(6).upper()}",
            "bot_access_token": bot_access_token or f"xwfp-{secrets.token_hex(12)}",
        },
        team_id=team_id,
        api_app_id=api_app_id,
        bot_user_id=bot_user_id,
        signing_secret=signing_secret,
        timestamp=timestamp,
    )


def event(
    event_type: str,
    *,
    details: Mapping[str, Any] | None = None,
    team_id: str = TEAM_ID,
    enterprise_id: str | None = None,
    api_app_id: str = API_APP_ID,
    bot_user_id: str = BOT_USER_ID,
    signing_secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SlackRequest:
    """An Events API delivery (`event_callback`) of one event, JSON as Slack posts it, e.g.
    `app_uninstalled`; `details` are the event's fields besides its type."""
    now = time.time()
    body = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "enterprise_id": enterprise_id,
        "api_app_id": api_app_id,
        "event": {"type": event_type, **(details or {}), "event_ts": f"{now:.6f}"},
        "type": "event_callback",
        "event_id": f"Ev{secrets.token_hex(5).upper()}",
        "event_time": int(now),
        "authorizations": [
            {
                "enterprise_id": enterprise_id,
                "team_id": team_id,
                "user_id": bot_user_id,
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


def app_home_opened(
    *,
    team_id: str = TEAM_ID,
    user_id: str = "U111",
    channel_id: str = "D111",
    tab: str = "home",
    signing_secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SlackRequest:
    """The Events API's `app_home_opened`: `user_id` opened the app's `tab`."""
    return event(
        "app_home_opened",
        details={"user": user_id, "channel": channel_id, "tab": tab},
        team_id=team_id,
        signing_secret=signing_secret,
        timestamp=timestamp,
    )


# --- the admin modals ------------------------------------------------------------------------


def where(channel_id: str, response_url: str) -> str:
    """The private_metadata the bot puts in its modals: the channel and the response_url."""
    return ModalContext(channel_id=channel_id, response_url=response_url).dump()


def api_key_submission(
    api_key: str | None,
    *,
    team_id: str = TEAM_ID,
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
    team_id: str = TEAM_ID,
    user_id: str = "UADMIN",
    private_metadata: str = "",
    require_approval: bool | None = None,
    approvers: Sequence[str] = (),
    default_stop_after: str = "",
    max_stop_after: str = "",
) -> SlackRequest:
    """The settings modal submitted with these selections, in Slack's element state shapes.

    With `require_approval` (True or False) the guardrails are submitted too: the checkbox,
    the approvers, the default and longest run as typed; without, the modal is one from before
    they existed.
    """
    guardrails: dict[str, str | Mapping[str, Any] | None] = {}
    if require_approval is not None:
        checked = [
            {
                "text": {"type": "plain_text", "text": "A second person approves"},
                "value": "required",
            }
        ]
        guardrails = {
            "require_approval": {
                "type": "checkboxes",
                "selected_options": checked if require_approval else [],
            },
            "approvers": {"type": "multi_users_select", "selected_users": list(approvers)},
            "default_stop_after": default_stop_after,
            "max_stop_after": max_stop_after,
        }
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
            **guardrails,
        },
        callback_id="deploy_settings_modal",
        team_id=team_id,
        user_id=user_id,
        private_metadata=private_metadata,
    )


def reject_submission(
    reason: str | None,
    *,
    external_id: str,
    response_url: str | None = None,
    team_id: str = TEAM_ID,
    user_id: str = "UADMIN",
) -> SlackRequest:
    """The reject modal submitted with `reason`, for the request with `external_id`."""
    context = {"external_id": external_id, "response_url": response_url}
    return view_submission(
        values={"reject_reason": reason},
        callback_id="reject_deployment_modal",
        team_id=team_id,
        user_id=user_id,
        private_metadata=json.dumps({k: v for k, v in context.items() if v is not None}),
    )


def remove_key_click(
    *,
    team_id: str = TEAM_ID,
    user_id: str = "UADMIN",
    view_id: str = "VKEY",
    private_metadata: str = "",
) -> SlackRequest:
    """A click on the key modal's confirmed "Remove key" button."""
    return view_action(
        action_id="remove_api_key",
        value="remove",
        block_id="status",
        view_id=view_id,
        view_type="modal",
        callback_id="api_key_modal",
        private_metadata=private_metadata,
        team_id=team_id,
        user_id=user_id,
    )


# --- parts -------------------------------------------------------------------------------------


def new_trigger_id() -> str:
    """A trigger_id unique within the process, shaped like Slack's."""
    return f"{next(_numbers)}.{int(time.time())}.{secrets.token_hex(16)}"


def new_execution_id() -> str:
    """A function_execution_id shaped like Slack's (`Fx…`)."""
    return f"Fx{secrets.token_hex(6).upper()}"


def _interaction(
    payload: Mapping[str, Any], *, signing_secret: str, timestamp: int | None
) -> SlackRequest:
    """Interactions arrive form-encoded, the JSON payload in one `payload` field."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return sign(body, content_type=FORM, signing_secret=signing_secret, timestamp=timestamp)


def _user(user_id: str, team_id: str, user_name: str | None) -> Json:
    name = user_name or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _button(action_id: str, value: str, block_id: str) -> Json:
    return {
        "action_id": action_id,
        "block_id": block_id,
        "text": {"type": "plain_text", "text": "Button", "emoji": True},
        "value": value,
        "type": "button",
    }


def _stamped(action: Mapping[str, Any]) -> Json:
    return dict(action) | {"action_ts": f"{time.time():.6f}"}


def _element_state(value: str | Mapping[str, Any] | None) -> Json:
    if isinstance(value, Mapping):
        return dict(value)
    return {"type": "plain_text_input", "value": value or None}


def _input_block(block_id: str) -> Json:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": block_id, "emoji": True},
        "optional": False,
        "dispatch_action": False,
        "element": {"type": "plain_text_input", "action_id": block_id},
    }


def _bare_view(
    view_id: str, view_type: str, callback_id: str, private_metadata: str, team_id: str
) -> Json:
    return {
        "id": view_id,
        "team_id": team_id,
        "type": view_type,
        "blocks": [],
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "state": {"values": {}},
        "hash": f"{int(time.time())}.abcd1234",
        "app_id": API_APP_ID,
        "app_installed_team_id": team_id,
        "bot_id": BOT_ID,
    }


def _bot_message(ts: str, team_id: str) -> Json:
    return {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": API_APP_ID,
        "team": team_id,
        "text": "",
        "ts": ts,
        "blocks": [],
    }
