"""The Slack app manifest: what a workspace admin pastes (or follows a link) to create the app.

`manifest.json` in the repository is this, for the example host; the setup page fills in the
host deploybot is served on, and the playground reads its slash command from it.
"""

from typing import Any, Final

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
BOT_EVENTS: Final = ("app_home_opened", "app_uninstalled", "tokens_revoked")


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
                    "usage_hint": "[image] [machine=ID] [price=ID] [ports=80,443/https] | help",
                    "should_escape": False,
                }
            ],
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
        "settings": {
            "interactivity": {"is_enabled": True, "request_url": events},
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            "token_rotation_enabled": False,
            "event_subscriptions": {"request_url": events, "bot_events": list(BOT_EVENTS)},
        },
    }
