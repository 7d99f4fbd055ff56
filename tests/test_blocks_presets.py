"""Presets, the deploy form's new inputs and Copy as curl, as Block Kit: the JSON they produce,
within Slack's limits."""

from datetime import UTC, datetime
from typing import Any

from blocks import ids
from blocks.admin import change_line
from blocks.curl import curl_message
from blocks.modal import deploy_modal
from blocks.presets import (
    LISTED,
    PresetFacts,
    home_presets,
    preset_options,
    presets_message,
)
from tests.test_blocks import assert_valid_message, assert_valid_view, texts

AT = 1_767_268_800  # 2026-01-01 12:00 UTC


def facts(name: str = "web", **changes: Any) -> PresetFacts:
    values: dict[str, Any] = {
        "name": name,
        "image": "nginx:latest",
        "machine_id": "24d71100-7532-11ef-bd52-3a629d609f79",
        "user_id": "U1",
        "saved_at": AT,
        "last_used_at": None,
    }
    return PresetFacts(**values | changes)


def test_the_form_offers_presets_asks_a_channel_and_saves_under_a_name() -> None:
    """The preset select (an external select dispatching on pick, the chosen one shown), the
    channel select (with Slack's response_url for it) and "Save as preset" are valid inputs."""
    view = deploy_modal(
        external_deployment_id="ext-1",
        private_metadata="{}",
        offer_presets=True,
        preset="web",
        ask_channel=True,
        channel="C42",
    )
    assert_valid_view(view)
    blocks = {block.get("block_id"): block for block in view["blocks"]}
    assert [block.get("block_id") for block in view["blocks"]][:2] == ["preset", "channel"]
    assert blocks["preset"]["dispatch_action"] is True
    assert blocks["preset"]["element"] == {
        "type": "external_select",
        "action_id": "preset",
        "placeholder": {"type": "plain_text", "text": "Start from a preset"},
        "min_query_length": 0,
        "initial_option": {"text": {"type": "plain_text", "text": "web"}, "value": "web"},
    }
    channel = blocks["channel"]["element"]
    assert (channel["initial_conversation"], channel["response_url_enabled"]) == ("C42", True)
    assert blocks["preset_name"]["optional"] is True
    assert blocks["preset_name"]["element"]["max_length"] == 32


def test_a_refilled_form_gives_the_inputs_it_fills_new_action_ids() -> None:
    """After a refill, Slack shows the bot's values: the vendor inputs' action_ids change with
    the revision; the password (never prefilled) keeps its id, and so what was typed in it."""
    view = deploy_modal(external_deployment_id="ext-1", private_metadata="{}", revision=2)
    actions = {
        block["block_id"]: block["element"]["action_id"]
        for block in view["blocks"]
        if block["type"] == "input"
    }
    assert actions[ids.IMAGE] == "image.2"
    assert actions[ids.EXTERNAL_DEPLOYMENT_ID] == "external_deployment_id.2"
    assert actions[ids.DOCKER_PASSWORD] == "docker_password"
    assert actions[ids.PRESET_NAME] == "preset_name"


def test_the_form_says_whose_preset_withheld_its_script() -> None:
    """From a preset, the note names who saved it rather than who started a deployment."""
    view = deploy_modal(
        external_deployment_id="e", private_metadata="", script_withheld_from="U9", preset="web"
    )
    assert "<@U9>, who saved this preset, gets it back" in view["blocks"][0]["elements"][0]["text"]


def test_the_list_shows_each_preset_with_deploy_and_a_confirmed_delete() -> None:
    """Each preset: a line (name, image, machine, who saved it, when, last used) and its
    buttons carrying its name; the footer says how to open or find one."""
    message = presets_message(
        presets=[facts(last_used_at=AT + 60)], total=1, containing="", command="/deploy"
    )
    assert_valid_message(message)
    [title, line, buttons, footer] = message["blocks"]
    assert title["text"]["text"] == "*The workspace's presets*"
    assert line["text"]["text"] == (
        "*web* · `nginx:latest` on `24d71100…`\n"
        f"saved by <@U1> <!date^{AT}^{{date_short_pretty}} {{time}}|{AT}> · last used "
        f"<!date^{AT + 60}^{{date_short_pretty}} {{time}}|{AT + 60}>"
    )
    [deploy, delete] = buttons["elements"]
    assert (deploy["action_id"], deploy["value"], deploy["style"]) == (
        "deploy_preset",
        "web",
        "primary",
    )
    assert (delete["action_id"], delete["value"], delete["style"]) == (
        "delete_preset",
        "web",
        "danger",
    )
    assert delete["confirm"]["text"]["text"] == (
        "The preset web (nginx:latest) is deleted for the whole workspace. Deployments started "
        "from it are not affected."
    )
    assert footer["elements"][0]["text"] == (
        "`/deploy NAME` opens a preset's form; `/deploy presets WORD` finds others."
    )


def test_a_long_list_stays_within_a_messages_blocks_and_says_how_many() -> None:
    """Past `LISTED` presets the list cuts and says how many there are; Slack's 50 blocks hold."""
    many = [facts(f"p-{number}") for number in range(60)]
    message = presets_message(presets=many, total=60, containing="", command="/deploy")
    assert_valid_message(message)
    assert len([b for b in message["blocks"] if b["type"] == "actions"]) == LISTED
    assert message["blocks"][-1]["elements"][0]["text"].startswith(f"Showing {LISTED} of 60.")


def test_an_image_of_markup_is_escaped_in_the_list_and_the_options() -> None:
    """A preset's image is user text: escaped in mrkdwn, plain in the select's options."""
    hostile = facts(image="<!channel>&x")
    message = presets_message(presets=[hostile], total=1, containing="", command="/deploy")
    shown = " ".join(texts(message, "mrkdwn"))
    assert "<!channel>" not in shown
    assert "&lt;!channel&gt;&amp;x" in shown
    assert preset_options([hostile]) == {
        "options": [{"text": {"type": "plain_text", "text": "web · <!channel>&x"}, "value": "web"}]
    }


def test_an_empty_list_says_how_to_save_one_or_what_matched_nothing() -> None:
    """No presets: how to save one; none matching: what was looked for."""
    empty = presets_message(presets=[], total=0, containing="", command="/deploy")
    assert "Fill in *Save as preset*" in empty["text"]
    none = presets_message(presets=[], total=0, containing="zzz", command="/deploy")
    assert none["text"] == "No preset's name or image contains `zzz`."


def test_the_app_home_shows_presets_only_when_there_are_some() -> None:
    """A divider, a title and one section per preset with its Deploy button; nothing without."""
    assert home_presets(presets=[], total=0, command="/deploy") == []
    blocks = home_presets(presets=[facts()], total=1, command="/deploy")
    assert [block["type"] for block in blocks] == ["divider", "section", "section"]
    assert blocks[2]["accessory"]["action_id"] == "deploy_preset"


def test_option_labels_fit_slacks_75_characters() -> None:
    """A long image is cut in the option's text; the value stays the name."""
    [option] = preset_options([facts(image="registry.example.com/" + "a" * 100)])["options"]
    assert len(option["text"]["text"]) == 75
    assert option["value"] == "web"


def test_the_change_log_names_preset_changes() -> None:
    """Saved, replaced (naming whose it was) and deleted presets read as sentences."""
    at = datetime(2026, 1, 1, 12, tzinfo=UTC)
    detail = {"name": "web", "image": "nginx:latest", "owner": "U1"}
    lines = [
        change_line(user_id="U2", at=at, action=action, detail=detail)
        for action in ("preset_saved", "preset_replaced", "preset_deleted")
    ]
    assert [line.split(" · ", 1)[1] for line in lines] == [
        "<@U2> saved the preset `web` (`nginx:latest`)",
        "<@U2> replaced the preset `web`, <@U1>'s (`nginx:latest`)",
        "<@U2> deleted the preset `web`, <@U1>'s (`nginx:latest`)",
    ]


def test_copy_as_curl_shows_the_command_verbatim_and_what_to_set() -> None:
    """The command sits in preformatted rich text (nothing in it is read as markup); the
    variables to set are named, and a withheld script or the sandbox is said."""
    command = "curl -X POST 'https://h/x' --data-binary '{\"a\":\"<!channel> & `x`\"}'"
    message = curl_message(
        deployment="dep-1",
        command=command,
        variables=("HIVEON_API_KEY", "DB_PASSWORD"),
        script_withheld_from="U1",
        sandbox=True,
    )
    assert_valid_message(message)
    [intro, rich, notes] = message["blocks"]
    assert rich["elements"][0]["elements"][0]["text"] == command
    assert intro["text"]["text"] == (
        "*The start request deploybot sent for `dep-1`*, as a curl command. It holds no secret: "
        "set `HIVEON_API_KEY` (the workspace's Hiveon API key), `DB_PASSWORD` in your shell "
        "first."
    )
    assert "only <@U1>, who started this deployment" in notes["elements"][0]["text"]
    assert "sandbox vendor" in notes["elements"][0]["text"]
