"""The guardrails' Block Kit and the readers behind them: approval requests, reminders, freezes,
the commands' arguments and the settings' guardrails."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import Block

from blocks import guardrails, ids
from blocks.history import home_view
from bot.administration import chosen_guardrails
from bot.command_text import ExtendOrder, FreezeOrder, read_extend, read_freeze
from bot.domain import Guardrails
from bot.testing import slack_limits
from bot.testing.seed import MACHINE_ID, MACHINE_PRICE_ID

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WHEN = "<!date^1772366400^{date_short_pretty} at {time}|2026-03-01 12:00 UTC>"
HOSTILE = "<!channel> & <https://evil.example|bank> ```"


def valid(message: dict[str, Any]) -> None:
    """slack_sdk round-trips the blocks unchanged and Slack's documented limits hold."""
    blocks = message["blocks"]
    parsed = [Block.parse(block) for block in blocks]
    assert [block.to_dict() for block in parsed if block is not None] == blocks
    assert slack_limits.message_problems(blocks) == []
    assert message["text"]


def request(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "user_id": "U111",
        "image": "nginx:latest",
        "machine_id": MACHINE_ID,
        "machine_price_id": MACHINE_PRICE_ID,
        "ports": ["80/tcp"],
        "external_deployment_id": "ext-1",
        "environment": [("MODE", "prod"), ("DB_PASSWORD", "••••")],
        "metadata": [],
        "ssh_keys": ["ssh-ed25519 AAAAC3Nza alice@laptop"],
        "startup_script": "echo hi",
        "registry": ("docker.private.io", "robot"),
        "stop_after_s": 4 * 3600,
        "approvers": ["UA", "UB"],
        "expires_at": AT,
    }
    return guardrails.approval_request_message(**arguments | overrides)


def test_an_approval_request_shows_the_whole_request_and_whom_it_waits_for() -> None:
    """Image, machine, price, ports, registry (never its password), SSH keys by type and
    comment, the run asked for, values as stored (masked), the script; approvers are mentioned
    in the notification text; Approve (confirmed) and Reject carry the external ID."""
    message = request()
    valid(message)
    text = json.dumps(message["blocks"], ensure_ascii=False)
    assert message["text"].startswith("🙋 <@U111> asks to deploy `nginx:latest`")
    assert message["text"].endswith("approvers: <@UA>, <@UB>")
    for shown in (
        "*Registry*\\n`robot` at `docker.private.io`, password ••••",
        "*SSH keys*\\n`ssh-ed25519 … alice@laptop`",
        "*Stop after*\\n4 hours",
        "*Environment variables*\\n```\\nMODE=prod\\nDB_PASSWORD=••••\\n```",
        "*Startup script*\\n```\\necho hi\\n```",
        f"it expires {WHEN}",
    ):
        assert shown in text, shown
    assert "*Metadata*" not in text
    [actions] = [block for block in message["blocks"] if block["type"] == "actions"]
    approve, reject = actions["elements"]
    assert (approve["action_id"], approve["value"], approve["style"]) == (
        ids.APPROVE_DEPLOYMENT,
        "ext-1",
        "primary",
    )
    assert approve["confirm"]["confirm"]["text"] == "Approve and start"
    assert (reject["action_id"], reject["value"]) == (ids.REJECT_DEPLOYMENT, "ext-1")


def test_an_approval_request_without_approvers_names_the_admins() -> None:
    """No approvers chosen: a workspace admin approves; no registry, no automatic stop."""
    message = request(approvers=[], registry=None, stop_after_s=None, ssh_keys=[])
    valid(message)
    text = json.dumps(message["blocks"], ensure_ascii=False)
    assert "Waiting for an approval by a workspace admin" in text
    assert "*Registry*\\nnone (a public image)" in text
    assert "*Stop after*\\nnever: no automatic stop" in text


def test_user_text_in_an_approval_request_stays_text() -> None:
    """Values, scripts, keys and the registry are escaped, and fences cannot be closed early."""
    message = request(
        environment=[("NOTE", HOSTILE)],
        metadata=[("ticket", HOSTILE)],
        startup_script=HOSTILE,
        registry=(HOSTILE, HOSTILE),
        ssh_keys=[f"ssh-ed25519 AAAA {HOSTILE}"],
    )
    valid(message)
    text = json.dumps(message, ensure_ascii=False)
    assert "<!channel>" not in text
    assert "<https://evil" not in text
    assert text.count("```") == 3 * 2  # environment, metadata and script, each opened and closed


def test_long_requests_are_cut_to_slacks_limits() -> None:
    """A 3,000-character script and a hundred long values still make a valid message."""
    message = request(
        startup_script="x" * 3000,
        environment=[(f"VAR_{n}", "v" * 200) for n in range(100)],
        ssh_keys=[f"ssh-ed25519 AAAA key{n}" for n in range(20)],
    )
    valid(message)
    assert "and 15 more" in json.dumps(message)


def test_the_reject_modal_asks_why_and_carries_the_request() -> None:
    """One required reason (up to 500 characters), focused; its metadata as given."""
    view = guardrails.reject_modal(
        private_metadata='{"external_id": "e"}', requester="U1", image="x"
    )
    [reason] = [block for block in view["blocks"] if block["type"] == "input"]
    assert (view["callback_id"], view["private_metadata"]) == (
        ids.REJECT_MODAL,
        '{"external_id": "e"}',
    )
    assert reason["block_id"] == reason["element"]["action_id"] == ids.REJECT_REASON
    assert "optional" not in reason
    assert reason["element"]["max_length"] == 500


def test_decisions_read_in_the_thread() -> None:
    """Approved names who; a rejection names both and quotes the reason, escaped; a requester
    rejecting their own withdraws it; an expiry names the requester and how long it waited."""
    assert guardrails.approved_reply(by="UB")["text"] == (
        "👍 Approved by <@UB>: deploybot starts it now."
    )
    assert guardrails.rejected_reply(by="UB", requester="UA", reason=HOSTILE)["text"] == (
        "🚫 <@UA>, <@UB> rejected this deployment: “&lt;!channel&gt; &amp; "
        "&lt;https://evil.example|bank&gt; ```” Nothing was sent to Hiveon."
    )
    assert guardrails.rejected_reply(by="UA", requester="UA", reason="typo")["text"] == (
        "🚫 <@UA> withdrew this request: “typo” Nothing was sent to Hiveon."
    )
    assert guardrails.expired_reply(requester="UA", waited_s=5400, command="/deploy")["text"] == (
        "⌛ <@UA>, nobody approved this within 1 hour 30 minutes, so it expired: nothing was "
        "sent to Hiveon."
    )


def test_the_reminder_mentions_the_requester_and_offers_extend_and_stop_now() -> None:
    """When it stops and how soon, Extend by how long, Stop now confirmed; both carry the
    value given."""
    message = guardrails.reminder_message(
        requester="U111",
        deployment_id="dep-1",
        stops_at=AT,
        left_s=900,
        extend_by_s=3600,
        button_value="ext-1|1772366400",
    )
    valid(message)
    assert message["text"] == (
        f"⏰ <@U111>, deploybot stops `dep-1` automatically {WHEN}, in 15 minutes."
    )
    [actions] = [block for block in message["blocks"] if block["type"] == "actions"]
    extend, stop_now = actions["elements"]
    assert (extend["action_id"], extend["text"]["text"], extend["value"]) == (
        ids.EXTEND_DEPLOYMENT,
        "Extend by 1 hour",
        "ext-1|1772366400",
    )
    assert (stop_now["action_id"], stop_now["value"]) == (ids.STOP_NOW, "ext-1|1772366400")
    assert stop_now["confirm"]["confirm"]["text"] == "Stop now"


def test_the_stop_is_said_on_the_message_before_during_and_after() -> None:
    """Before the start: how long it will run; running: when it stops; after: how long it ran."""
    assert guardrails.stop_after_note(stop_after_s=7200) == (
        "⏱️ Stops automatically 2 hours after it starts."
    )
    assert guardrails.stops_at_note(stops_at=AT) == f"⏱️ deploybot stops it automatically {WHEN}."
    assert guardrails.stopped_note(after_s=86400 + 3600) == (
        "⏹️ Stopped automatically after 1 day 1 hour."
    )


def test_a_freeze_is_explained_with_who_since_until_and_why() -> None:
    """The refusal names the reason (escaped), who froze, since when, and until when or how it
    ends; the App Home banner says the same."""
    refusal = guardrails.freeze_refusal(
        by="ULEAD", since=AT, until=None, reason=HOSTILE, command="/deploy"
    )
    assert refusal["text"] == (
        f"🧊 Deploys are frozen in this workspace by <@ULEAD> since {WHEN}, until an admin runs "
        "`/deploy unfreeze`: “&lt;!channel&gt; &amp; &lt;https://evil.example|bank&gt; ```”. "
        "Nothing was sent to Hiveon."
    )
    later = AT + timedelta(hours=2)
    banner = guardrails.freeze_banner(
        by="ULEAD", since=AT, until=later, reason="release", command="/deploy"
    )
    view = home_view(mine=[], team=[], banner=banner)
    assert view["blocks"][1]["text"]["text"] == (
        f"🧊 *Deploys are frozen* by <@ULEAD> since {WHEN}, until "
        "<!date^1772373600^{date_short_pretty} at {time}|2026-03-01 14:00 UTC>: “release”. New "
        "deployments and approvals are refused."
    )
    assert view["blocks"][2] == {"type": "divider"}


def test_freeze_and_extend_read_their_arguments() -> None:
    """`freeze [duration] <reason>` needs a reason; `extend <ID> <duration>` both parts, and a
    duration that reads as one."""
    assert read_freeze(("2h", "incident", "42")) == FreezeOrder("incident 42", timedelta(hours=2))
    assert read_freeze(("incident", "42")) == FreezeOrder("incident 42", None)
    assert read_freeze(("2h",)) is None
    assert read_freeze(()) is None
    assert read_freeze(("x" * 400,)) == FreezeOrder("x" * 300, None)
    assert read_extend(("dep-1", "1h", "30m")) == ExtendOrder("dep-1", timedelta(minutes=90))
    assert read_extend(("dep-1",)) is None
    assert read_extend(("dep-1", "forever")) == (
        "`forever` is not a duration: write minutes, hours or days, e.g. `30m`, `4h`, `2d` or "
        "`1h30m`."
    )


def settings_view(**values: Any) -> dict[str, Any]:
    """A submitted settings modal's view, with guardrail inputs in Slack's state shapes."""
    return {"state": {"values": {block: {block: state} for block, state in values.items()}}}


def test_the_settings_guardrails_are_read_or_refused_in_the_form() -> None:
    """Checked approval, approvers and runs are read; an unreadable run, or a default over the
    longest, is a field error; a modal without the inputs changes nothing."""
    checked = {"type": "checkboxes", "selected_options": [{"value": ids.APPROVAL_REQUIRED}]}
    assert chosen_guardrails(
        settings_view(
            require_approval=checked,
            approvers={"type": "multi_users_select", "selected_users": ["UA", "UA", "UB"]},
            default_stop_after={"type": "plain_text_input", "value": "4h"},
            max_stop_after={"type": "plain_text_input", "value": "1d"},
        )
    ) == Guardrails(
        require_approval=True,
        approvers=("UA", "UB"),
        default_stop_after_s=4 * 3600,
        max_stop_after_s=86400,
    )
    assert (
        chosen_guardrails(
            settings_view(require_approval={"type": "checkboxes", "selected_options": []})
        )
        == Guardrails()
    )
    assert chosen_guardrails(
        settings_view(
            require_approval=checked,
            default_stop_after={"type": "plain_text_input", "value": "soon"},
        )
    ) == {
        ids.DEFAULT_STOP_AFTER: (
            "`soon` is not a duration: write minutes, hours or days, e.g. `30m`, `4h`, `2d` or "
            "`1h30m`."
        )
    }
    assert chosen_guardrails(
        settings_view(
            require_approval=checked,
            default_stop_after={"type": "plain_text_input", "value": "2d"},
            max_stop_after={"type": "plain_text_input", "value": "1d"},
        )
    ) == {ids.DEFAULT_STOP_AFTER: "The default cannot be longer than the maximum (1 day)."}
    assert chosen_guardrails(settings_view()) is None
