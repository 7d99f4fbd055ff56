"""Admin views and notices: the API key modal, who may deploy, the change log and refusals."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from blocks import ids
from blocks.messages import Message, notice
from blocks.text import code, escape, mention, mrkdwn, plain_text, short_span, span, truncate

SECTION_TEXT_LIMIT: Final = 3000
OPTION_TEXT_LIMIT: Final = 75
OPTION_VALUE_LIMIT: Final = 150
MAX_OPTIONS: Final = 100
API_KEY_MAX_LENGTH: Final = 500
_TITLE_KEY: Final = "Hiveon API key"
_TITLE_ACCESS: Final = "Deploy settings"

KEY_VERDICTS: Final[Mapping[str, str]] = {
    "accepted": "Hiveon accepted it",
    "refused": "Hiveon refused it",
    "unchecked": "Hiveon could not check it",
}


def when(moment: datetime) -> str:
    """A date Slack shows in the reader's time zone, with a UTC fallback."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def key_name(hint: str | None) -> str:
    """How a stored key is named: by its last 4 characters, never more."""
    return f"ending in {code(hint)}" if hint else "a key too short to show its end"


def channels_text(channel_ids: Sequence[str]) -> str:
    """Channel mentions, or "any channel"."""
    return ", ".join(f"<#{escape(c)}>" for c in channel_ids) or "any channel"


def people_text(user_ids: Sequence[str], usergroup_ids: Sequence[str]) -> str:
    """User and user group mentions, or "everyone"."""
    named = [mention(u) for u in user_ids] + [f"<!subteam^{escape(g)}>" for g in usergroup_ids]
    return ", ".join(named) or "everyone"


def change_line(*, user_id: str, at: datetime, action: str, detail: Mapping[str, Any]) -> str:
    """One entry of the change log as a line: when, who, what; never a key."""
    who = "Slack" if user_id == "slack" else mention(user_id)
    verdict = KEY_VERDICTS.get(str(detail.get("check")), "")
    checked = f"; {verdict}" if verdict else ""
    if action == "api_key_set":
        what = f"set the Hiveon API key ({key_name(detail.get('hint'))}{checked})"
    elif action == "api_key_rotated":
        what = (
            f"replaced the Hiveon API key ({key_name(detail.get('previous_hint'))} → "
            f"{key_name(detail.get('hint'))}{checked})"
        )
    elif action == "api_key_removed":
        what = f"removed the Hiveon API key ({key_name(detail.get('hint'))})"
    elif action == "access_changed":
        what = "changed who may deploy: " + _access_changes(detail)
    elif action == "guardrails_changed":
        what = "changed the guardrails: " + _guardrail_changes(detail)
    elif action == "deploys_frozen":
        until = detail.get("until")
        ends = f" until {when(datetime.fromisoformat(until))}" if until else ""
        what = f"froze deploys{ends}: “{escape(str(detail.get('reason', '')))}”"
    elif action == "deploys_unfrozen":
        what = f"lifted the deploy freeze (“{escape(str(detail.get('reason', '')))}”)"
    elif action == "uninstalled":
        what = "uninstalled deploybot; the installation, the key and the settings were deleted"
    elif action in _PRESET_CHANGES:
        what = _preset_change(action, detail)
    else:
        what = escape(action)
    return f"{when(at)} · {who} {what}"


_PRESET_CHANGES: Final = frozenset({"preset_saved", "preset_replaced", "preset_deleted"})


def _preset_change(action: str, detail: Mapping[str, Any]) -> str:
    """A preset saved, replaced (naming whose it was) or deleted, with its image."""
    name = code(str(detail.get("name", "")))
    image = code(str(detail.get("image", "")), limit=60)
    owner = detail.get("owner")
    if action == "preset_saved":
        return f"saved the preset {name} ({image})"
    whose = f", {mention(str(owner))}'s" if owner else ""
    did = "replaced" if action == "preset_replaced" else "deleted"
    return f"{did} the preset {name}{whose} ({image})"


def _access_changes(detail: Mapping[str, Any]) -> str:
    parts = []
    if "channels" in detail:
        old, new = detail["channels"]
        parts.append(f"channels {channels_text(old)} → {channels_text(new)}")
    if "users" in detail:
        old, new = detail["users"]
        parts.append(f"people {people_text(old, ())} → {people_text(new, ())}")
    if "usergroups" in detail:
        old, new = detail["usergroups"]
        parts.append(f"user groups {_groups_text(old)} → {_groups_text(new)}")
    return "; ".join(parts) or "saved without changes"


def _run_text(seconds: object) -> str:
    return span(seconds) if isinstance(seconds, int) and seconds > 0 else "none"


def _guardrail_changes(detail: Mapping[str, Any]) -> str:
    parts = []
    if "require_approval" in detail:
        _, new = detail["require_approval"]
        parts.append("approval " + ("required" if new else "no longer required"))
    if "approvers" in detail:
        old, new = detail["approvers"]
        parts.append(f"approvers {_approvers_text(old)} → {_approvers_text(new)}")
    if "default_stop_after_s" in detail:
        old, new = detail["default_stop_after_s"]
        parts.append(f"default run {_run_text(old)} → {_run_text(new)}")
    if "max_stop_after_s" in detail:
        old, new = detail["max_stop_after_s"]
        parts.append(f"longest run {_run_text(old)} → {_run_text(new)}")
    return "; ".join(parts) or "saved without changes"


def _approvers_text(user_ids: Sequence[str]) -> str:
    return people_text(user_ids, ()) if user_ids else "the admins"


def _groups_text(group_ids: Sequence[str]) -> str:
    return people_text((), group_ids) if group_ids else "none"


def api_key_modal(  # noqa: PLR0913 — one keyword per fact shown, all keyword-only
    *,
    private_metadata: str,
    hint: str | None,
    set_by: str | None,
    set_at: datetime | None,
    has_own_key: bool,
    readable: bool = True,
    has_default_key: bool,
    can_store: bool,
    org_wide: bool = False,
    history: Sequence[str] = (),
    error: str | None = None,
) -> dict[str, Any]:
    """Set, rotate or remove the workspace's key; the key itself is never shown or prefilled."""
    where = "your organization's workspaces" if org_wide else "this workspace"
    if has_own_key and not readable:
        status = (
            f"⚠️ A key is stored for {where} but cannot be decrypted with the current "
            "`DEPLOYBOT_ENCRYPTION_KEY`, so deployments are refused. Set a new key or remove it."
        )
    elif has_own_key:
        status = f"🔑 Deployments from {where} use the key {key_name(hint)}"
        if set_by and set_at:
            status += f", set by {mention(set_by)} on {when(set_at)}"
        status += "."
    elif has_default_key:
        status = (
            f"No key of its own: deployments from {where} use the default key of whoever runs "
            "deploybot (`HIVEON_API_KEY`)."
        )
    else:
        status = f"No key yet: nobody in {where} can deploy until one is set."
    status_block: dict[str, Any] = {"type": "section", "text": mrkdwn(status)}
    if has_own_key:
        status_block["accessory"] = _remove_button()
    blocks: list[dict[str, Any]] = [status_block]
    if error:
        blocks.append({"type": "section", "text": mrkdwn(_section(f"❌ {error}"))})
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": ids.API_KEY_MODAL,
        "title": plain_text(_TITLE_KEY),
        "close": plain_text("Close"),
        "private_metadata": private_metadata,
        "blocks": blocks,
    }
    if can_store:
        label = "New key" if has_own_key else "Key"
        blocks.append(
            {
                "type": "input",
                "block_id": ids.API_KEY,
                "label": plain_text(label),
                "hint": plain_text(
                    "Checked with Hiveon before it is saved, without starting anything. Stored "
                    "encrypted; only its last 4 characters are ever shown."
                ),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.API_KEY,
                    "placeholder": plain_text("Paste the Hiveon API key"),
                    "max_length": API_KEY_MAX_LENGTH,
                    "focus_on_load": True,
                },
            }
        )
        view["submit"] = plain_text("Check and save")
    else:
        blocks.append(
            {
                "type": "section",
                "text": mrkdwn(
                    "⚠️ deploybot cannot store workspace keys yet: whoever runs it must set "
                    "`DEPLOYBOT_ENCRYPTION_KEY` (see the README's admin guide)."
                ),
            }
        )
    if history:
        blocks += _history_blocks(history)
    return view


def _remove_button() -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": ids.REMOVE_API_KEY,
        "text": plain_text("Remove key"),
        "style": "danger",
        "value": "remove",
        "confirm": {
            "title": plain_text("Remove the key?"),
            "text": plain_text(
                "Deployments will use the default key of whoever runs deploybot, if there is "
                "one; otherwise nobody can deploy until a key is set again."
            ),
            "confirm": plain_text("Remove"),
            "deny": plain_text("Keep it"),
            "style": "danger",
        },
    }


def _history_blocks(history: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {"type": "divider"},
        {
            "type": "context",
            "elements": [mrkdwn(_section("*Recent changes*\n" + "\n".join(history)))],
        },
    ]


def progress_view(*, title: str, text: str) -> dict[str, Any]:
    """A modal that only says something (checking, saved, refused); it has no inputs."""
    return {
        "type": "modal",
        "callback_id": ids.API_KEY_MODAL,
        "title": plain_text(truncate(title, 24)),
        "close": plain_text("Close"),
        "blocks": [{"type": "section", "text": mrkdwn(_section(text))}],
    }


def checking_view() -> dict[str, Any]:
    """Shown while Hiveon checks a key (the submission's ack)."""
    return progress_view(title=_TITLE_KEY, text="⏳ Checking the key with Hiveon…")


def key_saved_text(*, hint: str | None, verdict: str, reason: str | None, rotated: bool) -> str:
    """What the admin reads once a key is stored."""
    did = "replaced" if rotated else "set"
    text = f"🔑 You {did} the workspace's Hiveon API key: {key_name(hint)}."
    if verdict == "accepted":
        return text + " Hiveon accepted it; deployments use it from now on."
    because = f" ({escape(reason)})" if reason else ""
    return (
        f"⚠️ You {did} the workspace's Hiveon API key: {key_name(hint)}. Hiveon could not check "
        f"it{because}, so it was saved anyway; if Hiveon refuses it, deployments will say so."
    )


def key_refused_text(*, status: int | None) -> str:
    """Why a key was not saved: Hiveon refused it."""
    http = f" (HTTP {status})" if status else ""
    return f"Hiveon refused this key{http}, so nothing was saved. Check the key and paste it again."


def settings_modal(  # noqa: PLR0913 — one keyword per setting, all keyword-only
    *,
    private_metadata: str,
    channels: Sequence[str],
    users: Sequence[str],
    usergroups: Sequence[str],
    usergroup_options: Sequence[tuple[str, str]],
    groups_note: str | None = None,
    org_wide: bool = False,
    history: Sequence[str] = (),
    require_approval: bool = False,
    approvers: Sequence[str] = (),
    default_stop_after_s: int | None = None,
    max_stop_after_s: int | None = None,
    can_seal: bool = True,
) -> dict[str, Any]:
    """Who may deploy, and where: channels, people and user groups; empty means everyone. Then
    the guardrails: two-person approval and its approvers, the default and longest run.

    `usergroup_options` are `(id, label)` pairs; selected groups missing from them are shown
    under their ID so that saving never drops them silently. `can_seal` is False when
    deploybot has no encryption key to keep a waiting request's secrets with.
    """
    where = "your organization's workspaces" if org_wide else "this workspace"
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": mrkdwn(
                f"Choose who may deploy from {where}. Leave a list empty to allow everyone; "
                "channels and people restrict separately (both must allow a deployment)."
            ),
        },
        _multi_input(
            ids.ALLOWED_CHANNELS,
            "Only in these channels",
            "Deployments started anywhere else are refused.",
            {
                "type": "multi_conversations_select",
                "placeholder": plain_text("Any channel"),
                "filter": {"include": ["public", "private"], "exclude_bot_users": True},
                **({"initial_conversations": list(channels)} if channels else {}),
            },
        ),
        _multi_input(
            ids.ALLOWED_USERS,
            "Only these people",
            "Together with the user groups below; leave both empty to allow everyone.",
            {
                "type": "multi_users_select",
                "placeholder": plain_text("Everyone"),
                **({"initial_users": list(users)} if users else {}),
            },
        ),
    ]
    options = _group_options(usergroup_options, usergroups)
    if options:
        chosen = [option for option in options if option["value"] in set(usergroups)]
        blocks.append(
            _multi_input(
                ids.ALLOWED_USERGROUPS,
                "…or members of these groups",
                "Membership is checked when someone deploys.",
                {
                    "type": "multi_static_select",
                    "placeholder": plain_text("No user groups"),
                    "options": options,
                    **({"initial_options": chosen} if chosen else {}),
                },
            )
        )
    if groups_note:
        blocks.append({"type": "context", "elements": [mrkdwn(_section(groups_note))]})
    blocks += _guardrail_inputs(
        require_approval=require_approval,
        approvers=approvers,
        default_stop_after_s=default_stop_after_s,
        max_stop_after_s=max_stop_after_s,
        can_seal=can_seal,
    )
    if history:
        blocks += _history_blocks(history)
    return {
        "type": "modal",
        "callback_id": ids.SETTINGS_MODAL,
        "title": plain_text(_TITLE_ACCESS),
        "submit": plain_text("Save"),
        "close": plain_text("Cancel"),
        "private_metadata": private_metadata,
        "blocks": blocks,
    }


_APPROVAL_OPTION: Final = {
    "text": plain_text("A second person approves each deployment"),
    "description": plain_text("Nothing reaches Hiveon before an approver other than the requester"),
    "value": ids.APPROVAL_REQUIRED,
}


def _guardrail_inputs(
    *,
    require_approval: bool,
    approvers: Sequence[str],
    default_stop_after_s: int | None,
    max_stop_after_s: int | None,
    can_seal: bool,
) -> list[dict[str, Any]]:
    """Approval and automatic stops: checkboxes, approvers, the default and longest run."""
    blocks: list[dict[str, Any]] = [
        {"type": "divider"},
        {
            "type": "section",
            "text": mrkdwn("*Guardrails*\nGPU machines cost money every hour they run."),
        },
        _multi_input(
            ids.REQUIRE_APPROVAL,
            "Require approval",
            "Who deploys waits for an approver; unanswered requests expire.",
            {
                "type": "checkboxes",
                "options": [_APPROVAL_OPTION],
                **({"initial_options": [_APPROVAL_OPTION]} if require_approval else {}),
            },
        ),
        _multi_input(
            ids.APPROVERS,
            "Approvers",
            "Empty: the workspace's admins and owners (and DEPLOYBOT_ADMINS). Nobody approves "
            "their own deployment.",
            {
                "type": "multi_users_select",
                "placeholder": plain_text("Workspace admins"),
                **({"initial_users": list(approvers)} if approvers else {}),
            },
        ),
    ]
    if not can_seal:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    mrkdwn(
                        "⚠️ Without `DEPLOYBOT_ENCRYPTION_KEY`, deploybot cannot keep a registry "
                        "password or secret value while a deployment waits: with approval "
                        "required, forms holding one are refused."
                    )
                ],
            }
        )
    for block_id, label, hint, seconds in (
        (
            ids.DEFAULT_STOP_AFTER,
            "Stop deployments after",
            "The default of the form's Stop after, e.g. 4h; empty: they run until stopped.",
            default_stop_after_s,
        ),
        (
            ids.MAX_STOP_AFTER,
            "Longest run",
            (
                "Stop after can ask for no more, nor Extend leave more time than this, e.g. 1d; "
                "empty: up to 30 days."
            ),
            max_stop_after_s,
        ),
    ):
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "placeholder": plain_text("e.g. 4h"),
            "max_length": 40,
        }
        if seconds:
            element["initial_value"] = short_span(seconds)
        blocks.append(_multi_input(block_id, label, hint, element))
    return blocks


def _multi_input(block_id: str, label: str, hint: str, element: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": plain_text(label),
        "hint": plain_text(hint),
        "element": {"action_id": block_id, **element},
    }


def _group_options(
    available: Sequence[tuple[str, str]], selected: Sequence[str]
) -> list[dict[str, Any]]:
    """Options for the group select: selected ones first (so none is cut), at most 100."""
    labels = dict(available)
    ordered = [*selected, *(group for group, _ in available if group not in set(selected))]
    return [
        {
            "text": plain_text(truncate(labels.get(group, group), OPTION_TEXT_LIMIT)),
            "value": group,
        }
        for group in ordered[:MAX_OPTIONS]
        if 0 < len(group) <= OPTION_VALUE_LIMIT
    ]


# What someone who is not an admin tried -> how the refusal names it.
_ADMIN_ATTEMPTS: Final[Mapping[str, str]] = {
    "manage_key": "manage the workspace's Hiveon API key",
    "set_key": "set the workspace's Hiveon API key",
    "remove_key": "remove the workspace's Hiveon API key",
    "choose_access": "choose who may deploy",
    "freeze": "freeze or unfreeze deploys",
}


def not_admin(*, attempt: str) -> Message:
    """The refusal for someone who is not an admin; `attempt` is what they tried
    (`manage_key`, `set_key`, `remove_key`, `choose_access` or `freeze`)."""
    return notice(
        text=f"🔒 Only workspace admins and owners (and people whoever runs deploybot lists in "
        f"`DEPLOYBOT_ADMINS`) can {_ADMIN_ATTEMPTS[attempt]}. Ask a workspace admin; nothing was "
        "changed."
    )


# Why a request changed nothing: Slack named no workspace for it. A field error or a notice.
NO_WORKSPACE: Final = (
    "Slack did not say which workspace this request comes from, so nothing was changed."
)

# What is wrong with a pasted key (bot.administration.KeyProblem's values), under the field.
_KEY_PROBLEMS: Final[Mapping[str, str]] = {
    "no_workspace": NO_WORKSPACE,
    "no_encryption": (
        "deploybot cannot store workspace keys: whoever runs it must set "
        "DEPLOYBOT_ENCRYPTION_KEY. Until then deployments use their default key "
        "(HIVEON_API_KEY), if any."
    ),
    "empty": "Paste the key.",
    "not_sendable": "A Hiveon API key is printable ASCII without spaces: check what you pasted.",
}


def key_problem(*, problem: str) -> str:
    """The field error for a key that cannot be checked or stored, in plain text."""
    return _KEY_PROBLEMS[problem]


def no_workspace_notice() -> Message:
    """The answer to a command Slack named no workspace for."""
    return notice(text=NO_WORKSPACE)


def key_result_view(*, text: str) -> dict[str, Any]:
    """The key modal once it is over: saved, or refused to someone who is not an admin."""
    return progress_view(title=_TITLE_KEY, text=text)


def key_refused_notice(*, status: int | None) -> Message:
    """Why a key was not saved, privately, when its modal was closed before the check ended."""
    return notice(text=f"❌ {key_refused_text(status=status)}")


def no_key_notice() -> Message:
    """The answer to removing a key when there was none."""
    return notice(text="There was no key to remove.")


def unchanged_notice() -> Message:
    """The answer to saving settings that were already so."""
    return notice(text="Nothing changed.")


def usergroup_option(*, group_id: str, handle: str | None, name: str | None) -> tuple[str, str]:
    """A user group as the settings modal offers it: `(id, "@handle · Name")`."""
    return group_id, f"@{handle or group_id} · {name or ''}"


def usergroups_note(
    *, offered: int, slack_error: str | None = None, failed: bool = False
) -> str | None:
    """Why the settings modal cannot offer every user group, or None when it can.

    `slack_error` is the error Slack answered usergroups.list with; `failed` says the call got
    no answer at all; `offered` is how many groups Slack listed.
    """
    if slack_error is not None:
        return f"User groups cannot be listed (Slack says `{slack_error}`); people still can."
    if failed:
        return "User groups could not be loaded this time; people and channels still can."
    if offered > MAX_OPTIONS:
        return f"Only {MAX_OPTIONS} of {offered} user groups can be listed."
    return None


# What anyone in a workspace deploybot does not serve reads (no installation, a workspace the
# operator does not allow, a request that names no workspace). Bolt sends it as plain text.
NOT_SERVED: Final = (
    "⚠️ deploybot is not available in this workspace: it is not installed here, or whoever runs "
    "deploybot does not allow this workspace. A workspace admin can install it again; if that "
    "is refused, ask whoever runs deploybot."
)


def change_notice(line: str) -> Message:
    """What an admin reads after a change, ephemerally: the change as recorded."""
    return notice(text=f"📝 Recorded: {line}")


def deploy_refusal(  # noqa: PLR0913 — one keyword per fact of the refusal
    *,
    channels: Sequence[str],
    users: Sequence[str],
    usergroups: Sequence[str],
    wrong_channel: bool,
    ask: str | None,
    command: str,
) -> Message:
    """Why this person may not deploy here, what is allowed, and who to ask."""
    if wrong_channel:
        why = f"Deploying from this workspace is limited to {channels_text(channels)}."
    else:
        why = f"Deploying from this workspace is limited to {people_text(users, usergroups)}."
    who = (
        f"{mention(ask)}, who set this, or another workspace admin" if ask else "a workspace admin"
    )
    return notice(
        text=f"🔒 {why} Nothing was sent to Hiveon. Ask {who} to change it with "
        f"`{escape(command)} settings`."
    )


def _section(text: str) -> str:
    return truncate(text, SECTION_TEXT_LIMIT)


def welcome_message(*, command: str) -> Message:
    """The installer's first DM from deploybot: what to set up, and how."""
    name = escape(command)
    return notice(
        text=f"👋 deploybot is installed. Next steps for a workspace admin:\n"
        f"1. `{name} api-key` sets this workspace's Hiveon API key (checked, stored encrypted).\n"
        f"2. `{name} settings` chooses who may deploy, and where (default: everyone).\n"
        f"Then anyone allowed runs `{name}`; `{name} help` explains the rest."
    )


class KeyCheckProblem(StrEnum):
    """Why Hiveon could not say whether a key works."""

    ANSWERED = "answered"  # with a status that says nothing about the key
    UNREACHABLE = "unreachable"
    UNCLEAR = "unclear"
    NO_ANSWER = "no_answer"
    NOT_ASKED = "not_asked"


def key_check_reason(
    problem: KeyCheckProblem,
    *,
    status: int | None = None,
    detail: str | None = None,
    timeout_s: float | None = None,
) -> str:
    """Why a key could not be checked, as the key form and `deploybot check` say it."""
    said = f" ({detail})" if detail else ""
    if problem is KeyCheckProblem.ANSWERED:
        return f"Hiveon answered HTTP {status}{said}"
    if problem is KeyCheckProblem.UNREACHABLE:
        return f"Hiveon could not be reached{said}"
    if problem is KeyCheckProblem.UNCLEAR:
        return f"Hiveon did not answer clearly{said}"
    if problem is KeyCheckProblem.NO_ANSWER:
        return f"no answer within {timeout_s:g} s"
    return "Hiveon could not be asked"
