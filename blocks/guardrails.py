"""The guardrails' words: approval requests and decisions, automatic stops, reminders, freezes."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from blocks import ids
from blocks.admin import when
from blocks.messages import Message, deployment_message, notice, thread_reply
from blocks.text import code, code_block, escape, mention, mrkdwn, plain_text, span, truncate

SECTION_TEXT_LIMIT: Final = 3000
FIELD_TEXT_LIMIT: Final = 2000
CONFIRM_TEXT_LIMIT: Final = 300
REASON_MAX_LENGTH: Final = 500
_KEYS_SHOWN: Final = 5

# --- approval ----------------------------------------------------------------------------------


def approvers_text(approvers: Sequence[str]) -> str:
    """Who may approve: the chosen people, or the workspace's admins."""
    return ", ".join(mention(user) for user in approvers) or "a workspace admin"


def approval_request_message(  # noqa: PLR0913 — one keyword per fact of the request
    *,
    user_id: str,
    image: str,
    machine_id: str,
    machine_price_id: str,
    ports: Sequence[str],
    external_deployment_id: str,
    environment: Sequence[tuple[str, str]],
    metadata: Sequence[tuple[str, str]],
    ssh_keys: Sequence[str],
    startup_script: str | None,
    registry: tuple[str, str] | None,
    stop_after_s: int | None,
    approvers: Sequence[str],
    expires_at: datetime,
) -> Message:
    """The channel message of a deployment that waits for a second person: the whole request,
    secrets already masked (`••••`), who may approve and until when, Approve and Reject.

    `registry` is `(server, login)`: its password is never shown. `environment` and
    `metadata` are `(name, value)` pairs as stored.
    """
    card = deployment_message(
        user_id=user_id,
        image=image,
        machine_id=machine_id,
        machine_price_id=machine_price_id,
        ports=ports,
        external_deployment_id=external_deployment_id,
        status="awaiting_approval",
    )
    facts = [
        _field("Registry", _registry_text(registry)),
        _field("SSH keys", _keys_text(ssh_keys)),
        _field("Stop after", span(stop_after_s) if stop_after_s else "never: no automatic stop"),
    ]
    blocks: list[dict[str, Any]] = [*card["blocks"], {"type": "section", "fields": facts}]
    for label, pairs in (("Environment variables", environment), ("Metadata", metadata)):
        if pairs:
            lines = "\n".join(f"{name}={value}" for name, value in pairs)
            blocks.append(_code_section(label, lines))
    if startup_script:
        blocks.append(_code_section("Startup script", startup_script))
    who = approvers_text(approvers)
    blocks.append(
        _context(
            f"🙋 Waiting for an approval by {who} (not {mention(user_id)}, who asked); it "
            f"expires {when(expires_at)}. Nothing is sent to Hiveon before that."
        )
    )
    blocks.append(
        {
            "type": "actions",
            "elements": _approval_buttons(
                external_deployment_id, image=image, machine_id=machine_id
            ),
        }
    )
    return {"text": f"{card['text']} · approvers: {who}", "blocks": blocks}


def _approval_buttons(
    external_deployment_id: str, *, image: str, machine_id: str
) -> list[dict[str, Any]]:
    """Approve (confirmed: it spends money) and Reject, each carrying the external ID."""
    confirm = (
        f"deploybot starts {truncate(image, 120)} on machine {truncate(machine_id, 40)} for "
        "the requester now, and Hiveon bills the machine from then on."
    )
    return [
        {
            "type": "button",
            "action_id": ids.APPROVE_DEPLOYMENT,
            "text": plain_text("Approve"),
            "style": "primary",
            "value": external_deployment_id,
            "confirm": {
                "title": plain_text("Approve this deployment?"),
                "text": plain_text(truncate(confirm, CONFIRM_TEXT_LIMIT)),
                "confirm": plain_text("Approve and start"),
                "deny": plain_text("Not yet"),
            },
        },
        {
            "type": "button",
            "action_id": ids.REJECT_DEPLOYMENT,
            "text": plain_text("Reject"),
            "style": "danger",
            "value": external_deployment_id,
        },
    ]


def reject_modal(*, private_metadata: str, requester: str, image: str) -> dict[str, Any]:
    """Asks why a deployment is rejected (or withdrawn, by its requester): the reason is
    replied in its thread."""
    return {
        "type": "modal",
        "callback_id": ids.REJECT_MODAL,
        "title": plain_text("Reject deployment"),
        "submit": plain_text("Reject"),
        "close": plain_text("Cancel"),
        "private_metadata": private_metadata,
        "blocks": [
            {
                "type": "section",
                "text": mrkdwn(
                    f"{mention(requester)} asked to deploy {code(image, limit=150)}. Nothing is "
                    "sent to Hiveon; the reason is replied in the request's thread."
                ),
            },
            {
                "type": "input",
                "block_id": ids.REJECT_REASON,
                "label": plain_text("Why not?"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.REJECT_REASON,
                    "multiline": True,
                    "max_length": REASON_MAX_LENGTH,
                    "placeholder": plain_text("e.g. Not during the incident; try after 18:00."),
                    "focus_on_load": True,
                },
            },
        ],
    }


REJECT_REASON_MISSING: Final = "Say why, so that the requester knows what to change."


def approved_reply(*, by: str) -> Message:
    """In the thread: someone approved; the start follows."""
    return thread_reply(emoji="👍", headline=f"Approved by {mention(by)}: deploybot starts it now.")


def rejected_reply(*, by: str, requester: str, reason: str) -> Message:
    """In the thread: rejected (or withdrawn by its requester), and why."""
    said = f"“{escape(reason)}”"
    if by == requester:
        headline = f"{mention(requester)} withdrew this request: {said}"
    else:
        headline = f"{mention(requester)}, {mention(by)} rejected this deployment: {said}"
    return thread_reply(emoji="🚫", headline=f"{headline} Nothing was sent to Hiveon.")


def expired_reply(*, requester: str, waited_s: float, command: str) -> Message:
    """In the thread: nobody approved in time."""
    return thread_reply(
        emoji="⌛",
        headline=f"{mention(requester)}, nobody approved this within {span(waited_s)}, so it "
        "expired: nothing was sent to Hiveon.",
        next_step=f"Run `{escape(command)}` again to ask anew.",
    )


def approved_note(*, by: str) -> str:
    """On the message: who approved it."""
    return f"👍 Approved by {mention(by)}"


def rejected_note(*, by: str, requester: str, reason: str) -> str:
    """On the message: who rejected (or withdrew) it, and why."""
    verb = "Withdrawn" if by == requester else "Rejected"
    return f"🚫 {verb} by {mention(by)}: “{escape(truncate(reason, 300))}”"


def expired_note() -> str:
    """On the message: it expired unapproved."""
    return "⌛ Nobody approved it in time; nothing was sent to Hiveon."


def own_approval_notice(*, approvers: Sequence[str]) -> Message:
    """A requester pressed Approve on their own deployment: a second person must."""
    return notice(
        text="🙅 You asked for this deployment, so you cannot approve it: a second person must. "
        f"Ask {approvers_text(approvers)}. Nothing changed."
    )


def not_an_approver_notice(*, approvers: Sequence[str], requester: str) -> Message:
    """Someone who may not decide pressed Approve or Reject."""
    return notice(
        text=f"🔒 Only {approvers_text(approvers)} may approve or reject deployments here "
        f"({mention(requester)} may withdraw their own). Nothing changed."
    )


_DECIDED: Final = {
    "rejected": "was already rejected",
    "expired": "has expired",
}


def already_decided_notice(*, status: str, by: str | None) -> Message:
    """Approve or Reject on a request someone already decided (or that expired)."""
    if status in _DECIDED:
        what = _DECIDED[status]
        if status == "rejected" and by:
            what += f" by {mention(by)}"
    else:
        what = "was already approved" + (f" by {mention(by)}" if by else "")
    return notice(text=f"This deployment request {what}; nothing changed.")


def approval_frozen_notice(
    *, by: str, since: datetime, until: datetime | None, reason: str, expires_at: datetime | None
) -> Message:
    """Approve while deploys are frozen: nothing starts; it still waits, until it expires."""
    left = f" (it expires {when(expires_at)})" if expires_at else ""
    return notice(
        text=f"🧊 Deploys are frozen by {mention(by)} since {when(since)}"
        f"{_until_text(until)}: “{escape(reason)}”. Nothing starts, approved or not; the "
        f"request keeps waiting{left}. Approve it once the freeze is lifted."
    )


def sealed_unreadable_notice() -> Message:
    """Approve of a request whose secrets no configured encryption key opens any more."""
    return notice(
        text="⚠️ This request's registry password and secret values cannot be decrypted with "
        "the current `DEPLOYBOT_ENCRYPTION_KEY`, so it cannot be started. Reject it and ask the "
        "requester to deploy again."
    )


# --- automatic stop -------------------------------------------------------------------------------


def stop_after_note(*, stop_after_s: float) -> str:
    """On the message before the start: how long it will run."""
    return f"⏱️ Stops automatically {span(stop_after_s)} after it starts."


def stops_at_note(*, stops_at: datetime) -> str:
    """On the message while it runs: when deploybot stops it."""
    return f"⏱️ deploybot stops it automatically {when(stops_at)}."


def stopped_note(*, after_s: float) -> str:
    """On the message once deploybot stopped it."""
    return f"⏹️ Stopped automatically after {span(after_s)}."


def reminder_message(  # noqa: PLR0913 — one keyword per fact of the reminder
    *,
    requester: str,
    deployment_id: str,
    stops_at: datetime,
    left_s: float,
    extend_by_s: float,
    button_value: str,
) -> Message:
    """In the thread, before the automatic stop: the requester, when, Extend and Stop now.

    `button_value` goes back with both buttons (the deployment, and the stop it was shown for,
    so a second click extends nothing).
    """
    headline = (
        f"{mention(requester)}, deploybot stops {code(deployment_id)} automatically "
        f"{when(stops_at)}, in {span(left_s)}."
    )
    reply = thread_reply(
        emoji="⏰",
        headline=headline,
        next_step=f"*Extend* keeps it running {span(extend_by_s)} more; *Stop now* stops it "
        "at once.",
    )
    reply["blocks"].append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": ids.EXTEND_DEPLOYMENT,
                    "text": plain_text(truncate(f"Extend by {span(extend_by_s)}", 75)),
                    "style": "primary",
                    "value": button_value,
                },
                {
                    "type": "button",
                    "action_id": ids.STOP_NOW,
                    "text": plain_text("Stop now"),
                    "style": "danger",
                    "value": button_value,
                    "confirm": {
                        "title": plain_text("Stop it now?"),
                        "text": plain_text(
                            "Hiveon stops the container; Redeploy can start it again."
                        ),
                        "confirm": plain_text("Stop now"),
                        "deny": plain_text("Keep running"),
                        "style": "danger",
                    },
                },
            ],
        }
    )
    return reply


def extended_reply(*, by: str, by_s: float, stops_at: datetime, capped: bool) -> Message:
    """In the thread: someone moved the automatic stop."""
    limit = " (as far as the workspace's longest run allows)" if capped else ""
    return thread_reply(
        emoji="⏱️",
        headline=f"{mention(by)} extended it by {span(by_s)}{limit}: deploybot now stops it "
        f"{when(stops_at)}.",
    )


def extended_notice(*, by_s: float, stops_at: datetime, capped: bool) -> Message:
    """`/deploy extend`, to whoever asked: done."""
    limit = " (as far as the workspace's longest run allows)" if capped else ""
    return notice(
        text=f"⏱️ Extended by {span(by_s)}{limit}: deploybot now stops it {when(stops_at)}."
    )


def auto_stopped_reply(*, requester: str, deployment_id: str, after_s: float) -> Message:
    """In the thread: deploybot asked Hiveon to stop it, as its requester asked."""
    return thread_reply(
        emoji="⏹️",
        headline=f"{mention(requester)}, deploybot stopped {code(deployment_id)} automatically "
        f"after {span(after_s)}, as asked; this thread follows it to the end.",
        next_step="*Redeploy* starts it again.",
    )


def auto_stop_refused_reply(
    *, requester: str, deployment_id: str, http_status: int, vendor_message: str | None
) -> Message:
    """In the thread (and the channel): Hiveon refused the automatic stop; it still runs."""
    said = f" Hiveon says: “{escape(vendor_message)}”" if vendor_message else ""
    return thread_reply(
        emoji="❌",
        headline=f"{mention(requester)}, deploybot could not stop {code(deployment_id)} "
        f"automatically: Hiveon refused (HTTP {http_status}).{said} It is still running.",
        next_step="Press *Stop*, or stop it in Hiveon.",
    )


def auto_stop_unclear_reply(*, requester: str, deployment_id: str, reason: str) -> Message:
    """In the thread (and the channel): the automatic stop got no clear answer."""
    return thread_reply(
        emoji="⚠️",
        headline=f"{mention(requester)}, deploybot asked Hiveon to stop {code(deployment_id)} "
        f"automatically but got no clear answer ({escape(reason)}); it keeps following it.",
        next_step="If it still runs in a minute, press *Stop*.",
    )


def extend_refusal_notice(*, requester: str, deployment: str) -> Message:
    """Extend (or Stop now) by someone who may not: who may."""
    return notice(
        text=f"Only {mention(requester)}, who started {code(deployment)}, or a workspace admin "
        "can extend or stop it. Ask one of them."
    )


def nothing_to_extend_notice(*, deployment: str, stopped: bool) -> Message:
    """Extend of a deployment deploybot does not stop automatically (any more)."""
    why = "already stopped" if stopped else "has no automatic stop"
    return notice(text=f"{code(deployment)} {why}: there is nothing to extend.")


def already_extended_notice(*, stops_at: datetime) -> Message:
    """A second Extend on the same reminder (a double click, or someone was quicker)."""
    return notice(
        text=f"It was just extended: deploybot now stops it {when(stops_at)}. Nothing changed."
    )


def at_the_longest_notice(*, max_s: float, stops_at: datetime) -> Message:
    """Extend when the run already has the longest time left the workspace allows."""
    return notice(
        text=f"This workspace lets a deployment have at most {span(max_s)} left to run; it "
        f"already stops {when(stops_at)}. Nothing changed."
    )


def extend_usage_notice(*, command: str) -> Message:
    """`/deploy extend` without a deployment or a duration."""
    usage = code(f"{command} extend <ID> <duration>")
    return notice(text=f"Which one, and by how long? {usage}, e.g. `… extend 3f2a 2h`.")


def duration_notice(*, problem: str) -> Message:
    """A duration in a command that cannot be used (`problem` from `blocks.input_errors`)."""
    return notice(text=problem)


# --- freeze ---------------------------------------------------------------------------------------


def _until_text(until: datetime | None, *, command: str = "/deploy") -> str:
    if until is None:
        return f", until an admin runs `{escape(command)} unfreeze`"
    return f", until {when(until)}"


def freeze_refusal(
    *, by: str, since: datetime, until: datetime | None, reason: str, command: str
) -> Message:
    """Why nobody can deploy now: the freeze, who set it, since when, why."""
    return notice(
        text=f"🧊 Deploys are frozen in this workspace by {mention(by)} since {when(since)}"
        f"{_until_text(until, command=command)}: “{escape(reason)}”. Nothing was sent to Hiveon."
    )


def frozen_announcement(
    *, by: str, since: datetime, until: datetime | None, reason: str, command: str
) -> Message:
    """In the channel the freeze was typed in: deploys are frozen now."""
    return notice(
        text=f"🧊 {mention(by)} froze deploys {when(since)}{_until_text(until, command=command)}:"
        f" “{escape(reason)}”. New deployments and approvals are refused meanwhile; running ones "
        "keep running."
    )


def unfrozen_announcement(*, by: str, reason: str) -> Message:
    """In the channel the unfreeze was typed in: deploying works again."""
    return notice(
        text=f"🌤️ {mention(by)} lifted the deploy freeze (“{escape(reason)}”): deploying works "
        "again."
    )


def not_frozen_notice() -> Message:
    """`/deploy unfreeze` when nothing is frozen."""
    return notice(text="Deploys are not frozen; nothing changed.")


def freeze_usage_notice(*, command: str) -> Message:
    """`/deploy freeze` without a reason."""
    return notice(
        text=f"Say why: {code(f'{command} freeze [duration] <reason>')}, e.g. "
        f"`{escape(command)} freeze 2h incident 4711` (without a duration it lasts until "
        f"`{escape(command)} unfreeze`)."
    )


def freeze_banner(
    *, by: str, since: datetime, until: datetime | None, reason: str, command: str
) -> list[dict[str, Any]]:
    """The App Home's banner while deploys are frozen."""
    return [
        {
            "type": "section",
            "text": mrkdwn(
                truncate(
                    f"🧊 *Deploys are frozen* by {mention(by)} since {when(since)}"
                    f"{_until_text(until, command=command)}: “{escape(reason)}”. New "
                    "deployments and approvals are refused.",
                    SECTION_TEXT_LIMIT,
                )
            ),
        },
        {"type": "divider"},
    ]


# --- parts ----------------------------------------------------------------------------------------


def _registry_text(registry: tuple[str, str] | None) -> str:
    if registry is None:
        return "none (a public image)"
    server, login = registry
    return f"{code(login)} at {code(server)}, password ••••"


def _keys_text(keys: Sequence[str]) -> str:
    if not keys:
        return "none"
    shown = [code(_key_summary(key)) for key in keys[:_KEYS_SHOWN]]
    more = len(keys) - _KEYS_SHOWN
    return "\n".join(shown) + (f"\nand {more} more" if more > 0 else "")


def _key_summary(key: str) -> str:
    """`ssh-ed25519 … alice@laptop`: the type and comment, not the long key data."""
    kind, _, rest = key.partition(" ")
    comment = rest.partition(" ")[2]
    return f"{kind} … {comment}".strip()


def _field(label: str, value: str) -> dict[str, Any]:
    return mrkdwn(truncate(f"*{label}*\n{value}", FIELD_TEXT_LIMIT))


def _code_section(label: str, text: str) -> dict[str, Any]:
    heading = f"*{label}*\n"
    return {
        "type": "section",
        "text": mrkdwn(heading + code_block(text, limit=SECTION_TEXT_LIMIT - len(heading))),
    }


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(truncate(text, SECTION_TEXT_LIMIT))]}
