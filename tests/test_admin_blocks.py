"""Admin Block Kit: the key modal never shows a key, the settings modal, the log and refusals."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.models.views import View

from blocks import admin, ids

SET_AT = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
WHEN = "<!date^1772368200^{date_short_pretty} at {time}|2026-03-01 12:30 UTC>"


def elements(value: Any) -> Iterator[dict[str, Any]]:
    """Every dict inside a Block Kit structure, the structure itself included."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from elements(item)
    elif isinstance(value, list):
        for item in value:
            yield from elements(item)


def assert_valid_view(view: dict[str, Any]) -> None:
    """slack_sdk round-trips it unchanged; titles fit; inputs come with a submit button."""
    assert View(**view).to_dict() == view
    assert 1 <= len(view["blocks"]) <= 100
    # Every modal has a title; the buttons are optional, but fit when there.
    buttons = [key for key in ("submit", "close") if key in view]
    for key in ["title", *buttons]:
        assert 1 <= len(view[key]["text"]) <= 24, key
    has_inputs = any(block["type"] == "input" for block in view["blocks"])
    assert has_inputs <= ("submit" in view)


def key_modal(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "private_metadata": '{"channel_id": "C1"}',
        "hint": "cdef",
        "set_by": "UADMIN",
        "set_at": SET_AT,
        "has_own_key": True,
        "has_default_key": False,
        "can_store": True,
    }
    return admin.api_key_modal(**arguments | overrides)


def test_the_key_modal_shows_the_keys_end_and_who_set_it_when() -> None:
    """The status names the key by its last 4 characters, its setter and the date."""
    view = key_modal()
    assert_valid_view(view)
    assert view["callback_id"] == ids.API_KEY_MODAL
    assert view["private_metadata"] == '{"channel_id": "C1"}'
    status = view["blocks"][0]
    assert status["text"]["text"] == (
        f"🔑 Deployments from this workspace use the key ending in `cdef`, set by <@UADMIN> on "
        f"{WHEN}."
    )


def test_the_key_input_is_never_prefilled() -> None:
    """The `api_key` input has no initial value; nothing in the modal can carry a key."""
    view = key_modal()
    [key_input] = [b for b in view["blocks"] if b.get("block_id") == ids.API_KEY]
    assert key_input["type"] == "input"
    assert key_input["element"]["type"] == "plain_text_input"
    assert key_input["element"]["action_id"] == ids.API_KEY
    assert not any("initial_value" in item for item in elements(view))
    assert view["submit"]["text"] == "Check and save"


def test_removing_is_a_confirmed_danger_button_only_when_there_is_a_key() -> None:
    """Remove asks for confirmation; without a key there is nothing to remove."""
    accessory = key_modal()["blocks"][0]["accessory"]
    assert accessory["action_id"] == ids.REMOVE_API_KEY
    assert accessory["style"] == "danger"
    assert accessory["confirm"]["confirm"]["text"] == "Remove"
    without = key_modal(has_own_key=False, hint=None, set_by=None, set_at=None)
    assert not any(item.get("action_id") == ids.REMOVE_API_KEY for item in elements(without))
    assert_valid_view(without)


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"has_own_key": False, "has_default_key": True}, "use the default key"),
        ({"has_own_key": False}, "nobody in this workspace can deploy until one is set"),
        ({"readable": False}, "cannot be decrypted"),
        ({"org_wide": True}, "Deployments from your organization's workspaces use the key"),
        ({"hint": None}, "a key too short to show its end"),
    ],
)
def test_the_key_modal_says_what_deployments_use(overrides: dict[str, Any], says: str) -> None:
    """Own key, the default, no key at all, or a key that cannot be read: each is said."""
    view = key_modal(**overrides)
    assert says in view["blocks"][0]["text"]["text"]
    assert_valid_view(view)


def test_without_an_encryption_key_the_modal_has_no_input_and_says_why() -> None:
    """No key can be stored: no input, no submit button, and what the operator must set."""
    view = key_modal(can_store=False)
    assert_valid_view(view)
    assert "submit" not in view
    assert not any(block["type"] == "input" for block in view["blocks"])
    assert "DEPLOYBOT_ENCRYPTION_KEY" in json.dumps(view)


def test_an_error_and_the_change_log_are_shown() -> None:
    """A refused key's reason comes above the input; recent changes close the modal."""
    error = admin.key_refused_text(status=401)
    view = key_modal(error=error, history=["line one", "line two"])
    assert view["blocks"][1]["text"]["text"] == (
        "❌ Hiveon refused this key (HTTP 401), so nothing was saved. Check the key and paste "
        "it again."
    )
    assert view["blocks"][-1]["elements"][0]["text"] == "*Recent changes*\nline one\nline two"
    assert_valid_view(view)


def test_the_checking_view_has_no_input() -> None:
    """While Hiveon checks, the modal only says so."""
    view = admin.checking_view()
    assert_valid_view(view)
    assert view["blocks"][0]["text"]["text"] == "⏳ Checking the key with Hiveon…"
    assert "submit" not in view


@pytest.mark.parametrize(
    ("verdict", "reason", "rotated", "expected"),
    [
        (
            "accepted",
            None,
            False,
            (
                "🔑 You set the workspace's Hiveon API key: ending in `cdef`. Hiveon accepted it; "
                "deployments use it from now on."
            ),
        ),
        (
            "unchecked",
            "no answer within 5 s",
            True,
            (
                "⚠️ You replaced the workspace's Hiveon API key: ending in `cdef`. Hiveon could not "
                "check it (no answer within 5 s), so it was saved anyway; if Hiveon refuses it, "
                "deployments will say so."
            ),
        ),
    ],
)
def test_saved_key_texts(*, verdict: str, reason: str | None, rotated: bool, expected: str) -> None:
    """The admin reads whether Hiveon accepted the key, or why it could not be checked."""
    text = admin.key_saved_text(hint="cdef", verdict=verdict, reason=reason, rotated=rotated)
    assert text == expected


GUARDRAIL_INPUTS = [
    ids.REQUIRE_APPROVAL,
    ids.APPROVERS,
    ids.DEFAULT_STOP_AFTER,
    ids.MAX_STOP_AFTER,
]


def settings(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "private_metadata": "{}",
        "channels": ["C1"],
        "users": ["U1", "U2"],
        "usergroups": ["S2"],
        "usergroup_options": [("S1", "@oncall · On-call"), ("S2", "@sre · SRE")],
    }
    return admin.settings_modal(**arguments | overrides)


def test_the_settings_modal_shows_the_current_choices() -> None:
    """Channels, people and groups are optional multi-selects holding today's settings."""
    view = settings()
    assert_valid_view(view)
    assert view["callback_id"] == ids.SETTINGS_MODAL
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert list(inputs) == [
        ids.ALLOWED_CHANNELS,
        ids.ALLOWED_USERS,
        ids.ALLOWED_USERGROUPS,
        *GUARDRAIL_INPUTS,
    ]
    assert all(block["optional"] for block in inputs.values())
    channels = inputs[ids.ALLOWED_CHANNELS]["element"]
    assert channels["type"] == "multi_conversations_select"
    assert channels["initial_conversations"] == ["C1"]
    assert inputs[ids.ALLOWED_USERS]["element"]["initial_users"] == ["U1", "U2"]
    groups = inputs[ids.ALLOWED_USERGROUPS]["element"]
    assert groups["initial_options"] == [
        {"text": {"type": "plain_text", "text": "@sre · SRE"}, "value": "S2"}
    ]
    assert [option["value"] for option in groups["options"]] == ["S2", "S1"]


def test_empty_settings_have_no_initial_values() -> None:
    """Nothing chosen: no initial lists (Slack refuses empty ones)."""
    view = settings(channels=[], users=[], usergroups=[])
    assert_valid_view(view)
    inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert inputs == [
        ids.ALLOWED_CHANNELS,
        ids.ALLOWED_USERS,
        ids.ALLOWED_USERGROUPS,
        *GUARDRAIL_INPUTS,
    ]
    for key in ("initial_conversations", "initial_users", "initial_options", "initial_value"):
        assert not any(key in item for item in elements(view))


def test_the_settings_modal_shows_the_guardrails_as_set() -> None:
    """Require approval is one checkbox (value `required`), checked when on; approvers a
    multi-users select; the default and longest run are text, shown as typed."""
    view = settings(
        require_approval=True,
        approvers=["UA", "UB"],
        default_stop_after_s=4 * 3600,
        max_stop_after_s=86400 + 1800,
    )
    assert_valid_view(view)
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    approval = inputs[ids.REQUIRE_APPROVAL]["element"]
    assert approval["type"] == "checkboxes"
    assert [option["value"] for option in approval["options"]] == ["required"]
    assert approval["initial_options"] == approval["options"]
    approvers = inputs[ids.APPROVERS]["element"]
    assert (approvers["type"], approvers["initial_users"]) == ("multi_users_select", ["UA", "UB"])
    assert inputs[ids.DEFAULT_STOP_AFTER]["element"]["initial_value"] == "4h"
    assert inputs[ids.MAX_STOP_AFTER]["element"]["initial_value"] == "1d30m"
    assert inputs[ids.APPROVERS]["hint"]["text"].startswith("Empty: the workspace's admins")
    assert "DEPLOYBOT_ENCRYPTION_KEY" not in json.dumps(view)


def test_without_an_encryption_key_the_settings_say_what_approval_refuses() -> None:
    """No encryption key: a note says forms holding a secret are refused while approval is
    required (nothing could keep the secret until then)."""
    view = settings(can_seal=False)
    assert_valid_view(view)
    [note] = [
        element["text"]
        for block in view["blocks"]
        if block["type"] == "context"
        for element in block["elements"]
        if "DEPLOYBOT_ENCRYPTION_KEY" in element["text"]
    ]
    assert "forms holding one are refused" in note


def test_guardrail_changes_and_freezes_read_in_the_change_log() -> None:
    """Approval, approvers and runs are logged old → new; a freeze with its end and reason."""
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    line = admin.change_line(
        user_id="UA",
        at=at,
        action="guardrails_changed",
        detail={
            "require_approval": [False, True],
            "approvers": [[], ["UB"]],
            "default_stop_after_s": [None, 14400],
            "max_stop_after_s": [86400, None],
        },
    )
    assert line.endswith(
        "<@UA> changed the guardrails: approval required; approvers the admins → <@UB>; "
        "default run none → 4 hours; longest run 1 day → none"
    )
    frozen = admin.change_line(
        user_id="UA",
        at=at,
        action="deploys_frozen",
        detail={"reason": "incident <!channel>", "until": "2026-03-01T14:00:00+00:00"},
    )
    assert frozen.endswith(
        "<@UA> froze deploys until <!date^1772373600^{date_short_pretty} at {time}|2026-03-01 "
        "14:00 UTC>: “incident &lt;!channel&gt;”"
    )
    lifted = admin.change_line(
        user_id="UB", at=at, action="deploys_unfrozen", detail={"reason": "incident"}
    )
    assert lifted.endswith("<@UB> lifted the deploy freeze (“incident”)")


def test_a_chosen_group_slack_no_longer_lists_is_kept() -> None:
    """A selected group missing from usergroups.list stays selectable under its ID."""
    view = settings(usergroups=["S9"], usergroup_options=[("S1", "@oncall · On-call")])
    [groups] = [b for b in view["blocks"] if b.get("block_id") == ids.ALLOWED_USERGROUPS]
    assert [o["value"] for o in groups["element"]["initial_options"]] == ["S9"]


def test_without_user_groups_the_group_select_is_left_out_with_a_note() -> None:
    """No groups to offer: no select, and the note says why."""
    view = settings(usergroups=[], usergroup_options=[], groups_note="User groups cannot be listed")
    assert_valid_view(view)
    assert ids.ALLOWED_USERGROUPS not in json.dumps(view)
    notes = [b["elements"][0]["text"] for b in view["blocks"] if b["type"] == "context"]
    assert "User groups cannot be listed" in notes


def test_at_most_a_hundred_groups_are_offered() -> None:
    """Slack's static select takes 100 options; the selected ones come first."""
    many = [(f"S{n:03d}", f"@group{n}") for n in range(150)]
    view = settings(usergroups=["S149"], usergroup_options=many)
    [groups] = [b for b in view["blocks"] if b.get("block_id") == ids.ALLOWED_USERGROUPS]
    options = groups["element"]["options"]
    assert len(options) == 100
    assert options[0]["value"] == "S149"
    assert_valid_view(view)


@pytest.mark.parametrize(
    ("action", "detail", "says"),
    [
        ("api_key_set", {"hint": "cdef", "check": "accepted"}, "<@U1> set the Hiveon API key "),
        (
            "api_key_rotated",
            {"hint": "3210", "previous_hint": "cdef", "check": "unchecked"},
            (
                "replaced the Hiveon API key (ending in `cdef` → ending in `3210`; "
                "Hiveon could not check it)"
            ),
        ),
        ("api_key_removed", {"hint": "cdef"}, "removed the Hiveon API key (ending in `cdef`)"),
        (
            "access_changed",
            {"channels": [[], ["C1"]], "users": [["U2"], []], "usergroups": [[], ["S1"]]},
            (
                "changed who may deploy: channels any channel → <#C1>; people <@U2> → everyone; "
                "user groups none → <!subteam^S1>"
            ),
        ),
        ("uninstalled", {"event": "app_uninstalled"}, "uninstalled deploybot"),
    ],
)
def test_change_lines_say_who_did_what_when(action: str, detail: dict[str, Any], says: str) -> None:
    """Each logged change reads as a sentence with a date and a mention, never a key."""
    line = admin.change_line(user_id="U1", at=SET_AT, action=action, detail=detail)
    assert line.startswith(WHEN + " · ")
    assert says in line


def test_a_deploy_refusal_names_what_is_allowed_and_who_to_ask() -> None:
    """A refused user reads the allowed channels or people and who set the restriction."""
    wrong_channel = admin.deploy_refusal(
        channels=["C1", "C2"],
        users=["U1"],
        usergroups=["S1"],
        wrong_channel=True,
        ask="UADMIN",
        command="/deploy",
    )
    assert wrong_channel["text"] == (
        "🔒 Deploying from this workspace is limited to <#C1>, <#C2>. Nothing was sent to "
        "Hiveon. Ask <@UADMIN>, who set this, or another workspace admin to change it with "
        "`/deploy settings`."
    )
    not_listed = admin.deploy_refusal(
        channels=[], users=["U1"], usergroups=["S1"], wrong_channel=False, ask=None, command="/ops"
    )
    assert "limited to <@U1>, <!subteam^S1>" in not_listed["text"]
    assert "Ask a workspace admin to change it with `/ops settings`" in not_listed["text"]


def test_the_welcome_message_points_to_the_admin_subcommands() -> None:
    """The installer learns the next two steps with the configured command."""
    text = admin.welcome_message(command="/ops")["text"]
    assert "`/ops api-key`" in text
    assert "`/ops settings`" in text


@pytest.mark.parametrize(
    ("attempt", "says"),
    [
        ("manage_key", "can manage the workspace's Hiveon API key."),
        ("set_key", "can set the workspace's Hiveon API key."),
        ("remove_key", "can remove the workspace's Hiveon API key."),
        ("choose_access", "can choose who may deploy."),
    ],
)
def test_someone_who_is_not_an_admin_reads_what_only_admins_may(attempt: str, says: str) -> None:
    """The refusal names who may, what was tried, and that nothing changed."""
    text = admin.not_admin(attempt=attempt)["text"]
    assert text.startswith("🔒 Only workspace admins and owners (and people whoever runs ")
    assert f"`DEPLOYBOT_ADMINS`) {says} Ask a workspace admin; nothing was changed." in text


@pytest.mark.parametrize(
    ("problem", "says"),
    [
        ("no_workspace", "Slack did not say which workspace this request comes from"),
        ("no_encryption", "whoever runs it must set DEPLOYBOT_ENCRYPTION_KEY."),
        ("empty", "Paste the key."),
        ("not_sendable", "printable ASCII without spaces: check what you pasted."),
    ],
)
def test_a_key_that_cannot_be_checked_says_why_in_plain_text(problem: str, says: str) -> None:
    """Each problem of a pasted key has its own field error, with no mrkdwn in it."""
    text = admin.key_problem(problem=problem)
    assert says in text
    assert "`" not in text


def test_the_answers_after_a_change_or_none() -> None:
    """No workspace, no key to remove, nothing changed, a key refused: each its own notice."""
    assert admin.no_workspace_notice()["text"] == admin.NO_WORKSPACE
    assert admin.no_key_notice()["text"] == "There was no key to remove."
    assert admin.unchanged_notice()["text"] == "Nothing changed."
    assert admin.key_refused_notice(status=401)["text"] == (
        "❌ Hiveon refused this key (HTTP 401), so nothing was saved. Check the key and paste it "
        "again."
    )
    view = admin.key_result_view(text="🔑 saved")
    assert_valid_view(view)
    assert view["title"]["text"] == "Hiveon API key"


def test_user_groups_are_offered_by_handle_and_name() -> None:
    """A group reads as its handle (else its ID) and its name."""
    assert admin.usergroup_option(group_id="S1", handle="oncall", name="On-call") == (
        "S1",
        "@oncall · On-call",
    )
    assert admin.usergroup_option(group_id="S2", handle=None, name=None) == ("S2", "@S2 · ")


def test_the_note_says_why_not_every_group_can_be_offered() -> None:
    """Slack's refusal, no answer, or too many groups each read differently; else no note."""
    assert admin.usergroups_note(offered=0, slack_error="missing_scope") == (
        "User groups cannot be listed (Slack says `missing_scope`); people still can."
    )
    assert admin.usergroups_note(offered=0, failed=True) == (
        "User groups could not be loaded this time; people and channels still can."
    )
    assert admin.usergroups_note(offered=150) == "Only 100 of 150 user groups can be listed."
    assert admin.usergroups_note(offered=100) is None
