"""Short answers only the asker sees: a deployment's state, refusals, and what to type instead."""

from typing import Final

from blocks.messages import Message, notice
from blocks.text import code, escape, mention

# The detail line of a deployment shown to confirm `/deploy stop`.
STOP_PROMPT: Final = "Press *Stop* to stop it; you will be asked to confirm."

# Why a start sent nothing to Hiveon, when the user was already told why (no key, a repeat).
NOTHING_SENT: Final = "Nothing was sent to Hiveon; the person it runs for was told why."

# The answer to a command whose listener failed unexpectedly; Bolt sends it as plain text.
UNEXPECTED_ERROR: Final = (
    "Something went wrong on deploybot's side; it has been logged. "
    "Try again, and tell whoever runs deploybot if it keeps happening."
)


def unknown_deployment_notice(*, any_id: str) -> Message:
    """The asker named a deployment (by Hiveon ID or external ID) the workspace does not have."""
    return notice(text=f"deploybot has no deployment {code(any_id)} in this workspace.")


def never_started_notice() -> Message:
    """Refresh of a deployment Hiveon never started: there is no status to fetch."""
    return notice(text="This deployment never started, so it has no status to fetch.")


def status_notice(*, deployment: str, state: str, thread_link: str | None) -> Message:
    """`/deploy status`: the deployment's state now, and where its thread is."""
    where = f" Details in <{thread_link}|its thread>." if thread_link else ""
    return notice(text=f"{code(deployment)} is *{escape(state.replace('_', ' '))}*.{where}")


def stop_refusal_notice(*, requester: str, deployment: str) -> Message:
    """Someone who may not stop a deployment: who may, and to ask them."""
    return notice(
        text=f"Only {mention(requester)}, who started {code(deployment)}, or a workspace admin "
        "can stop it. Ask one of them."
    )


def which_one_notice(*, command: str, subcommand: str) -> Message:
    """A subcommand that needs a deployment's ID was given none."""
    return notice(text=f"Which one? `{command} {subcommand} <ID>`")


def unavailable_subcommand_notice(*, command: str, subcommand: str) -> Message:
    """A subcommand this deploybot does not offer (its admin part is not configured)."""
    return notice(
        text=f"`{command} {subcommand}` is not available in this version. "
        f"`{command} help` lists what is."
    )


def already_submitted_notice(*, external_id: str) -> Message:
    """The same form submitted again: it starts once, and its outcome is in the first thread."""
    return notice(
        text=f"This form was already submitted (external ID `{external_id}`); deploybot starts "
        "each submission only once. Its outcome is in the thread of the first one."
    )


def form_not_opened_notice(*, command: str) -> Message:
    """Slack refused to open a form (its trigger expired): run the command again."""
    return notice(text=f"Slack did not let deploybot open the form in time. Run `{command}` again.")


def not_a_deployment_notice() -> Message:
    """ "Redeploy this" on a message that is not one of deploybot's deployment messages."""
    return notice(
        text="This is not a deploybot deployment message: *Redeploy this* works on the message "
        "deploybot posts for a deployment (or a reply in its thread)."
    )
