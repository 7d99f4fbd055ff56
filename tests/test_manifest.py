"""The Slack app manifest creates a working app in one paste."""

import json
from pathlib import Path
from typing import Any

from blocks.manifest import BOT_SCOPES, app_manifest

ROOT = Path(__file__).resolve().parent.parent


def _manifest() -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((ROOT / "manifest.json").read_text())
    return manifest


def test_the_slash_command_and_interactivity_reach_the_events_route() -> None:
    """`/deploy` and interactivity both post to `/slack/events`, the bot's one route."""
    manifest = _manifest()
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/deploy"
    assert command["url"].endswith("/slack/events")
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    assert interactivity["request_url"] == command["url"]


def test_the_scopes_are_exactly_what_the_bot_calls() -> None:
    """Posting (DMs too), public channels, joining and admin checks each have their scope, and
    nothing more is asked for: the manifest and OAuth installs ask for the same ones."""
    scopes = _manifest()["oauth_config"]["scopes"]["bot"]
    assert set(scopes) == {
        "commands",
        "chat:write",
        "chat:write.public",
        "channels:join",
        "users:read",
        "usergroups:read",
    }
    assert sorted(scopes) == sorted(BOT_SCOPES)


def test_socket_mode_is_a_documented_switch() -> None:
    """The manifest states Socket Mode explicitly, so the README's one-line change applies."""
    settings = _manifest()["settings"]
    assert settings["socket_mode_enabled"] is False


def test_display_information_fits_slack_limits() -> None:
    """Name ≤ 35 and description ≤ 140 characters, as Slack's manifest schema requires."""
    info = _manifest()["display_information"]
    assert 0 < len(info["name"]) <= 35
    assert 0 < len(info["description"]) <= 140
    assert len(_manifest()["features"]["bot_user"]["display_name"]) <= 80


def test_the_app_home_tab_and_its_event_are_enabled() -> None:
    """The Home tab is on and `app_home_opened` reaches `/slack/events`, so it can be published."""
    manifest = _manifest()
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    events = manifest["settings"]["event_subscriptions"]
    assert "app_home_opened" in events["bot_events"]
    assert events["request_url"].endswith("/slack/events")


def test_an_oauth_install_asks_for_exactly_the_manifests_scopes() -> None:
    """`/slack/install` requests the scopes the manifest grants, no more, no fewer."""
    assert set(BOT_SCOPES) == set(_manifest()["oauth_config"]["scopes"]["bot"])


def test_uninstalls_reach_the_bot_and_oauth_redirects_to_it() -> None:
    """`app_uninstalled` and `tokens_revoked` are subscribed, so a workspace's key is deleted
    with its installation; the redirect URL is the bot's `/slack/oauth_redirect`."""
    manifest = _manifest()
    assert {"app_uninstalled", "tokens_revoked"} <= set(
        manifest["settings"]["event_subscriptions"]["bot_events"]
    )
    [redirect] = manifest["oauth_config"]["redirect_urls"]
    assert redirect.endswith("/slack/oauth_redirect")


def test_the_file_is_the_manifest_the_code_builds_for_the_example_host() -> None:
    """manifest.json is `blocks.manifest.app_manifest()` for deploybot.example.com, so the setup
    page, the playground and the file a reader pastes never disagree."""
    assert _manifest() == app_manifest()


def test_the_manifest_points_every_url_at_the_host_it_is_built_for() -> None:
    """Built for another host (as the setup page does), every URL Slack calls is on that host."""
    manifest = app_manifest(public_url="https://bot.acme.dev/", command="/ship")
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/ship"
    urls = [
        command["url"],
        manifest["settings"]["interactivity"]["request_url"],
        manifest["settings"]["interactivity"]["message_menu_options_url"],
        manifest["settings"]["event_subscriptions"]["request_url"],
        *manifest["oauth_config"]["redirect_urls"],
    ]
    assert urls == [
        "https://bot.acme.dev/slack/events",
        "https://bot.acme.dev/slack/events",
        "https://bot.acme.dev/slack/events",
        "https://bot.acme.dev/slack/events",
        "https://bot.acme.dev/slack/oauth_redirect",
    ]


def test_both_shortcuts_are_declared_with_their_callback_ids() -> None:
    """ "Deploy a container" (global) and "Redeploy this" (on a message) reach the bot under the
    callback ids its listeners take."""
    shortcuts = _manifest()["features"]["shortcuts"]
    assert [(s["type"], s["callback_id"], s["name"]) for s in shortcuts] == [
        ("global", "new_deployment", "Deploy a container"),
        ("message", "redeploy_message", "Redeploy this"),
    ]
    assert all(0 < len(s["description"]) <= 150 for s in shortcuts)


def test_the_workflow_step_is_declared_as_a_remote_function() -> None:
    """The custom step `start_deployment` with its inputs (channel and person required, of
    Slack's types) and outputs; the app is org-ready, runs its functions itself and hears
    `function_executed`."""
    manifest = _manifest()
    step = manifest["functions"]["start_deployment"]
    inputs = step["input_parameters"]
    assert list(inputs) == [
        "preset",
        "image",
        "machine_id",
        "machine_price_id",
        "ports",
        "environment_variables",
        "channel_id",
        "user_id",
    ]
    assert {name: (p["type"], p["is_required"]) for name, p in inputs.items()} == {
        "preset": ("string", False),
        "image": ("string", False),
        "machine_id": ("string", False),
        "machine_price_id": ("string", False),
        "ports": ("string", False),
        "environment_variables": ("string", False),
        "channel_id": ("slack#/types/channel_id", True),
        "user_id": ("slack#/types/user_id", True),
    }
    assert list(step["output_parameters"]) == ["deployment_id", "external_deployment_id", "outcome"]
    settings = manifest["settings"]
    assert settings["org_deploy_enabled"] is True
    assert settings["function_runtime"] == "remote"
    assert "function_executed" in settings["event_subscriptions"]["bot_events"]


def test_the_preset_select_asks_for_its_options_at_the_events_route() -> None:
    """External selects load their options from interactivity's options URL: the bot's route."""
    interactivity = _manifest()["settings"]["interactivity"]
    assert interactivity["message_menu_options_url"] == interactivity["request_url"]
