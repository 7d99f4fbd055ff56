"""A deployment's start request as a curl command, answered only to whoever asked."""

from collections.abc import Sequence
from typing import Any, Final

from blocks.messages import Message
from blocks.text import code, mention, mrkdwn, truncate

SECTION_TEXT_LIMIT: Final = 3000

# What each of deploybot's own shell variables holds; any other is a masked value's name.
_VARIABLES: Final = {
    "HIVEON_API_KEY": "the workspace's Hiveon API key",
    "REGISTRY_PASSWORD": "the registry password",
    "STARTUP_SCRIPT": "the startup script",
}


def curl_message(
    *,
    deployment: str,
    command: str,
    variables: Sequence[str],
    script_withheld_from: str | None = None,
    sandbox: bool = False,
) -> Message:
    """The start request deploybot sent for `deployment` (its ID), as the shell `command` it
    renders (shown verbatim in a code block), and the variables to set before running it."""
    named = ", ".join(
        code(name) + (f" ({_VARIABLES[name]})" if name in _VARIABLES else "") for name in variables
    )
    intro = (
        f"*The start request deploybot sent for {code(deployment)}*, as a curl command. It holds "
        f"no secret: set {named} in your shell first."
    )
    notes = []
    if script_withheld_from:
        notes.append(
            f"The startup script is `$STARTUP_SCRIPT`: only {mention(script_withheld_from)}, "
            "who started this deployment, gets it back, as scripts often hold tokens."
        )
    notes.append(
        "Values of secret-named variables and URL passwords are masked in what deploybot keeps, "
        'so each is a variable of the same name; its value goes in as it is (no `"` or `\\`).'
    )
    if sandbox:
        notes.append(
            "This deploybot runs against the sandbox vendor: the command goes to Hiveon's own "
            "API instead."
        )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": mrkdwn(truncate(intro, SECTION_TEXT_LIMIT))},
        # Preformatted rich text is shown and copied exactly as written: no markup is parsed.
        {
            "type": "rich_text",
            "elements": [
                {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": command}]}
            ],
        },
        {
            "type": "context",
            "elements": [mrkdwn(truncate(" ".join(notes), SECTION_TEXT_LIMIT))],
        },
    ]
    return {"text": f"The start request of {code(deployment)} as a curl command", "blocks": blocks}
