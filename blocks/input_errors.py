"""What deploybot says about what someone typed: under a deploy form's field (Slack shows these as
plain text), or about the text after the slash command. Each takes the facts and the user's own
text quoted short (`bot.parsing.snippet`); none touches anything else."""

from typing import Final

_IMAGE_EXAMPLE: Final = "e.g. `nginx:latest` or `ghcr.io/org/app:1.2`"
_PASTE_PUB: Final = "paste the whole line from the `.pub` file."
_KEY_TYPES: Final = "use ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521 or an sk- security key."

# --- the form -----------------------------------------------------------------------------------

MACHINE_ID_MISSING: Final = "Enter the machine ID."
MACHINE_PRICE_ID_MISSING: Final = "Enter the machine price ID."
MACHINE_ID_LABEL: Final = "The machine ID"
EXTERNAL_ID_LABEL: Final = "The deployment ID"
SCRIPT_LABEL: Final = "The script"
IMAGE_NAME_LABEL: Final = "The image name"
MACHINE_PRICE_ID_LABEL: Final = "The machine price ID"
BROKEN_UNICODE: Final = "This has characters that can’t be sent (broken Unicode): retype it."
EXTERNAL_ID_MISSING: Final = (
    "Keep the prefilled ID or enter your own: "
    "deploybot uses it to never start the same submission twice."
)
EXTERNAL_ID_SPACES: Final = (
    "The deployment ID has no spaces: keep the prefilled one or enter your own."
)
EXTERNAL_ID_DOTS: Final = "The deployment ID cannot be `.` or `..`: keep the prefilled one."
EXTERNAL_ID_IS_A_DEPLOYMENT_ID: Final = (
    "This is the Hiveon ID of a deployment in this workspace, so it cannot name a new one: "
    "keep the prefilled ID or enter a new one."
)
REGISTRY_SERVER_SPACES: Final = "The registry server has no spaces: e.g. `ghcr.io`."
REGISTRY_LOGIN_SPACES: Final = "The registry login has no spaces."
REGISTRY_LOGIN_ALONE: Final = "Enter the registry password too, or clear the login."
REGISTRY_LOGIN_MISSING: Final = "Enter the registry login too, or clear the password."
REGISTRY_SERVER_ALONE: Final = "Enter the registry login and password too, or clear the server."
PRIVATE_SSH_KEY: Final = (
    "This is a private key: paste the public key (the `.pub` file) and keep the private one secret."
)
SSH_KEY_TYPE_MISSING: Final = (
    "the key type is missing: paste the whole line, e.g. `ssh-ed25519 AAAA… you@host`."
)
SSH_KEY_DATA_INVALID: Final = f"the key data is not valid: {_PASTE_PUB}"
CHANNEL_NOT_ALLOWED: Final = (
    "This workspace's settings do not allow deploying in this channel: pick another one (an "
    "admin chooses which with `/deploy settings`)."
)


def id_has_spaces(label: str) -> str:
    """An ID with a space in it."""
    return f"{label} has no spaces: paste just the ID."


def unsendable(detail: str) -> str:
    """What the request model still refused after every check (should not happen)."""
    return f"This value can’t be sent: {detail}."


def too_long(what: str, length: int, limit: int) -> str:
    """`what` (“The deployment ID”, “The script”, “The image name”) over its limit."""
    return f"{what} is {length} characters long: use at most {limit}."


def external_id_character(odd: str) -> str:
    """An external ID with a character outside letters, digits and `._:-`."""
    return (
        f"The deployment ID has `{odd}` in it: use only letters, digits, `.`, `_`, `:` and `-`, "
        "or keep the prefilled one."
    )


def too_many_ports(count: int, limit: int) -> str:
    """More ports than Hiveon takes."""
    return f"{count} ports listed: use at most {limit}."


def not_a_port(item: str) -> str:
    """An item of the ports field that is not `PORT` or `PORT/PROTOCOL`."""
    return f"`{item}` is not a port: write PORT or PORT/PROTOCOL, e.g. `80` or `443/https`."


def port_out_of_range(port: str, highest: int) -> str:
    """A port number outside 1–65535."""
    return f"Port {port} is out of range: use 1–{highest}."


def unknown_protocol(item: str) -> str:
    """A port whose protocol is neither tcp nor https."""
    return f"`{item}`: the protocol must be tcp or https."


def port_listed_twice(port: int) -> str:
    """The same port listed twice."""
    return f"Port {port} is listed twice: list each port once."


def image_missing() -> str:
    """No image given."""
    return f"Enter an image, {_IMAGE_EXAMPLE}."


def image_has_spaces() -> str:
    """An image reference with a space."""
    return f"An image reference has no spaces: {_IMAGE_EXAMPLE}."


def image_not_lowercase(image: str) -> str:
    """A reference that is valid but for capitals in the repository path."""
    return (
        f"`{image}`: the repository name must be lowercase "
        "(the registry host and the tag may use capitals)."
    )


def not_an_image(image: str) -> str:
    """Text that is no image reference."""
    return f"`{image}` is not a valid image reference: {_IMAGE_EXAMPLE}."


def env_line_unreadable(line: int, quoted: str) -> str:
    """A `.env` line python-dotenv cannot read."""
    return (
        f"Line {line} (`{quoted}`) can’t be read: write KEY=VALUE, quoting values with spaces "
        "and closing every quote."
    )


def env_line_without_equals(line: int, quoted: str) -> str:
    """A `.env` line with a name and no `=`."""
    return f"Line {line} (`{quoted}`) has no `=`: write one KEY=VALUE per line."


def env_name_invalid(line: int, name: str) -> str:
    """A variable name outside `[A-Za-z_][A-Za-z0-9_]*`."""
    return (
        f"Line {line}: `{name}` is not a valid name: use letters, digits and _, not starting "
        "with a digit."
    )


def env_name_repeated(line: int, name: str, first_line: int) -> str:
    """A name set twice."""
    return f"Line {line}: `{name}` is already set on line {first_line}: keep one."


def on_line(number: int, problem: str) -> str:
    """A problem with one line of a multi-line field."""
    return f"Line {number}: {problem}"


def ssh_key_type_unsupported(key_type: str) -> str:
    """A key type deploybot does not send."""
    return f"`{key_type}` is not a supported key type: {_KEY_TYPES}"


def ssh_key_data_missing(key_type: str) -> str:
    """A key type with nothing after it."""
    return f"`{key_type}` has no key data after it: {_PASTE_PUB}"


def ssh_key_type_mismatch(encoded_type: str | None, key_type: str) -> str:
    """Key data of another type than the line names (`None`: a type deploybot does not know)."""
    shown = f"`{encoded_type}`" if encoded_type else "another type"
    return f"the key data is {shown}, not `{key_type}`: paste the line unchanged."


# --- the command's text ------------------------------------------------------------------------

TYPE_IT_IN_THE_FORM: Final = "Type the registry password in the modal, not in the command."


def unclosed_quote(command: str) -> str:
    """The command's text has an open quote."""
    return f"A quote is not closed. Try `{command} help`."


def unknown_option(key: str, *, options: str, command: str) -> str:
    """A `key=value` whose key is not an option."""
    return f"Unknown option `{key}`. Use {options}, e.g. `{command} nginx ports=80`."


def option_twice(key: str) -> str:
    """The same option given twice."""
    return f"`{key}` is given twice: give each option once."


def dash_option(word: str) -> str:
    """A `-flag` style option."""
    return f"Unknown option `{word}`. Options are written key=value, e.g. `ports=80`."


def unknown_subcommand(word: str, *, suggestion: str, command: str) -> str:
    """A first word close to a subcommand's name."""
    return (
        f"Unknown subcommand `{word}`. Did you mean `{command} {suggestion}`? "
        f"Try `{command} help`. To deploy an image by that name, write `image={word}`."
    )


def one_image_only(command: str) -> str:
    """Two bare words: two images."""
    return f"Give one image only. Try `{command} help`."


# --- durations: "Stop after", the settings' stop times, `/deploy freeze` and `/deploy extend` ---

DURATION_EXAMPLES: Final = "e.g. `30m`, `4h`, `2d` or `1h30m`"


def duration_unreadable(text: str) -> str:
    """Text that is no duration."""
    return f"`{text}` is not a duration: write minutes, hours or days, {DURATION_EXAMPLES}."


def duration_too_short(text: str) -> str:
    """A duration under a minute."""
    return f"`{text}` is too short: use at least `1m`."


def duration_too_long(text: str) -> str:
    """A duration over 30 days."""
    return f"`{text}` is too long: use at most `30d`."


def over_the_maximum(text: str, maximum: str) -> str:
    """A stop time longer than the workspace's maximum (`maximum` as `blocks.text.span` says
    it)."""
    return f"`{text}` is longer than this workspace allows: use at most {maximum}."


def default_over_the_maximum(maximum: str) -> str:
    """A workspace default stop time longer than the workspace's maximum."""
    return f"The default cannot be longer than the maximum ({maximum})."


# Under the field holding a secret, when deployments wait for an approval and deploybot has no
# encryption key to keep the secret with meanwhile.
HIDDEN_VALUE_CANNOT_WAIT: Final = (
    "Deployments here wait for an approval, and deploybot has no encryption key to keep this "
    "secret until then (whoever runs it can set DEPLOYBOT_ENCRYPTION_KEY). Leave it out, or ask "
    "an admin to deploy without approval."
)
