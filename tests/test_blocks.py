"""Block Kit renderers: the JSON they produce, and Slack's limits checked through slack_sdk."""

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from blocks import ids
from blocks.messages import STATUSES, deployment_message, help_message, notice, thread_reply
from blocks.modal import deploy_modal
from blocks.text import code, escape, mention, plain_quotes, truncate
from bot.testing.seed import MACHINE_ID as MACHINE
from bot.testing.seed import MACHINE_PRICE_ID as PRICE

EXTERNAL_ID = "0b6f4e1c-9a51-4a8e-9d0e-5c1f3a7b2d64"
MENTION = re.compile(r"<@[A-Z0-9]+>")


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def modal(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "external_deployment_id": EXTERNAL_ID,
        "private_metadata": '{"channel_id": "C1"}',
    }
    return deploy_modal(**arguments | overrides)


def card(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "user_id": "U123",
        "image": "nginx:latest",
        "machine_id": MACHINE,
        "machine_price_id": PRICE,
        "ports": ["80/tcp", "443/https"],
        "external_deployment_id": EXTERNAL_ID,
        "status": "deploying",
    }
    return deployment_message(**arguments | overrides)


def inputs(view: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {block["block_id"]: block for block in view["blocks"] if block["type"] == "input"}


def elements(value: Any) -> Iterator[dict[str, Any]]:
    """Every dict inside a Block Kit structure, the structure itself included."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from elements(item)
    elif isinstance(value, list):
        for item in value:
            yield from elements(item)


def texts(value: Any, kind: str) -> list[str]:
    return [item["text"] for item in elements(value) if item.get("type") == kind]


def assert_valid_view(view: dict[str, Any]) -> None:
    """What slack_sdk checks (by round-tripping unchanged) and what it skips (checked here)."""
    assert View(**view).to_dict() == view
    blocks = view["blocks"]
    assert 1 <= len(blocks) <= 100
    block_ids = [block["block_id"] for block in blocks if "block_id" in block]
    assert len(block_ids) == len(set(block_ids))
    assert sum(item.get("focus_on_load", False) for item in elements(blocks)) <= 1
    for item in elements(blocks):
        if item.get("type") == "plain_text_input":
            assert 1 <= item["max_length"] <= 3000
            assert len(item.get("initial_value", "")) <= item["max_length"]
    for key in ("title", "submit", "close"):
        assert 1 <= len(view[key]["text"]) <= 24
    assert any(block["type"] == "input" for block in blocks) <= ("submit" in view)


def assert_valid_message(message: dict[str, Any]) -> None:
    """What slack_sdk checks (by round-tripping unchanged) and what it skips (checked here)."""
    blocks = message["blocks"]
    parsed = [Block.parse(block) for block in blocks]
    assert all(block is not None for block in parsed)
    assert [block.to_dict() for block in parsed if block is not None] == blocks
    assert 1 <= len(blocks) <= 50
    block_ids = [block["block_id"] for block in blocks if "block_id" in block]
    assert len(block_ids) == len(set(block_ids))
    assert message["text"]
    for block in blocks:
        assert all(len(field["text"]) <= 2000 for field in block.get("fields", ()))
        if block["type"] == "context":
            assert all(len(element["text"]) <= 3000 for element in block["elements"])


# text


def test_escape_neutralises_slack_control_characters() -> None:
    """&, < and > become entities, so `<!channel>` and fake links render as text."""
    assert escape("<!channel> & <https://evil|bank>") == (
        "&lt;!channel&gt; &amp; &lt;https://evil|bank&gt;"
    )


def test_escape_escapes_existing_entities_again() -> None:
    """An entity the user typed is shown as typed, not decoded."""
    assert escape("&lt;") == "&amp;lt;"


def test_mention_cannot_be_closed_early() -> None:
    """A user id is escaped inside the mention."""
    assert mention("U123") == "<@U123>"
    assert mention("U1><!here") == "<@U1&gt;&lt;!here>"


def test_code_survives_backticks_newlines_and_control_characters() -> None:
    """Inline code stays one span on one line, with user text escaped."""
    assert code("a`b\nc<!channel>") == "`aˋb c&lt;!channel&gt;`"


def test_code_with_limit_keeps_the_closing_backtick() -> None:
    """A cut value still ends its code span and fits the limit."""
    rendered = code("x" * 50, limit=10)
    assert rendered == "`xxxxxxx…`"
    assert len(rendered) == 10


def test_truncate_leaves_short_text_alone() -> None:
    """Text within the limit comes back unchanged."""
    assert truncate("abc", 3) == "abc"


def test_truncate_cuts_to_the_limit_with_an_ellipsis() -> None:
    """Cut text is exactly `limit` characters and ends in …."""
    assert truncate("abcdef", 4) == "abc…"


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("ab&amp;cd", 4, "ab…"),
        ("ab&amp;cd", 6, "ab…"),
        ("ab&amp;cd", 8, "ab&amp;…"),
        ("&lt;&lt;", 3, "…"),
        ("x&gt;yyyy", 5, "x…"),
    ],
)
def test_truncate_never_leaves_half_an_entity(text: str, limit: int, expected: str) -> None:
    """A cut inside `&amp;` drops the whole entity rather than show `&am`."""
    assert truncate(text, limit) == expected


def test_truncate_refuses_a_limit_below_one() -> None:
    """There is no room for even the ellipsis below one character."""
    with pytest.raises(ValueError, match="at least 1"):
        truncate("abc", 0)


# deploy_modal


def test_modal_view_frame() -> None:
    """The modal's callback_id, title, buttons and private_metadata are as Slack expects."""
    view = modal()
    assert {key: value for key, value in view.items() if key != "blocks"} == {
        "type": "modal",
        "callback_id": ids.DEPLOY_MODAL,
        "title": plain("Deploy to Hiveon"),
        "submit": plain("Deploy"),
        "close": plain("Cancel"),
        "private_metadata": '{"channel_id": "C1"}',
    }


def test_modal_inputs_in_order_with_headings() -> None:
    """One input per vendor field, in ids.INPUT_BLOCKS order, with headings before two groups;
    then "Stop after", under a heading of its own, and "Save as preset"."""
    layout = [
        (
            block["type"],
            block.get("block_id"),
            block.get("element", {}).get("action_id"),
            block.get("optional"),
        )
        for block in modal()["blocks"]
    ]
    assert layout == [
        ("input", "machine_id", "machine_id", False),
        ("input", "machine_price_id", "machine_price_id", False),
        ("input", "image", "image", False),
        ("input", "ports", "ports", True),
        ("input", "environment_variables", "environment_variables", True),
        ("input", "ssh_pub_keys", "ssh_pub_keys", True),
        ("input", "startup_script", "startup_script", True),
        ("divider", None, None, None),
        ("section", None, None, None),
        ("input", "docker_server", "docker_server", True),
        ("input", "docker_login", "docker_login", True),
        ("input", "docker_password", "docker_password", True),
        ("divider", None, None, None),
        ("section", None, None, None),
        ("input", "external_deployment_id", "external_deployment_id", False),
        ("input", "metadata", "metadata", True),
        ("divider", None, None, None),
        ("section", None, None, None),
        ("input", "stop_after", "stop_after", True),
        ("input", "preset_name", "preset_name", True),
    ]
    assert list(inputs(modal())) == [*ids.INPUT_BLOCKS, ids.STOP_AFTER, ids.PRESET_NAME]


def test_modal_registry_heading() -> None:
    """The registry group is introduced as optional."""
    headings = [block for block in modal()["blocks"] if block["type"] == "section"]
    assert headings[0]["text"] == md(
        "*Private registry (optional)*\nOnly for images that need a login."
    )


def test_modal_ports_input() -> None:
    """The ports input says the accepted format in its placeholder and hint."""
    assert inputs(modal())[ids.PORTS] == {
        "type": "input",
        "block_id": "ports",
        "optional": True,
        "label": plain("Ports"),
        "hint": plain(
            "Comma, space or newline separated; PORT or PORT/PROTOCOL, protocol tcp (default) "
            "or https; 1–65535; up to 100."
        ),
        "element": {
            "type": "plain_text_input",
            "action_id": "ports",
            "placeholder": plain("80, 443/https"),
            "max_length": 3000,
        },
    }


def test_modal_environment_variables_input() -> None:
    """Environment variables are a multiline .env field that warns about masking."""
    assert inputs(modal())[ids.ENVIRONMENT_VARIABLES] == {
        "type": "input",
        "block_id": "environment_variables",
        "optional": True,
        "label": plain("Environment variables"),
        "hint": plain(
            ".env syntax: one KEY=VALUE per line; quotes, export and # comments work. "
            "Secret values (names with PASS, TOKEN, KEY, SECRET, DSN, AUTH…, URL passwords) are "
            "masked in messages."
        ),
        "element": {
            "type": "plain_text_input",
            "action_id": "environment_variables",
            "placeholder": plain("DB_HOST=db.internal\nexport MODE=prod"),
            "max_length": 3000,
            "multiline": True,
        },
    }


def test_modal_external_deployment_id_input() -> None:
    """The external id is required, prefilled with the given id and explains why."""
    assert inputs(modal())[ids.EXTERNAL_DEPLOYMENT_ID] == {
        "type": "input",
        "block_id": "external_deployment_id",
        "optional": False,
        "label": plain("External deployment ID"),
        "hint": plain(
            "Prefilled with a fresh ID. deploybot uses it to never start the same submission "
            "twice; keep it unless you track deployments by your own ID."
        ),
        "element": {
            "type": "plain_text_input",
            "action_id": "external_deployment_id",
            "placeholder": plain("Your own ID for this deployment"),
            "max_length": 255,
            "initial_value": EXTERNAL_ID,
        },
    }


@pytest.mark.parametrize(
    ("block_id", "placeholder", "hint"),
    [
        (ids.MACHINE_ID, MACHINE, "The Hiveon machine that runs the container."),
        (ids.DOCKER_SERVER, "registry.example.com", "Leave empty for Docker Hub."),
        (
            ids.DOCKER_PASSWORD,
            "Password or access token",
            (
                "Sent only to Hiveon; never shown, and kept (encrypted) only while the "
                "deployment waits for an approval."
            ),
        ),
    ],
)
def test_modal_single_line_inputs_explain_themselves(
    block_id: str, placeholder: str, hint: str
) -> None:
    """Machine, registry server and password inputs carry the agreed placeholder and hint."""
    block = inputs(modal())[block_id]
    assert block["element"]["placeholder"] == plain(placeholder)
    assert block["hint"] == plain(hint)
    assert "multiline" not in block["element"]


def test_modal_multiline_inputs() -> None:
    """The free-form fields are multiline; ids, image and registry fields are single lines."""
    multiline = {
        block_id for block_id, block in inputs(modal()).items() if block["element"].get("multiline")
    }
    assert multiline == {
        ids.ENVIRONMENT_VARIABLES,
        ids.SSH_PUB_KEYS,
        ids.STARTUP_SCRIPT,
        ids.METADATA,
    }


def test_modal_startup_script_points_past_slacks_limit() -> None:
    """The startup script stops at Slack's 3,000 characters and says how to run a longer one."""
    block = inputs(modal())[ids.STARTUP_SCRIPT]
    assert block["element"]["max_length"] == 3000
    assert "3,000 characters" in block["hint"]["text"]
    assert "fetch it from a URL" in block["hint"]["text"]


def test_modal_prefill_sets_initial_values_for_non_empty_values_only() -> None:
    """Prefilled fields show their value; empty prefills and unknown ids are ignored."""
    view = modal(
        prefill={
            ids.IMAGE: "nginx:latest",
            ids.PORTS: "80, 443/https",
            ids.MACHINE_ID: "",
            "no_such_field": "x",
        }
    )
    initial = {
        block_id: block["element"]["initial_value"]
        for block_id, block in inputs(view).items()
        if "initial_value" in block["element"]
    }
    assert initial == {
        ids.IMAGE: "nginx:latest",
        ids.PORTS: "80, 443/https",
        ids.EXTERNAL_DEPLOYMENT_ID: EXTERNAL_ID,
    }
    assert_valid_view(view)


def test_modal_never_prefills_the_registry_password() -> None:
    """A password in prefill is dropped; the user types it again."""
    view = modal(prefill={ids.DOCKER_LOGIN: "robot", ids.DOCKER_PASSWORD: "hunter2"})
    assert inputs(view)[ids.DOCKER_LOGIN]["element"]["initial_value"] == "robot"
    assert "initial_value" not in inputs(view)[ids.DOCKER_PASSWORD]["element"]
    assert "hunter2" not in repr(view)


def test_modal_external_deployment_id_argument_wins_over_prefill() -> None:
    """The caller's fresh id is shown even when prefill carries an old one."""
    view = modal(prefill={ids.EXTERNAL_DEPLOYMENT_ID: "old-id"})
    assert inputs(view)[ids.EXTERNAL_DEPLOYMENT_ID]["element"]["initial_value"] == EXTERNAL_ID


def test_modal_leaves_out_a_prefill_too_long_for_its_input() -> None:
    """A value longer than the input allows is left out, never clipped into another value."""
    view = modal(prefill={ids.MACHINE_ID: "m" * 256, ids.IMAGE: "i" * 3001})
    assert "initial_value" not in inputs(view)[ids.MACHINE_ID]["element"]
    assert "initial_value" not in inputs(view)[ids.IMAGE]["element"]
    assert_valid_view(view)


@pytest.mark.parametrize(
    ("prefill", "focused"),
    [
        ({}, ids.MACHINE_ID),
        ({ids.IMAGE: "nginx:latest"}, ids.MACHINE_ID),
        ({ids.MACHINE_ID: MACHINE}, ids.MACHINE_PRICE_ID),
        ({ids.MACHINE_ID: MACHINE, ids.MACHINE_PRICE_ID: PRICE}, ids.IMAGE),
        ({ids.MACHINE_ID: MACHINE, ids.MACHINE_PRICE_ID: PRICE, ids.IMAGE: "x"}, ids.PORTS),
    ],
)
def test_modal_focuses_the_first_input_without_a_value(
    prefill: dict[str, str], focused: str
) -> None:
    """Exactly one input has focus_on_load: the first one the user still has to fill."""
    view = modal(prefill=prefill)
    assert [
        block_id
        for block_id, block in inputs(view).items()
        if block["element"].get("focus_on_load")
    ] == [focused]


def test_modal_focuses_the_password_when_everything_else_is_prefilled() -> None:
    """A redeploy of a private image lands on the one field it cannot prefill: the password."""
    view = modal(prefill=dict.fromkeys(ids.INPUT_BLOCKS, "x"))
    assert [
        block_id
        for block_id, block in inputs(view).items()
        if block["element"].get("focus_on_load")
    ] == [ids.DOCKER_PASSWORD]
    assert_valid_view(view)


@pytest.mark.parametrize(
    "prefill",
    [None, {}, dict.fromkeys(ids.INPUT_BLOCKS, "x"), dict.fromkeys(ids.INPUT_BLOCKS, "x" * 3000)],
)
def test_modal_is_within_slack_limits(prefill: dict[str, str] | None) -> None:
    """slack_sdk accepts the view unchanged, and the limits it skips hold too."""
    assert_valid_view(modal(prefill=prefill))


def test_modal_private_metadata_limit_is_slacks() -> None:
    """3,000 characters of private_metadata pass slack_sdk's check; 3,001 do not."""
    assert_valid_view(modal(private_metadata="m" * 3000))
    with pytest.raises(SlackObjectFormationError, match="private_metadata"):
        View(**modal(private_metadata="m" * 3001)).to_dict()


# deployment_message


def test_deployment_message_golden() -> None:
    """The card: headline with short machine id, facts as fields, detail, and four buttons."""
    headline = "⏳ <@U123> is deploying `nginx:latest` on machine `24d71100…`"
    confirm_text = "Hiveon stops nginx:latest on machine 24d71100…; Redeploy can start it again."
    assert card(
        deployment_id="dep-42", detail="Hiveon accepted it.", buttons=ids.ALL_DEPLOYMENT_BUTTONS
    ) == {
        "text": headline,
        "blocks": [
            {
                "type": "section",
                "text": md(headline),
                "fields": [
                    md("*Image*\n`nginx:latest`"),
                    md(f"*Machine*\n`{MACHINE}`"),
                    md(f"*Price*\n`{PRICE}`"),
                    md("*Ports*\n`80/tcp, 443/https`"),
                    md("*Deployment ID*\n`dep-42`"),
                    md(f"*External ID*\n`{EXTERNAL_ID}`"),
                ],
            },
            {"type": "context", "elements": [md("Hiveon accepted it.")]},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ids.REFRESH_DEPLOYMENT,
                        "text": plain("Refresh"),
                        "value": EXTERNAL_ID,
                    },
                    {
                        "type": "button",
                        "action_id": ids.REDEPLOY,
                        "text": plain("Redeploy"),
                        "value": EXTERNAL_ID,
                    },
                    {
                        "type": "button",
                        "action_id": ids.STOP_DEPLOYMENT,
                        "text": plain("Stop"),
                        "value": EXTERNAL_ID,
                        "style": "danger",
                        "confirm": {
                            "title": plain("Stop this deployment?"),
                            "text": plain(confirm_text),
                            "confirm": plain("Stop"),
                            "deny": plain("Keep running"),
                            "style": "danger",
                        },
                    },
                    {
                        "type": "button",
                        "action_id": "copy_as_curl",
                        "text": plain("Copy as curl"),
                        "value": EXTERNAL_ID,
                    },
                ],
            },
        ],
    }


def test_deployment_message_without_extras() -> None:
    """No deployment id, detail or buttons: one section, no Deployment ID field, ports 'none'."""
    message = card(ports=[])
    assert [block["type"] for block in message["blocks"]] == ["section"]
    assert [field["text"].split("\n")[0] for field in message["blocks"][0]["fields"]] == [
        "*Image*",
        "*Machine*",
        "*Price*",
        "*Ports*",
        "*External ID*",
    ]
    assert message["blocks"][0]["fields"][3] == md("*Ports*\nnone")
    assert_valid_message(message)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("deploying", "⏳ <@U123> is deploying `nginx:latest` on machine `24d71100…`"),
        ("started", "✅ <@U123> started `nginx:latest` on machine `24d71100…`"),
        ("failed", "❌ <@U123>'s `nginx:latest` failed on machine `24d71100…`"),
        (
            "unknown",
            "⚠️ <@U123> tried to deploy `nginx:latest` on machine `24d71100…`; outcome unknown",
        ),
        ("pending", "🕓 <@U123>'s `nginx:latest` is pending on machine `24d71100…`"),
        ("running", "🟢 <@U123>'s `nginx:latest` is running on machine `24d71100…`"),
        ("stopping", "🟠 <@U123>'s `nginx:latest` is stopping on machine `24d71100…`"),
        ("stopped", "⏹️ <@U123>'s `nginx:latest` stopped on machine `24d71100…`"),
        ("<weird>", "⚠️ <@U123>'s `nginx:latest` on machine `24d71100…` is &lt;weird&gt;"),
    ],
)
def test_deployment_message_headline_per_status(status: str, expected: str) -> None:
    """Each status has its emoji and wording; an unexpected one is shown escaped."""
    message = card(status=status)
    assert message["text"] == expected
    assert message["blocks"][0]["text"] == md(expected)


def test_deployment_message_covers_every_status() -> None:
    """The statuses the service and the follow-up feature use all have a headline."""
    assert set(STATUSES) == {
        "deploying",
        "started",
        "failed",
        "unknown",
        "pending",
        "running",
        "stopping",
        "stopped",
        "awaiting_approval",
        "rejected",
        "expired",
    }


def test_deployment_message_keeps_short_machine_ids_whole() -> None:
    """An id of up to nine characters is not worth shortening."""
    assert card(machine_id="m-1234567")["text"].endswith("on machine `m-1234567`")


def test_deployment_message_escapes_user_text() -> None:
    """An image like `<!channel>` cannot ping anyone: only the deployer's mention stays raw."""
    hostile = "<!channel> <https://evil.example|click> &"
    message = card(
        image=hostile,
        machine_id=hostile,
        machine_price_id=hostile,
        ports=[hostile],
        deployment_id=hostile,
        external_deployment_id=hostile,
        buttons=ids.ALL_DEPLOYMENT_BUTTONS,
    )
    assert message["blocks"][0]["fields"][0] == md(
        "*Image*\n`&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp;`"
    )
    for text in [message["text"], *texts(message, "mrkdwn")]:
        assert "<" not in MENTION.sub("", text)
    assert_valid_message(message)


@pytest.mark.parametrize("size", [150, 2000, 3000, 10_000])
def test_deployment_message_with_huge_values_stays_within_limits(size: int) -> None:
    """Values of thousands of characters are cut to fit and the message stays valid."""
    huge = "x" * size
    message = card(
        user_id="U123",
        image=huge,
        machine_id=huge,
        machine_price_id=huge,
        ports=[huge],
        deployment_id=huge,
        detail=huge,
        external_deployment_id="e" * 2000,
        buttons=ids.ALL_DEPLOYMENT_BUTTONS,
    )
    assert_valid_message(message)
    assert len(message["text"]) < 300
    for field in message["blocks"][0]["fields"]:
        assert field["text"].endswith("`")


@pytest.mark.parametrize("external_deployment_id", ["", "e" * 2001])
def test_deployment_message_leaves_out_buttons_that_could_not_name_the_deployment(
    external_deployment_id: str,
) -> None:
    """Buttons carry the external id; with none, or one past 2,000 characters, there are none."""
    message = card(
        external_deployment_id=external_deployment_id, buttons=ids.ALL_DEPLOYMENT_BUTTONS
    )
    assert [block["type"] for block in message["blocks"]] == ["section"]
    assert_valid_message(message)


# thread_reply


def test_thread_reply_golden() -> None:
    """Headline, next step and facts, with caller-formatted mrkdwn passed through."""
    reply = thread_reply(
        emoji="❌",
        headline="Hiveon refused `nginx:latest`: the machine is *busy*.",
        next_step="Pick another machine and press *Redeploy*.",
        facts=[("HTTP status", "400"), ("external_deployment_id", "`abc`")],
    )
    assert reply == {
        "text": "❌ Hiveon refused `nginx:latest`: the machine is *busy*.",
        "blocks": [
            {
                "type": "section",
                "text": md("❌ Hiveon refused `nginx:latest`: the machine is *busy*."),
            },
            {"type": "section", "text": md("*Next:* Pick another machine and press *Redeploy*.")},
            {
                "type": "context",
                "elements": [md("*HTTP status* 400 · *external_deployment_id* `abc`")],
            },
        ],
    }
    assert_valid_message(reply)


def test_thread_reply_headline_only() -> None:
    """Without a next step or facts the reply is a single section."""
    reply = thread_reply(emoji="✅", headline="Started: deployment `dep-1`.")
    assert reply == {
        "text": "✅ Started: deployment `dep-1`.",
        "blocks": [{"type": "section", "text": md("✅ Started: deployment `dep-1`.")}],
    }


def test_thread_reply_cuts_long_text_to_section_limits() -> None:
    """Headline, next step and facts of any length fit Slack's 3,000-character texts."""
    reply = thread_reply(
        emoji="❌",
        headline="h" * 5000,
        next_step="n" * 5000,
        facts=[("fact", "f" * 5000)],
    )
    assert [len(text) for text in texts(reply["blocks"], "mrkdwn")] == [3000, 3000, 3000]
    assert_valid_message(reply)


# help_message


def test_help_message_lists_subcommands_then_extras() -> None:
    """Open, prefill and help come first; later features' subcommands follow, usage escaped."""
    message = help_message(
        command="/deploy",
        extra_subcommands=[("status <id>", "Show a deployment's status.")],
    )
    assert message["text"] == "How to use /deploy"
    commands = message["blocks"][1]["text"]["text"]
    lines = commands.split("\n")
    assert lines[0] == "*Commands*"
    assert lines[1] == "• `/deploy` — Open the deploy form."
    assert lines[2].startswith(
        "• `/deploy nginx:latest machine=ID price=ID ports=80,443/https` — Open it prefilled."
    )
    for option in ("image=", "machine=", "price=", "ports=", "id=", "server=", "login="):
        assert f"`{option}`" in lines[2]
    assert lines[3] == "• `/deploy help` — Show this message."
    assert lines[4] == "• `/deploy status &lt;id&gt;` — Show a deployment's status."
    assert_valid_message(message)


def test_help_message_explains_field_formats() -> None:
    """Every field with a format of its own is explained."""
    formats = help_message(command="/deploy")["blocks"][2]["text"]["text"]
    for phrase in (
        "*Ports*",
        "`PORT/PROTOCOL`",
        "`tcp` (default) or `https`",
        "1–65535",
        "up to 100",
        "*Environment variables* and *metadata*",
        "`.env` syntax",
        "*SSH public keys*",
        "*Private registry*",
        "Docker Hub",
        "*External deployment ID*",
        "idempotency key",
    ):
        assert phrase in formats


def test_help_message_uses_the_configured_command() -> None:
    """A renamed slash command appears everywhere instead of /deploy."""
    message = help_message(command="/ship")
    assert "/deploy" not in repr(message)
    assert "`/ship help`" in message["blocks"][1]["text"]["text"]


def test_help_message_with_many_extras_stays_within_limits() -> None:
    """However many subcommands later features add, the help stays valid."""
    extras = [(f"sub{number} <id>", "d" * 100) for number in range(100)]
    message = help_message(command="/deploy", extra_subcommands=extras)
    assert Counter(block["type"] for block in message["blocks"]) == {"header": 1, "section": 2}
    assert_valid_message(message)


# notice


def test_notice_golden() -> None:
    """A notice is its text, once as notification text and once as a section."""
    assert notice(text="Stopping `dep-1`…") == {
        "text": "Stopping `dep-1`…",
        "blocks": [{"type": "section", "text": md("Stopping `dep-1`…")}],
    }


def test_notice_cuts_long_text_in_the_block() -> None:
    """The section stays under 3,000 characters; the notification text keeps it all."""
    message = notice(text="n" * 4000)
    assert len(message["text"]) == 4000
    assert len(message["blocks"][0]["text"]["text"]) == 3000
    assert_valid_message(message)


def test_deployment_message_shows_only_the_buttons_asked_for() -> None:
    """A failed start offers Redeploy alone; the buttons keep their fixed order."""
    only = card(buttons=[ids.REDEPLOY])
    assert [e["action_id"] for e in only["blocks"][-1]["elements"]] == [ids.REDEPLOY]
    reordered = card(buttons=[ids.STOP_DEPLOYMENT, ids.REFRESH_DEPLOYMENT])
    assert [e["action_id"] for e in reordered["blocks"][-1]["elements"]] == [
        ids.REFRESH_DEPLOYMENT,
        ids.STOP_DEPLOYMENT,
    ]


def test_plain_quotes_turn_code_marks_into_quotes() -> None:
    """Field errors are plain text in Slack, so inline code marks become typographic quotes."""
    assert plain_quotes("Line 3 (`FOO`) has no `=`.") == "Line 3 (“FOO”) has no “=”."
    assert plain_quotes("no marks") == "no marks"


def test_the_modal_says_what_a_prefill_left_empty_and_why() -> None:
    """A prefilled modal that leaves someone's startup script, masked values and the registry
    password empty says so at the top, naming whose script it was and each variable."""
    view = modal(
        prefill={ids.IMAGE: "nginx:latest", ids.DOCKER_LOGIN: "bot"},
        masked=("DB_PASSWORD", "DATABASE_URL"),
        script_withheld_from="UALICE",
    )
    assert_valid_view(view)
    note = view["blocks"][0]
    assert note["type"] == "context"
    text = note["elements"][0]["text"]
    assert "the startup script: only <@UALICE>, who started this deployment" in text
    assert "`DB_PASSWORD`, `DATABASE_URL`: deploybot never keeps them" in text
    assert "the registry password" in text
    assert ids.STARTUP_SCRIPT in inputs(view)
    assert "initial_value" not in inputs(view)[ids.STARTUP_SCRIPT]["element"]


def test_an_empty_or_own_prefill_has_no_note() -> None:
    """A modal that leaves nothing out on purpose has no note: inputs start at once."""
    view = modal(prefill={ids.IMAGE: "nginx:latest", ids.STARTUP_SCRIPT: "echo hi"})
    assert all(block["type"] != "context" for block in view["blocks"])


def test_masked_names_in_the_note_are_escaped_and_bounded() -> None:
    """Variable names are shown as code, at most ten of them, the rest counted."""
    names = tuple(f"SECRET_{number}" for number in range(14))
    view = modal(masked=names)
    text = view["blocks"][0]["elements"][0]["text"]
    assert "`SECRET_9` and 4 more" in text
    assert "SECRET_10" not in text
