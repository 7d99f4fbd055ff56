"""What the Workflow Builder step says when it cannot complete: Workflow Builder shows the
error to whoever runs or built the workflow, as plain text."""

import html
from collections.abc import Mapping
from typing import Final

from blocks.modal import input_label
from blocks.text import plain_quotes

MISSING_INPUTS: Final = (
    "The step needs a channel (where the deployment is posted) and a person (whose "
    "permissions apply); set both in Workflow Builder."
)
NO_SLACK_CLIENT: Final = "deploybot is not installed in this workspace any more."


def step_error(text: str) -> str:
    """A sentence deploybot shows in Slack (mrkdwn) as Workflow Builder shows it: plain text."""
    return plain_quotes(html.unescape(text))


def input_problems(problems: Mapping[str, str]) -> str:
    """The step's inputs (with its preset) checked as the deploy form checks them: each
    field's problem, after the field's name."""
    listed = "; ".join(f"{input_label(field)}: {problem}" for field, problem in problems.items())
    return f"The step's inputs cannot be deployed. {listed}"


def registry_needs_a_password(*, preset: str, server: str, login: str) -> str:
    """A preset with a private registry login: its password is never kept, and the step has
    no input for one."""
    return (
        f"The preset “{preset}” logs in to the registry {server} as {login}, and deploybot never "
        "keeps a registry password; the step has no input for one (Workflow Builder would store "
        "it in clear). Use a preset of a public image, or the deploy form."
    )
