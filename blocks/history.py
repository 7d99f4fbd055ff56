"""Lists of deployments: `/deploy history` and the App Home tab."""

from collections.abc import Sequence
from typing import Any, Final

from blocks import ids
from blocks.messages import STATUSES, Message
from blocks.text import code, escape, mention, mrkdwn, plain_text, truncate

SECTION_TEXT_LIMIT: Final = 3000
_IMAGE_LIMIT: Final = 60
_SHORT_ID: Final = 8


def deployment_line(  # noqa: PLR0913 - one keyword per fact on the line, all keyword-only
    *,
    created_at: int,
    user_id: str,
    image: str,
    machine_id: str,
    status: str,
    link: str | None,
) -> str:
    """One deployment as a line: when, who, image, machine, status, a link to its thread."""
    emoji = STATUSES.get(status, ("⚠️", ""))[0]
    when = f"<!date^{created_at}^{{date_short_pretty}} {{time}}|{created_at}>"
    machine = machine_id if len(machine_id) <= _SHORT_ID + 1 else machine_id[:_SHORT_ID] + "…"
    line = (
        f"{emoji} {when} · {mention(user_id)} · {code(image, limit=_IMAGE_LIMIT)} "
        f"on {code(machine)} · {escape(status.replace('_', ' '))}"
    )
    if link:
        line += f" · <{link}|thread>"
    return line


def history_message(*, lines: Sequence[str], command: str) -> Message:
    """The workspace's latest deployments, newest first, for `/deploy history`."""
    if not lines:
        text = f"No deployments in this workspace yet. `{escape(command)}` starts one."
        return {"text": text, "blocks": [{"type": "section", "text": mrkdwn(text)}]}
    title = f"*The workspace's last {len(lines)} deployments*"
    return {
        "text": f"The workspace's last {len(lines)} deployments",
        "blocks": [
            {"type": "section", "text": mrkdwn(title)},
            *_line_sections(lines),
        ],
    }


def home_view(
    *,
    mine: Sequence[str],
    team: Sequence[str],
    presets: Sequence[dict[str, Any]] = (),
    banner: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The App Home tab: a New deployment button, your deployments, the workspace's, and the
    workspace's presets when it has any (`blocks.presets.home_presets`); `banner` (a freeze,
    from `blocks.guardrails`) goes at the top."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain_text("deploybot")},
        *banner,
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": ids.NEW_DEPLOYMENT,
                    "text": plain_text("New deployment"),
                    "style": "primary",
                    "value": "new",
                }
            ],
        },
        {"type": "divider"},
        {"type": "section", "text": mrkdwn("*Your recent deployments*")},
        *(_line_sections(mine) or [_empty("You have not deployed anything yet.")]),
        {"type": "divider"},
        {"type": "section", "text": mrkdwn("*Recent deployments in this workspace*")},
        *(_line_sections(team) or [_empty("Nobody has deployed anything yet.")]),
        *presets,
    ]
    return {"type": "home", "blocks": blocks}


def _line_sections(lines: Sequence[str]) -> list[dict[str, Any]]:
    """Lines packed into sections within Slack's 3,000 characters each."""
    sections: list[dict[str, Any]] = []
    current = ""
    for line in (truncate(raw, SECTION_TEXT_LIMIT) for raw in lines):
        if current and len(current) + 1 + len(line) > SECTION_TEXT_LIMIT:
            sections.append({"type": "section", "text": mrkdwn(current)})
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        sections.append({"type": "section", "text": mrkdwn(current)})
    return sections


def _empty(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(text)]}
