"""Presets in words: the list with its buttons, the App Home's section, the select's options,
what is said when one is saved, replaced, deleted or refused, and the form's name problems."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from blocks import ids
from blocks.messages import Message, notice
from blocks.text import code, escape, mention, mrkdwn, plain_text, truncate

SECTION_TEXT_LIMIT: Final = 3000
OPTION_TEXT_LIMIT: Final = 75
CONFIRM_TEXT_LIMIT: Final = 300
# Each preset is a section and its buttons: two blocks of Slack's 50 a message may hold.
LISTED: Final = 20
ON_HOME: Final = 10
_IMAGE_LIMIT: Final = 60
_SHORT_ID: Final = 8


@dataclass(frozen=True)
class PresetFacts:
    """What is shown about a preset; times are Unix seconds."""

    name: str
    image: str
    machine_id: str
    user_id: str
    saved_at: int
    last_used_at: int | None = None


# --- the form's "Save as preset" field, in plain text -----------------------------------------


def name_not_allowed(*, pattern: str, length: int) -> str:
    """A name that is not lowercase letters, digits and dashes."""
    return (
        f"A preset name is 1–{length} lowercase letters, digits and dashes, starting with a "
        f"letter or a digit ({pattern}), e.g. “api-prod”."
    )


def name_is_a_subcommand(*, name: str, command: str) -> str:
    """A name that `/deploy NAME` would read as a subcommand."""
    return f"“{name}” is a {command} subcommand: pick another name."


def name_near_a_subcommand(*, name: str, subcommand: str, command: str) -> str:
    """A name `/deploy NAME` would take for a mistyped subcommand."""
    return (
        f"“{name}” is too close to the subcommand “{subcommand}”: {command} {name} would be "
        "taken for it. Pick another name."
    )


def name_taken(*, name: str, owner_name: str) -> str:
    """Someone else's preset has the name (`owner_name`: how Slack shows them, plain text)."""
    return (
        f"“{name}” is {owner_name}'s preset: pick another name, or ask them or a workspace "
        "admin to replace it."
    )


def presets_full(*, limit: int, command: str) -> str:
    """The workspace has as many presets as it may."""
    return (
        f"This workspace already has {limit} presets: delete one first ({command} presets "
        "lists them)."
    )


# --- after a submission ------------------------------------------------------------------------


def saved_notice(*, name: str, command: str, replaced_owner: str | None, by: str) -> Message:
    """The preset was saved (or replaced someone's, naming whose)."""
    if replaced_owner is not None and replaced_owner != by:
        did = f"replaced {mention(replaced_owner)}'s preset {code(name)}"
    elif replaced_owner is not None:
        did = f"replaced your preset {code(name)}"
    else:
        did = f"saved this form as the preset {code(name)}"
    return notice(
        text=f"📌 You {did} for this workspace (the registry password and secret values are "
        f"never kept). `{escape(command)} {escape(name)}` opens it again."
    )


def not_saved_notice(
    *, name: str, reason: str, command: str, owner: str | None = None, limit: int = 0
) -> Message:
    """Why the preset was not saved: `reason` is `not_started` (the deployment did not start),
    `taken` (someone else saved the name meanwhile) or `full`."""
    if reason == "taken":
        why = f"{mention(owner or '')} saved a preset by that name meanwhile"
    elif reason == "full":
        why = f"the workspace already has {limit} presets"
    else:
        why = "the deployment did not start"
    return notice(
        text=f"The preset {code(name)} was not saved: {why}. Run `{escape(command)}` again "
        "to save it under another name."
    )


def unknown_preset_notice(*, name: str, command: str) -> Message:
    """The asker named a preset the workspace does not have."""
    return notice(
        text=f"This workspace has no preset {code(name)}. `{escape(command)} presets` lists them."
    )


def delete_refusal_notice(*, name: str, owner: str) -> Message:
    """Someone who may not delete a preset: who may."""
    return notice(
        text=f"Only {mention(owner)}, who saved the preset {code(name)}, or a workspace admin "
        "can delete it. Ask one of them."
    )


# --- the list: `/deploy presets` and the App Home ---------------------------------------------


def presets_message(
    *,
    presets: Sequence[PresetFacts],
    total: int,
    containing: str,
    command: str,
    deleted: PresetFacts | None = None,
) -> Message:
    """The workspace's presets (those whose name or image contains `containing`), each with
    Deploy and a confirmed Delete; the first `LISTED` of `total`."""
    name = escape(command)
    blocks: list[dict[str, Any]] = []
    if deleted is not None:
        blocks.append(_context(f"🗑️ Deleted the preset {code(deleted.name)}."))
    if not presets:
        empty = (
            f"No preset's name or image contains {code(containing)}."
            if containing
            else f"This workspace has no presets yet. Fill in *Save as preset* in `{name}`'s "
            "form: the form is saved once the deployment starts."
        )
        blocks.append({"type": "section", "text": mrkdwn(empty)})
        return {"text": empty, "blocks": blocks}
    matching = f" whose name or image contains {code(containing)}" if containing else ""
    title = f"*The workspace's presets{matching}*"
    blocks.append({"type": "section", "text": mrkdwn(_section(title))})
    for facts in presets[:LISTED]:
        blocks += [
            {"type": "section", "text": mrkdwn(_section(preset_line(facts)))},
            _buttons(facts),
        ]
    shown = min(len(presets), LISTED)
    footer = f"`{name} NAME` opens a preset's form; `{name} presets WORD` finds others."
    if total > shown:
        footer = f"Showing {shown} of {total}. " + footer
    blocks.append(_context(footer))
    return {"text": f"The workspace's presets ({total})", "blocks": blocks}


def preset_line(facts: PresetFacts) -> str:
    """One preset: its name, image and machine, who saved it and when, when it was last used."""
    machine = truncate(facts.machine_id, _SHORT_ID + 1)
    used = _when(facts.last_used_at) if facts.last_used_at is not None else "never"
    return (
        f"*{escape(facts.name)}* · {code(facts.image, limit=_IMAGE_LIMIT)} on {code(machine)}\n"
        f"saved by {mention(facts.user_id)} {_when(facts.saved_at)} · last used {used}"
    )


def home_presets(
    *, presets: Sequence[PresetFacts], total: int, command: str
) -> list[dict[str, Any]]:
    """The App Home's presets: the most recently used, each with a Deploy button; none when the
    workspace has none."""
    if not presets:
        return []
    blocks: list[dict[str, Any]] = [
        {"type": "divider"},
        {"type": "section", "text": mrkdwn("*The workspace's presets*")},
    ]
    blocks.extend(
        {
            "type": "section",
            "text": mrkdwn(_section(preset_line(facts))),
            "accessory": _deploy_button(facts.name),
        }
        for facts in presets[:ON_HOME]
    )
    if total > min(len(presets), ON_HOME):
        blocks.append(
            _context(f"Showing {ON_HOME} of {total}: `{escape(command)} presets` lists them all.")
        )
    return blocks


def preset_options(presets: Sequence[PresetFacts]) -> dict[str, Any]:
    """The deploy form's preset select, as the `block_suggestion` ack gives it to Slack."""
    return {
        "options": [
            {
                "text": plain_text(truncate(f"{facts.name} · {facts.image}", OPTION_TEXT_LIMIT)),
                "value": facts.name,
            }
            for facts in presets
        ]
    }


def _buttons(facts: PresetFacts) -> dict[str, Any]:
    confirm = (
        f"The preset {facts.name} ({truncate(facts.image, 120)}) is deleted for the whole "
        "workspace. Deployments started from it are not affected."
    )
    return {
        "type": "actions",
        "elements": [
            _deploy_button(facts.name),
            {
                "type": "button",
                "action_id": ids.DELETE_PRESET,
                "text": plain_text("Delete"),
                "value": facts.name,
                "style": "danger",
                "confirm": {
                    "title": plain_text("Delete this preset?"),
                    "text": plain_text(truncate(confirm, CONFIRM_TEXT_LIMIT)),
                    "confirm": plain_text("Delete"),
                    "deny": plain_text("Keep it"),
                    "style": "danger",
                },
            },
        ],
    }


def _deploy_button(name: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": ids.DEPLOY_PRESET,
        "text": plain_text("Deploy"),
        "value": name,
        "style": "primary",
    }


def _when(moment: int) -> str:
    return f"<!date^{moment}^{{date_short_pretty}} {{time}}|{moment}>"


def _section(text: str) -> str:
    return truncate(text, SECTION_TEXT_LIMIT)


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(_section(text))]}
