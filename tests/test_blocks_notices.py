"""Short private answers: a deployment's state, refusals, and what to type instead."""

from __future__ import annotations

from blocks import notices
from blocks.messages import SUBCOMMANDS, help_message


def test_an_unknown_deployment_is_named_as_typed_escaped() -> None:
    """The ID the user typed comes back as code, with Slack markup escaped."""
    assert notices.unknown_deployment_notice(any_id="<!here>")["text"] == (
        "deploybot has no deployment `&lt;!here&gt;` in this workspace."
    )


def test_a_status_answer_links_the_thread_when_there_is_one() -> None:
    """The state is bold and escaped; the thread link follows when the message has one."""
    linked = notices.status_notice(
        deployment="dep-1", state="running", thread_link="https://slack.com/archives/C1/p1"
    )
    assert linked["text"] == (
        "`dep-1` is *running*. Details in <https://slack.com/archives/C1/p1|its thread>."
    )
    unlinked = notices.status_notice(deployment="ext-1", state="<b>", thread_link=None)
    assert unlinked["text"] == "`ext-1` is *&lt;b&gt;*."


def test_whoever_may_not_stop_is_told_whom_to_ask() -> None:
    """The refusal mentions whoever started it and names the deployment."""
    assert notices.stop_refusal_notice(requester="U1", deployment="dep-1")["text"] == (
        "Only <@U1>, who started `dep-1`, or a workspace admin can stop it. Ask one of them."
    )


def test_what_to_type_instead_names_the_configured_command() -> None:
    """A missing ID, an unavailable subcommand and an expired form name the command."""
    assert notices.which_one_notice(command="/ops", subcommand="stop")["text"] == (
        "Which one? `/ops stop <ID>`"
    )
    assert notices.unavailable_subcommand_notice(command="/ops", subcommand="settings")["text"] == (
        "`/ops settings` is not available in this version. `/ops help` lists what is."
    )
    assert notices.form_not_opened_notice(command="/ops api-key")["text"] == (
        "Slack did not let deploybot open the form in time. Run `/ops api-key` again."
    )


def test_a_second_submission_of_a_form_is_pointed_to_the_first() -> None:
    """The same form twice starts once; the notice names its external ID."""
    assert notices.already_submitted_notice(external_id="ext-1")["text"] == (
        "This form was already submitted (external ID `ext-1`); deploybot starts each "
        "submission only once. Its outcome is in the thread of the first one."
    )


def test_the_help_lists_the_subcommands_in_the_order_given() -> None:
    """Each subcommand's usage and description come from one table, in the order asked."""
    message = help_message(
        command="/deploy", extra_subcommands=[SUBCOMMANDS["history"], SUBCOMMANDS["api-key"]]
    )
    lines = message["blocks"][1]["text"]["text"].split("\n")
    assert lines[4:] == [
        "• `/deploy history` — the workspace's last 20 deployments, with links to their threads",
        "• `/deploy api-key` — set, replace or remove this workspace's Hiveon API key (admins)",
    ]
