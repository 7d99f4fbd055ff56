"""Presets in what users type: `/deploy NAME`, the names a preset may have, and the deploy form's
"Save as preset", channel and refilled inputs as its submission carries them."""

from __future__ import annotations

from typing import Any

import pytest

from blocks import ids
from bot.command_text import OpenModal, Subcommand, parse_command_text, preset_name_problem
from bot.deployment import StartDeploymentRequest
from bot.form import asks_channel, chosen_channel, parse_submission, read_preset_name
from bot.testing.seed import MACHINE_ID, MACHINE_PRICE_ID


def text(value: str | None) -> dict[str, Any]:
    """A text input's state, as Slack sends it."""
    return {"type": "plain_text_input", "value": value}


def test_a_bare_name_may_be_a_preset_and_options_still_apply() -> None:
    """`/deploy web ports=80` may open the preset `web` with its ports overridden."""
    assert parse_command_text("web ports=80") == OpenModal(
        {ids.IMAGE: "web", ids.PORTS: "80"}, preset="web"
    )


@pytest.mark.parametrize("text", ["image=web", "nginx:1.27", "ghcr.io/acme/api", "Web"])
def test_an_image_option_or_an_image_looking_word_is_never_a_preset(text: str) -> None:
    """`image=` forces an image; a word with `:`, `/` or capitals cannot be a preset's name."""
    parsed = parse_command_text(text)
    assert isinstance(parsed, OpenModal)
    assert parsed.preset is None


def test_the_preset_subcommands_are_subcommands() -> None:
    """`presets`, `preset NAME` and `curl ID` are subcommands, with their words after them."""
    assert parse_command_text("presets api") == Subcommand("presets", ("api",))
    assert parse_command_text("preset web ports=80") == Subcommand("preset", ("web", "ports=80"))
    assert parse_command_text("curl dep-1") == Subcommand("curl", ("dep-1",))


@pytest.mark.parametrize("name", ["web", "api-prod", "0", "a" * 32, "nginx"])
def test_names_deploy_can_open_are_allowed(name: str) -> None:
    """Lowercase letters, digits and dashes, up to 32, not a subcommand or near one."""
    assert preset_name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "starts"),
    [
        ("Web", "A preset name is 1–32 lowercase letters"),
        ("-web", "A preset name is 1–32 lowercase letters"),
        ("a" * 33, "A preset name is 1–32 lowercase letters"),
        ("web prod", "A preset name is 1–32 lowercase letters"),
        ("help", "“help” is a /deploy subcommand"),
        ("curl", "“curl” is a /deploy subcommand"),
        ("historie", "“historie” is too close to the subcommand “history”"),
    ],
)
def test_names_deploy_could_not_open_are_refused(name: str, starts: str) -> None:
    """Anything else says why, in plain text for the form's field."""
    problem = preset_name_problem(name)
    assert problem is not None
    assert problem.startswith(starts)


def test_save_as_preset_is_read_from_the_form() -> None:
    """The name (spaces around it dropped), nothing when empty, its problem when refused."""
    assert read_preset_name({ids.PRESET_NAME: {ids.PRESET_NAME: text(" web ")}}) == ("web", [])
    assert read_preset_name({ids.PRESET_NAME: {ids.PRESET_NAME: text(None)}}) == (None, [])
    assert read_preset_name({}) == (None, [])
    name, problems = read_preset_name({ids.PRESET_NAME: {ids.PRESET_NAME: text("status")}})
    assert name == "status"
    assert problems == ["“status” is a /deploy subcommand: pick another name."]


def test_the_channel_picked_is_read_from_the_form() -> None:
    """A form with a channel select asks where; what was picked, if anything, is the channel."""
    picked = {
        ids.CHANNEL: {ids.CHANNEL: {"type": "conversations_select", "selected_conversation": "C1"}}
    }
    empty = {
        ids.CHANNEL: {ids.CHANNEL: {"type": "conversations_select", "selected_conversation": None}}
    }
    assert (asks_channel(picked), chosen_channel(picked)) == (True, "C1")
    assert (asks_channel(empty), chosen_channel(empty)) == (True, None)
    assert (asks_channel({}), chosen_channel({})) == (False, None)


def test_a_refilled_form_is_read_under_its_new_action_ids() -> None:
    """After a refill the inputs answer as `<field>.<n>`; the form reads them as its fields,
    and anything else under another action_id is still no value."""
    values = {
        ids.MACHINE_ID: {"machine_id.2": text(MACHINE_ID)},
        ids.MACHINE_PRICE_ID: {"machine_price_id.2": text(MACHINE_PRICE_ID)},
        ids.IMAGE: {"image.2": text("nginx:latest")},
        ids.EXTERNAL_DEPLOYMENT_ID: {"external_deployment_id.2": text("ext-1")},
        ids.PORTS: {"ports.x": text("80")},
    }
    parsed = parse_submission(values)
    assert isinstance(parsed, StartDeploymentRequest)
    assert parsed.container_config.image == "nginx:latest"
    assert parsed.container_config.ports == ()
