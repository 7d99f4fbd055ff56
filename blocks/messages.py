"""Channel and ephemeral messages: the deployment card, its thread replies, help and notices."""

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final, TypeAlias

from blocks import ids
from blocks.text import code, escape, mention, mrkdwn, plain_text, truncate

# A message for chat.postMessage, chat.update, ack or respond: `{"text": ..., "blocks": [...]}`.
Message: TypeAlias = dict[str, Any]

# Slack's limits on sections, fields, button values and confirm dialogs.
SECTION_TEXT_LIMIT: Final = 3000
FIELD_TEXT_LIMIT: Final = 2000
BUTTON_VALUE_LIMIT: Final = 2000
CONFIRM_TEXT_LIMIT: Final = 300
# Long enough for a registry path and tag, short enough for a notification.
_HEADLINE_IMAGE_LIMIT: Final = 120
_SHORT_ID_LENGTH: Final = 8

# status -> (emoji, headline template); templates take already-escaped mrkdwn pieces.
STATUSES: Final[Mapping[str, tuple[str, str]]] = {
    "deploying": ("⏳", "{user} is deploying {image} on machine {machine}"),
    "started": ("✅", "{user} started {image} on machine {machine}"),
    "failed": ("❌", "{user}'s {image} failed on machine {machine}"),
    "unknown": ("⚠️", "{user} tried to deploy {image} on machine {machine}; outcome unknown"),
    "pending": ("🕓", "{user}'s {image} is pending on machine {machine}"),
    "running": ("🟢", "{user}'s {image} is running on machine {machine}"),
    "stopping": ("🟠", "{user}'s {image} is stopping on machine {machine}"),
    "stopped": ("⏹️", "{user}'s {image} stopped on machine {machine}"),
    "awaiting_approval": ("🙋", "{user} asks to deploy {image} on machine {machine}"),
    "rejected": ("🚫", "{user}'s {image} on machine {machine} was not approved"),
    "expired": ("⌛", "{user}'s {image} on machine {machine} was never approved"),
}
_OTHER_STATUS: Final = ("⚠️", "{user}'s {image} on machine {machine} is {status}")

_FIELD_FORMATS: Final = (
    "*Field formats*\n"
    "• *Ports*: separated by commas, spaces or newlines; each `PORT` or `PORT/PROTOCOL`, "
    "protocol `tcp` (default) or `https`; 1–65535; up to 100; no port twice.\n"
    "• *Environment variables* and *metadata*: `.env` syntax, one `KEY=VALUE` per line; quotes, "
    "`export` and `#` comments work; names are letters, digits and `_`, not starting with a "
    "digit. Secrets are masked (`••••`) in everything deploybot stores or shows: values of "
    "names containing PASS, PWD, SECRET, TOKEN, KEY, CREDENTIAL, DSN, AUTH, PRIVATE, CERT, "
    "SESSION or COOKIE, and the password of any URL such as `postgres://app:pw@db/app`; "
    "Hiveon receives them as typed.\n"
    "• *SSH public keys*: one OpenSSH public key per line "
    "(`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-*`, `sk-*`).\n"
    "• *Startup script*: up to 3,000 characters (Slack's limit); "
    "for a longer one, fetch it from a URL in the script.\n"
    "• *Private registry*: login and password go together; the server is Docker Hub "
    "when left empty. The password is sent only to Hiveon.\n"
    "• *External deployment ID*: prefilled with a fresh ID; it is the idempotency key, "
    "so the same submission never starts twice."
)


# Subcommand -> (usage after the command, what it does), for the help of those available.
SUBCOMMANDS: Final[Mapping[str, tuple[str, str]]] = {
    "status": (
        "status <deployment ID or external ID>",
        "fetch its status now; the answer is also posted in its thread",
    ),
    "stop": (
        "stop <deployment ID or external ID>",
        "stop it, after you confirm (whoever started it, or an admin)",
    ),
    "history": ("history", "the workspace's last 20 deployments, with links to their threads"),
    "api-key": ("api-key", "set, replace or remove this workspace's Hiveon API key (admins)"),
    "settings": (
        "settings",
        "choose who may deploy and from which channels, approvals, automatic stops (admins)",
    ),
    "extend": (
        "extend <deployment ID or external ID> <duration>",
        "move its automatic stop later, e.g. `2h` (whoever started it, or an admin)",
    ),
    "freeze": (
        "freeze [duration] <reason>",
        "refuse every new deployment, for a while or until unfrozen (admins)",
    ),
    "unfreeze": ("unfreeze", "lift the deploy freeze (admins)"),
    "presets": (
        "presets [word]",
        (
            "the workspace's presets (those whose name or image holds the word), with Deploy and "
            "Delete buttons"
        ),
    ),
    "preset": (
        "preset <name> [options]",
        (
            "open the form from a saved preset, the options overriding it; `<name>` alone does "
            "too (`image=` names an image instead)"
        ),
    ),
    "curl": (
        "curl <deployment ID or external ID>",
        (
            "the start request deploybot sent, as a curl command with every secret a shell "
            "variable, only to you"
        ),
    ),
}


def deployment_message(  # noqa: PLR0913 - one keyword per fact on the card, all keyword-only
    *,
    user_id: str,
    image: str,
    machine_id: str,
    machine_price_id: str,
    ports: Sequence[str],
    external_deployment_id: str,
    status: str,
    deployment_id: str | None = None,
    detail: str | None = None,
    buttons: Collection[str] = (),
    notes: Sequence[str] = (),
) -> Message:
    """The channel card of one deployment: headline, facts, an optional detail line and buttons.

    `buttons` names the action ids to show (ids.REFRESH_DEPLOYMENT, ids.REDEPLOY,
    ids.STOP_DEPLOYMENT, ids.COPY_AS_CURL, or ids.ALL_DEPLOYMENT_BUTTONS); they always appear
    in that order. `notes` are lines the guardrails add (who approved, when it stops), as
    `blocks.guardrails` words them.
    """
    emoji, template = STATUSES.get(status, _OTHER_STATUS)
    headline = f"{emoji} " + template.format(
        user=mention(user_id),
        image=code(image, limit=_HEADLINE_IMAGE_LIMIT),
        machine=code(_short_id(machine_id)),
        status=escape(status),
    )
    fields = [
        _field("Image", image),
        _field("Machine", machine_id),
        _field("Price", machine_price_id),
        _field("Ports", ", ".join(ports)),
    ]
    if deployment_id:
        fields.append(_field("Deployment ID", deployment_id))
    if external_deployment_id:
        fields.append(_field("External ID", external_deployment_id))
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": mrkdwn(truncate(headline, SECTION_TEXT_LIMIT)),
            "fields": fields,
        }
    ]
    if detail:
        blocks.append(_context(detail))
    if notes:
        blocks.append(_context("\n".join(notes)))
    # The buttons carry the external id back; without one that fits they could not say which.
    if buttons and 0 < len(external_deployment_id) <= BUTTON_VALUE_LIMIT:
        blocks.append(
            _deployment_actions(
                external_deployment_id, image=image, machine_id=machine_id, shown=buttons
            )
        )
    return {"text": headline, "blocks": blocks}


def thread_reply(
    *,
    emoji: str,
    headline: str,
    next_step: str | None = None,
    facts: Sequence[tuple[str, str]] = (),
) -> Message:
    """A reply in a deployment's thread; `headline`, `next_step` and fact values are mrkdwn.

    The caller formats them and escapes any user data in them (`blocks.text.escape`, `code`);
    fact labels are the bot's own words and are shown in bold.
    """
    text = f"{emoji} {headline}"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": mrkdwn(_section_text(text))}]
    if next_step:
        blocks.append({"type": "section", "text": mrkdwn(_section_text(f"*Next:* {next_step}"))})
    if facts:
        blocks.append(_context(" · ".join(f"*{label}* {value}" for label, value in facts)))
    return {"text": text, "blocks": blocks}


def help_message(
    *,
    command: str,
    extra_subcommands: Sequence[tuple[str, str]] = (),
) -> Message:
    """Ephemeral help: the subcommands and the field formats of the deploy form.

    Each extra subcommand is `(usage after the command, mrkdwn description)`, e.g.
    `("status <id>", "Show a deployment's status.")`; usage is shown as code.
    """
    prefill = f"{command} nginx:latest machine=ID price=ID ports=80,443/https"
    usages = [
        (command, "Open the deploy form."),
        (
            prefill,
            (
                "Open it prefilled. A bare word is a preset's name, else the image; the options "
                "are `image=`, "
                "`machine=`, `price=`, `ports=`, `id=` (external deployment ID), `server=` and "
                "`login=` (private registry)."
            ),
        ),
        (f"{command} help", "Show this message."),
        *((f"{command} {usage}", description) for usage, description in extra_subcommands),
    ]
    commands = "\n".join(f"• {code(usage)} — {description}" for usage, description in usages)
    return {
        "text": f"How to use {escape(command)}",
        "blocks": [
            {"type": "header", "text": plain_text("deploybot help")},
            {
                "type": "section",
                "text": mrkdwn(_section_text(f"*Commands*\n{commands}")),
            },
            {
                "type": "section",
                "text": mrkdwn(_section_text(_FIELD_FORMATS)),
            },
        ],
    }


def notice(*, text: str) -> Message:
    """A short ephemeral answer; `text` is mrkdwn the caller has formatted and escaped."""
    return {"text": text, "blocks": [{"type": "section", "text": mrkdwn(_section_text(text))}]}


def _short_id(value: str) -> str:
    """The first characters of a long id, enough to recognise it in a headline."""
    return truncate(value, _SHORT_ID_LENGTH + 1)


def _section_text(text: str) -> str:
    return truncate(text, SECTION_TEXT_LIMIT)


def _field(label: str, value: str) -> dict[str, Any]:
    """A bold label over the value as code, or over "none"."""
    heading = f"*{label}*\n"
    return mrkdwn(
        heading + (code(value, limit=FIELD_TEXT_LIMIT - len(heading)) if value else "none")
    )


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(_section_text(text))]}


def _deployment_actions(
    external_deployment_id: str, *, image: str, machine_id: str, shown: Collection[str]
) -> dict[str, Any]:
    """Refresh, Redeploy, Stop (confirmed) and Copy as curl, those shown, each carrying the
    external id."""
    confirm_text = (
        f"Hiveon stops {truncate(image, 150)} on machine {_short_id(machine_id)}; "
        "Redeploy can start it again."
    )
    elements = [
        _button("Refresh", ids.REFRESH_DEPLOYMENT, external_deployment_id),
        _button("Redeploy", ids.REDEPLOY, external_deployment_id),
        {
            **_button("Stop", ids.STOP_DEPLOYMENT, external_deployment_id),
            "style": "danger",
            "confirm": {
                "title": plain_text("Stop this deployment?"),
                "text": plain_text(truncate(confirm_text, CONFIRM_TEXT_LIMIT)),
                "confirm": plain_text("Stop"),
                "deny": plain_text("Keep running"),
                "style": "danger",
            },
        },
        _button("Copy as curl", ids.COPY_AS_CURL, external_deployment_id),
    ]
    return {
        "type": "actions",
        "elements": [element for element in elements if element["action_id"] in shown],
    }


def _button(text: str, action_id: str, value: str) -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": plain_text(text), "value": value}
