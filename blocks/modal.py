"""The deploy modal: one input per vendor field, each saying the format it accepts."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from blocks import ids
from blocks.text import code, mention, mrkdwn, plain_text, short_span, span

# Slack's ceiling for a plain_text_input; also the length of a field Slack lets users type.
MAX_INPUT_LENGTH: Final = 3000
# Ids are UUIDs in practice; 255 matches Slack's own identifier limit and keeps buttons valid.
MAX_ID_LENGTH: Final = 255

REQUIRED_INPUTS: Final = frozenset(
    {ids.MACHINE_ID, ids.MACHINE_PRICE_ID, ids.IMAGE, ids.EXTERNAL_DEPLOYMENT_ID}
)
# A password typed once is sent once; a redeploy asks for it again.
NEVER_PREFILLED: Final = frozenset({ids.DOCKER_PASSWORD})
# Inputs whose typed text Slack keeps across a refill: the rest get a new action_id each time a
# preset refills the form, so that the values the bot puts in are the ones shown.
_KEPT_ACROSS_REFILLS: Final = frozenset({ids.DOCKER_PASSWORD})
PRESET_NAME_LENGTH: Final = 32
_OPTION_TEXT_LIMIT: Final = 75


@dataclass(frozen=True, slots=True)
class _Input:
    label: str
    placeholder: str
    hint: str
    multiline: bool = False
    max_length: int = MAX_INPUT_LENGTH


_INPUTS: Final[Mapping[str, _Input]] = {
    ids.MACHINE_ID: _Input(
        label="Machine ID",
        placeholder="24d71100-7532-11ef-bd52-3a629d609f79",
        hint="The Hiveon machine that runs the container.",
        max_length=MAX_ID_LENGTH,
    ),
    ids.MACHINE_PRICE_ID: _Input(
        label="Machine price ID",
        placeholder="3b2772f0-7533-11ef-930e-3a629d609f79",
        hint="The price of that machine to deploy under.",
        max_length=MAX_ID_LENGTH,
    ),
    ids.IMAGE: _Input(
        label="Image",
        placeholder="nginx:latest",
        hint="A container image reference, such as nginx:latest or ghcr.io/acme/api:1.4. "
        "Private images need the registry login below.",
    ),
    ids.PORTS: _Input(
        label="Ports",
        placeholder="80, 443/https",
        hint="Comma, space or newline separated; PORT or PORT/PROTOCOL, protocol tcp (default) "
        "or https; 1–65535; up to 100.",
    ),
    ids.ENVIRONMENT_VARIABLES: _Input(
        label="Environment variables",
        placeholder="DB_HOST=db.internal\nexport MODE=prod",
        hint=".env syntax: one KEY=VALUE per line; quotes, export and # comments work. "
        "Secret values (names with PASS, TOKEN, KEY, SECRET, DSN, AUTH…, URL passwords) are "
        "masked in messages.",
        multiline=True,
    ),
    ids.SSH_PUB_KEYS: _Input(
        label="SSH public keys",
        placeholder="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI… alice@laptop",
        hint="One OpenSSH public key per line: ssh-ed25519, ssh-rsa, ecdsa-sha2-* or sk-* keys.",
        multiline=True,
    ),
    ids.STARTUP_SCRIPT: _Input(
        label="Startup script",
        placeholder="#!/bin/sh\napt-get update && apt-get install -y curl",
        hint="Runs when the container starts. Slack limits this field to 3,000 characters; "
        "for a longer script, fetch it from a URL: curl -fsSL https://example.com/setup.sh | sh",
        multiline=True,
    ),
    ids.DOCKER_SERVER: _Input(
        label="Registry server",
        placeholder="registry.example.com",
        hint="Leave empty for Docker Hub.",
        max_length=MAX_ID_LENGTH,
    ),
    ids.DOCKER_LOGIN: _Input(
        label="Registry login",
        placeholder="deploy-robot",
        hint="The registry user name; it goes with the password below.",
        max_length=MAX_ID_LENGTH,
    ),
    ids.DOCKER_PASSWORD: _Input(
        label="Registry password",
        placeholder="Password or access token",
        hint="Sent only to Hiveon; never shown, and kept (encrypted) only while the deployment "
        "waits for an approval.",
    ),
    ids.EXTERNAL_DEPLOYMENT_ID: _Input(
        label="External deployment ID",
        placeholder="Your own ID for this deployment",
        hint="Prefilled with a fresh ID. deploybot uses it to never start the same submission "
        "twice; keep it unless you track deployments by your own ID.",
        max_length=MAX_ID_LENGTH,
    ),
    ids.METADATA: _Input(
        label="Metadata",
        placeholder="team=payments\nticket=OPS-1234",
        hint="Stored with the deployment on Hiveon. Same syntax as environment variables: "
        "one KEY=VALUE per line; secret-looking values are masked in messages.",
        multiline=True,
    ),
}

# Headings that group the optional inputs; each goes right before the input it names.
_HEADINGS: Final[Mapping[str, str]] = {
    ids.DOCKER_SERVER: "*Private registry (optional)*\nOnly for images that need a login.",
    ids.EXTERNAL_DEPLOYMENT_ID: "*Tracking*\nHow you and deploybot find this deployment later.",
}


def deploy_modal(  # noqa: PLR0913 — one keyword per thing the form shows, all keyword-only
    *,
    external_deployment_id: str,
    private_metadata: str,
    prefill: Mapping[str, str] | None = None,
    masked: Sequence[str] = (),
    script_withheld_from: str | None = None,
    offer_presets: bool = False,
    preset: str | None = None,
    ask_channel: bool = False,
    channel: str | None = None,
    revision: int = 0,
    default_stop_after_s: int | None = None,
    max_stop_after_s: int | None = None,
) -> dict[str, Any]:
    """The deploy form as a modal, prefilled by block id except the external id and password.

    `masked` names the variables whose stored values held a secret, and `script_withheld_from`
    whose startup script was left out: a note at the top says what to type again, and why
    (from a deployment, or from the preset `preset` when one filled the form). "Stop after"
    says the workspace's default run (when left empty) and its longest.

    `offer_presets` starts the form with the workspace's presets to pick from (an external
    select, `preset` chosen); `ask_channel` asks where the message and thread go (`channel`
    chosen), for a form opened outside a channel. `revision` counts the refills from a preset:
    each gives the inputs it fills new action_ids, so Slack shows the new values.
    """
    values = {
        block_id: value
        for block_id, value in (prefill or {}).items()
        if block_id not in NEVER_PREFILLED
    }
    # The idempotency key comes only from its argument: a prefill copied from an old deployment
    # must not reuse the old key, or the vendor would return the old deployment.
    values[ids.EXTERNAL_DEPLOYMENT_ID] = external_deployment_id
    initial = {
        block_id: value
        for block_id in ids.INPUT_BLOCKS
        if (value := _initial_value(block_id, values.get(block_id))) is not None
    }
    # Slack allows one focused element: the first one left for the user to fill.
    focused = next((block_id for block_id in ids.INPUT_BLOCKS if block_id not in initial), None)
    blocks: list[dict[str, Any]] = []
    note = _withheld_note(
        masked=masked,
        script_withheld_from=script_withheld_from,
        password=ids.DOCKER_LOGIN in initial,
        from_preset=preset is not None,
    )
    if note:
        blocks.append({"type": "context", "elements": [mrkdwn(note)]})
    if offer_presets:
        blocks.append(_preset_select(preset))
    if ask_channel:
        blocks.append(_channel_select(channel))
    for block_id in ids.INPUT_BLOCKS:
        if heading := _HEADINGS.get(block_id):
            blocks += [{"type": "divider"}, {"type": "section", "text": mrkdwn(heading)}]
        blocks.append(
            _input_block(
                block_id,
                initial_value=initial.get(block_id),
                focus=block_id == focused,
                revision=revision,
            )
        )
    blocks += _stop_after_blocks(
        values.get(ids.STOP_AFTER), default_s=default_stop_after_s, max_s=max_stop_after_s
    )
    blocks.append(_preset_name_input())
    return {
        "type": "modal",
        "callback_id": ids.DEPLOY_MODAL,
        "title": plain_text("Deploy to Hiveon"),
        "submit": plain_text("Deploy"),
        "close": plain_text("Cancel"),
        "private_metadata": private_metadata,
        "blocks": blocks,
    }


def _withheld_note(
    *, masked: Sequence[str], script_withheld_from: str | None, password: bool, from_preset: bool
) -> str | None:
    """What the prefilled form leaves empty on purpose, and why; None when nothing is."""
    parts = []
    if script_withheld_from:
        whose = "saved this preset" if from_preset else "started this deployment"
        parts.append(
            f"the startup script: only {mention(script_withheld_from)}, who {whose}, gets it "
            "back, as scripts often hold tokens"
        )
    if masked:
        names = ", ".join(code(name) for name in masked[:_MAX_NAMES_SHOWN])
        more = len(masked) - _MAX_NAMES_SHOWN
        names += f" and {more} more" if more > 0 else ""
        parts.append(f"the secret values of {names}: deploybot never keeps them")
    if password:
        parts.append("the registry password, which is sent once and never kept")
    if not parts:
        return None
    return "🔒 Left empty: " + "; ".join(parts) + ". Type them again if this deployment needs them."


_MAX_NAMES_SHOWN: Final = 10
_STOP_AFTER_LENGTH: Final = 40


def _stop_after_blocks(
    prefill: str | None, *, default_s: int | None, max_s: int | None
) -> list[dict[str, Any]]:
    """The "Stop after" input, under a heading: what empty means here, and the longest run."""
    empty = f"stops after {span(default_s)}" if default_s else "runs until someone stops it"
    longest = f" At most {span(max_s)} in this workspace." if max_s else ""
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ids.STOP_AFTER,
        "placeholder": plain_text(f"e.g. {short_span(default_s)}" if default_s else "e.g. 4h"),
        "max_length": _STOP_AFTER_LENGTH,
    }
    if prefill and len(prefill) <= _STOP_AFTER_LENGTH:
        element["initial_value"] = prefill
    return [
        {"type": "divider"},
        {
            "type": "section",
            "text": mrkdwn("*Running time*\nGPU machines cost money every hour they run."),
        },
        {
            "type": "input",
            "block_id": ids.STOP_AFTER,
            "optional": True,
            "label": plain_text("Stop after"),
            "hint": plain_text(
                "30m, 4h, 2d or 1h30m (1 minute to 30 days): deploybot stops the deployment this "
                f"long after it starts, and reminds you first. Empty: it {empty}.{longest}"
            ),
            "element": element,
        },
    ]


def _initial_value(block_id: str, value: str | None) -> str | None:
    """The value to show, or None when empty or too long for the input."""
    # A clipped value would deploy something else; an empty field makes the user look again.
    if not value or len(value) > _INPUTS[block_id].max_length:
        return None
    return value


def input_label(block_id: str) -> str:
    """The label of a vendor field's input, as the form shows it."""
    return _INPUTS[block_id].label


def input_action_id(block_id: str, revision: int) -> str:
    """The action_id of a vendor field's input after `revision` refills from presets."""
    if revision == 0 or block_id in _KEPT_ACROSS_REFILLS:
        return block_id
    return f"{block_id}.{revision}"


def _input_block(
    block_id: str, *, initial_value: str | None, focus: bool, revision: int = 0
) -> dict[str, Any]:
    """One `input` block whose block_id (and, until a refill, action_id) is the vendor field
    name."""
    spec = _INPUTS[block_id]
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": input_action_id(block_id, revision),
        "placeholder": plain_text(spec.placeholder),
        "max_length": spec.max_length,
    }
    if spec.multiline:
        element["multiline"] = True
    if initial_value is not None:
        element["initial_value"] = initial_value
    if focus:
        element["focus_on_load"] = True
    return {
        "type": "input",
        "block_id": block_id,
        "optional": block_id not in REQUIRED_INPUTS,
        "label": plain_text(spec.label),
        "hint": plain_text(spec.hint),
        "element": element,
    }


def _preset_select(chosen: str | None) -> dict[str, Any]:
    """The workspace's presets, loaded as you type (Slack asks the bot: `block_suggestion`);
    picking one refills the form at once."""
    element: dict[str, Any] = {
        "type": "external_select",
        "action_id": ids.PRESET,
        "placeholder": plain_text("Start from a preset"),
        "min_query_length": 0,
    }
    if chosen:
        element["initial_option"] = {
            "text": plain_text(chosen[:_OPTION_TEXT_LIMIT]),
            "value": chosen,
        }
    return {
        "type": "input",
        "block_id": ids.PRESET,
        "optional": True,
        "dispatch_action": True,
        "label": plain_text("Preset"),
        "hint": plain_text(
            "Fills the form from a preset saved in this workspace; what you typed in fields it "
            "leaves empty stays."
        ),
        "element": element,
    }


def _channel_select(channel: str | None) -> dict[str, Any]:
    """Where the deployment's message and thread go, for a form opened outside a channel."""
    element: dict[str, Any] = {
        "type": "conversations_select",
        "action_id": ids.CHANNEL,
        "placeholder": plain_text("Your DM with deploybot"),
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
        # Slack then gives the submission this channel's response_url: the fallback for a
        # private channel the bot is not in.
        "response_url_enabled": True,
    }
    if channel:
        element["initial_conversation"] = channel
    return {
        "type": "input",
        "block_id": ids.CHANNEL,
        "optional": True,
        "label": plain_text("Channel"),
        "hint": plain_text(
            "Where the deployment's message and its thread go; left empty, your DM with deploybot."
        ),
        "element": element,
    }


def _preset_name_input() -> dict[str, Any]:
    """ "Save as preset": a name to keep this form under, once the deployment starts."""
    return {
        "type": "input",
        "block_id": ids.PRESET_NAME,
        "optional": True,
        "label": plain_text("Save as preset"),
        "hint": plain_text(
            "Once the deployment starts, this form is saved for the whole workspace under this "
            "name (a–z, 0–9 and -): /deploy NAME opens it again. Everything but the registry "
            "password and secret values is saved; the same name again replaces your preset."
        ),
        "element": {
            "type": "plain_text_input",
            "action_id": ids.PRESET_NAME,
            "placeholder": plain_text("e.g. api-prod"),
            "max_length": PRESET_NAME_LENGTH,
        },
    }
