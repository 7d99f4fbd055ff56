"""The Slack app manifest: what a workspace admin pastes (or follows a link) to create the app.

`manifest.json` in the repository is this, for the example host; the setup page fills in the
host deploybot is served on, and the playground reads its slash command, shortcuts and
Workflow Builder step from it.
"""

from typing import Any, Final

from blocks import ids

EXAMPLE_URL: Final = "https://deploybot.example.com"
# What the bot calls, and nothing more: each scope is explained in the README.
BOT_SCOPES: Final = (
    "commands",
    "chat:write",
    "chat:write.public",
    "channels:join",
    "users:read",
    "usergroups:read",
)
# `function_executed`: Workflow Builder runs the app's custom step.
BOT_EVENTS: Final = ("app_home_opened", "app_uninstalled", "tokens_revoked", "function_executed")
SHORTCUTS: Final = (
    {
        "name": "Deploy a container",
        "type": "global",
        "callback_id": ids.NEW_DEPLOYMENT_SHORTCUT,
        "description": "Open the deploy form, from anywhere in Slack",
    },
    {
        "name": "Redeploy this",
        "type": "message",
        "callback_id": ids.REDEPLOY_MESSAGE_SHORTCUT,
        "description": "Open the deploy form again from a deploybot deployment message",
    },
)


def _parameter(
    kind: str, title: str, description: str, *, required: bool = False
) -> dict[str, Any]:
    return {
        "type": kind,
        "title": title,
        "description": description,
        "is_required": required,
    }


_TEXT_FORMATS = "in the deploy form's format"
STEP_INPUTS: Final = {
    "preset": _parameter(
        "string", "Preset", "A preset of the workspace; it fills every field not given here"
    ),
    "image": _parameter("string", "Image", "The container image, e.g. nginx:latest"),
    "machine_id": _parameter("string", "Machine ID", "The Hiveon machine that runs it"),
    "machine_price_id": _parameter("string", "Machine price ID", "The price to deploy under"),
    "ports": _parameter("string", "Ports", f"e.g. 80, 443/https ({_TEXT_FORMATS})"),
    "environment_variables": _parameter(
        "string", "Environment variables", f"One KEY=VALUE per line ({_TEXT_FORMATS})"
    ),
    "channel_id": _parameter(
        "slack#/types/channel_id",
        "Channel",
        "Where the deployment's message and thread go",
        required=True,
    ),
    "user_id": _parameter(
        "slack#/types/user_id",
        "On behalf of",
        "Whose permissions apply (who may deploy where), and who is told privately",
        required=True,
    ),
}
STEP_OUTPUTS: Final = {
    "deployment_id": _parameter("string", "Deployment ID", "Hiveon's ID of the deployment"),
    "external_deployment_id": _parameter(
        "string", "External deployment ID", "deploybot's idempotency key for the deployment"
    ),
    "outcome": _parameter("string", "Outcome", "started: Hiveon started the deployment"),
}


def app_manifest(*, public_url: str = EXAMPLE_URL, command: str = "/deploy") -> dict[str, Any]:
    """The manifest of an app whose requests reach deploybot at `public_url`."""
    base = public_url.rstrip("/")
    events = f"{base}/slack/events"
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": "deploybot",
            "description": (
                "Start Hiveon GPU container deployments from a channel, with the outcome in a "
                "thread."
            ),
            "background_color": "#1d3a5f",
        },
        "features": {
            "bot_user": {"display_name": "deploybot", "always_online": True},
            "slash_commands": [
                {
                    "command": command,
                    "url": events,
                    "description": "Deploy a container on a Hiveon machine",
                    "usage_hint": (
                        "[image] [machine=ID] [price=ID] [ports=80,443/https] [stop=4h] | help"
                    ),
                    "should_escape": False,
                }
            ],
            "shortcuts": [dict(shortcut) for shortcut in SHORTCUTS],
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": True,
            },
        },
        "oauth_config": {
            "scopes": {"bot": list(BOT_SCOPES)},
            "redirect_urls": [f"{base}/slack/oauth_redirect"],
        },
        "functions": {
            ids.START_DEPLOYMENT_STEP: {
                "title": "Start a deployment",
                "description": "Deploy a container on a Hiveon machine, as the deploy form does",
                "input_parameters": STEP_INPUTS,
                "output_parameters": STEP_OUTPUTS,
            }
        },
        "settings": {
            "interactivity": {
                "is_enabled": True,
                "request_url": events,
                # The deploy form's preset select asks for its options here.
                "message_menu_options_url": events,
            },
            # Custom steps need an org-ready app whose functions run on its own server.
            "org_deploy_enabled": True,
            "function_runtime": "remote",
            "socket_mode_enabled": False,
            "token_rotation_enabled": False,
            "event_subscriptions": {"request_url": events, "bot_events": list(BOT_EVENTS)},
        },
    }
