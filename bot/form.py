"""Reads the deploy modal's submitted values and the `/deploy` command text; no I/O."""

from __future__ import annotations

import base64
import difflib
import io
import re
import shlex
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from dotenv.parser import parse_stream
from pydantic import SecretStr, ValidationError

from blocks import ids
from bot.deployment import (
    DOCKER_HUB_SERVER,
    MAX_PLAIN_ID,
    MAX_PORTS,
    ContainerConfig,
    DockerAuth,
    PortMapping,
    PortProtocol,
    StartDeploymentRequest,
    format_ports,
    is_masked,
    is_plain_id,
)

T = TypeVar("T")

FieldErrors = dict[str, str]
"""Block id -> the message Slack shows under that modal field."""

EXTERNAL_ID_IS_A_DEPLOYMENT_ID: Final = (
    "This is the Hiveon ID of a deployment in this workspace, so it cannot name a new one: "
    "keep the prefilled ID or enter a new one."
)

MAX_STARTUP_SCRIPT: Final = 3000
MAX_EXTERNAL_ID: Final = MAX_PLAIN_ID
MAX_IMAGE_NAME: Final = 255
SUBCOMMANDS: Final = ("status", "stop", "history", "api-key", "settings")
SSH_KEY_TYPES: Final = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)

# Slack shows one message per field; a long list of problems would bury the first ones.
_MAX_PROBLEMS_SHOWN: Final = 3
_SNIPPET_LENGTH: Final = 40

# The same line breaks python-dotenv counts, so line numbers agree between the fields.
_NEWLINE: Final = re.compile(r"\r\n|\n|\r")
_WHITESPACE: Final = re.compile(r"\s")
# Values written without quotes when prefilled; anything else is double-quoted and escaped.
_BARE_VALUE: Final = re.compile(r"[A-Za-z0-9_./:@+,-]*")
_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_PORT_ITEM: Final = re.compile(r"(?P<port>[0-9]+)(?:/(?P<protocol>.*))?", re.ASCII | re.DOTALL)
_SSH_LENGTH: Final = struct.Struct(">I")  # the uint32 before each string in an SSH key blob
_MIN_KEY_FIELDS: Final = 2  # the key type, then at least one field of key material
_HIGHEST_PORT: Final = 65535
_PORT_SEPARATORS: Final = re.compile(r"[,\s]+")
_PROTOCOLS: Final = {
    **{protocol.name.lower(): protocol for protocol in PortProtocol},
    **{protocol.value.lower(): protocol for protocol in PortProtocol},
}

# The reference grammar of distribution/reference (what `docker pull` accepts), ASCII only.
_ALNUM = r"[a-z0-9]+"
_PATH_COMPONENT = rf"{_ALNUM}(?:(?:[._]|__|-+){_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_NAME = rf"(?:{_HOST}(?::[0-9]+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = rf"(?P<name>{_NAME})(?::{_TAG})?(?:@{_DIGEST})?"
_IMAGE_REFERENCE: Final = re.compile(_REFERENCE, re.ASCII)
# Matches what differs from a valid reference only by capitals in the repository path.
_IMAGE_REFERENCE_ANY_CASE: Final = re.compile(_REFERENCE, re.ASCII | re.IGNORECASE)
# Longer than any valid reference (name, tag and a sha512 digest): not worth matching.
_MAX_IMAGE_REFERENCE: Final = 1024

_HELP_WORDS: Final = frozenset({"help", "-h", "--help", "?"})
_IMAGE_CHARACTERS: Final = frozenset(":/@.")
_OPTIONS: Final = {
    "machine": ids.MACHINE_ID,
    "machine_id": ids.MACHINE_ID,
    "price": ids.MACHINE_PRICE_ID,
    "price_id": ids.MACHINE_PRICE_ID,
    "machine_price_id": ids.MACHINE_PRICE_ID,
    "ports": ids.PORTS,
    "port": ids.PORTS,
    "image": ids.IMAGE,
    "id": ids.EXTERNAL_DEPLOYMENT_ID,
    "external_id": ids.EXTERNAL_DEPLOYMENT_ID,
    "external_deployment_id": ids.EXTERNAL_DEPLOYMENT_ID,
    "server": ids.DOCKER_SERVER,
    "docker_server": ids.DOCKER_SERVER,
    "login": ids.DOCKER_LOGIN,
    "docker_login": ids.DOCKER_LOGIN,
}
_SHOWN_OPTIONS: Final = "machine, price, image, ports, id, server, login"
_SECRET_OPTIONS: Final = frozenset({"password", "docker_password"})
# Slack clients may turn typed quotes into typographic ones; shlex only knows ASCII quotes.
_TYPOGRAPHIC_QUOTES: Final = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})

# Where pydantic's error locations land when a name in them is not itself a block id.
_LOCATION_BLOCKS: Final = {
    **{block_id: block_id for block_id in ids.INPUT_BLOCKS},
    "server": ids.DOCKER_SERVER,
    "login": ids.DOCKER_LOGIN,
    "password": ids.DOCKER_PASSWORD,
    "docker_auth": ids.DOCKER_LOGIN,
    "container_config": ids.IMAGE,
}

_Parsed = tuple[T, list[str]]


@dataclass(frozen=True)
class OpenModal:
    """Open the deploy modal with these fields filled in (block id -> text)."""

    prefill: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ShowHelp:
    """Show the command's help."""


@dataclass(frozen=True)
class Subcommand:
    """Run a subcommand such as `status` or `stop` with the words after it."""

    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unusable:
    """The text cannot be used; tell the user why, privately."""

    message: str


Command = OpenModal | ShowHelp | Subcommand | Unusable


def parse_submission(
    values: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> StartDeploymentRequest | FieldErrors:
    """Turn the modal's `view.state.values` into a start request, or every field's problem."""
    text = _field_texts(values)
    errors = _Errors()
    machine_id = errors.take(
        ids.MACHINE_ID,
        _token(text[ids.MACHINE_ID], missing="Enter the machine ID.", label="The machine ID"),
    )
    machine_price_id = errors.take(
        ids.MACHINE_PRICE_ID,
        _token(
            text[ids.MACHINE_PRICE_ID],
            missing="Enter the machine price ID.",
            label="The machine price ID",
        ),
    )
    image = errors.take(ids.IMAGE, _image(text[ids.IMAGE]))
    external_id = errors.take(
        ids.EXTERNAL_DEPLOYMENT_ID, _external_id(text[ids.EXTERNAL_DEPLOYMENT_ID])
    )
    ports = errors.take(ids.PORTS, _ports(text[ids.PORTS]))
    environment = errors.take(ids.ENVIRONMENT_VARIABLES, _dotenv(text[ids.ENVIRONMENT_VARIABLES]))
    metadata = errors.take(ids.METADATA, _dotenv(text[ids.METADATA]))
    ssh_keys = errors.take(ids.SSH_PUB_KEYS, _ssh_keys(text[ids.SSH_PUB_KEYS]))
    startup_script = errors.take(ids.STARTUP_SCRIPT, _startup_script(text[ids.STARTUP_SCRIPT]))
    registry_login = _registry_login(
        text[ids.DOCKER_SERVER], text[ids.DOCKER_LOGIN], text[ids.DOCKER_PASSWORD], errors
    )
    for block_id, block_text in text.items():
        if not _is_sendable(block_text):
            errors.replace(
                block_id, "This has characters that can’t be sent (broken Unicode): retype it."
            )
    if errors:
        return errors.field_errors()
    try:
        docker_auth = None
        if registry_login is not None:
            server, login, password = registry_login
            docker_auth = DockerAuth(server=server, login=login, password=SecretStr(password))
        return StartDeploymentRequest(
            machine_id=machine_id,
            machine_price_id=machine_price_id,
            external_deployment_id=external_id,
            ssh_pub_keys=ssh_keys,
            container_config=ContainerConfig(
                image=image,
                docker_auth=docker_auth,
                ports=ports,
                startup_script=startup_script,
                environment_variables=environment,
            ),
            metadata=metadata,
        )
    except ValidationError as exc:
        # The checks above should leave nothing for pydantic; if they do, it is still a field error.
        for error in exc.errors(include_input=False, include_url=False):
            errors.add(
                _block_for_location(error["loc"]), f"This value can’t be sent: {error['msg']}."
            )
        return errors.field_errors()


def parse_command_text(text: str, *, command: str = "/deploy") -> Command:
    """Read what follows the slash command: help, a subcommand, or what to prefill in the modal."""
    try:
        words = shlex.split(text.translate(_TYPOGRAPHIC_QUOTES))
    except ValueError:
        return Unusable(f"A quote is not closed. Try `{command} help`.")
    if not words:
        return OpenModal({})
    first = words[0].lower()
    if first in _HELP_WORDS:
        return ShowHelp()
    if first in SUBCOMMANDS:
        return Subcommand(first, tuple(words[1:]))
    prefill: dict[str, str] = {}
    for position, word in enumerate(words):
        key, equals, value = word.partition("=")
        if equals:
            problem = _command_option(key, value, prefill, command)
        else:
            problem = _command_image(word, position=position, prefill=prefill, command=command)
        if problem is not None:
            return Unusable(problem)
    return OpenModal(prefill)


@dataclass(frozen=True)
class Prefill:
    """The deploy modal's text by block id, and what a stored request could not give back.

    `masked` names the environment variables and metadata whose values held a secret: deploybot
    stores those masked, so nobody gets them back. `script_withheld_from` is whoever started the
    deployment when their startup script was left out for someone else (scripts hold tokens).
    """

    fields: dict[str, str] = field(default_factory=dict)
    masked: tuple[str, ...] = ()
    script_withheld_from: str | None = None


def prefill_from(request: Mapping[str, Any], *, requester: str, viewer: str) -> Prefill:
    """The modal's text for a stored (redacted) request: "same again" and Redeploy.

    Secrets are not prefilled: the registry password never is, env/metadata values stored
    masked are left out, so the user types them again, and the startup script only for the
    requester. The external ID never is: each modal gets a fresh idempotency key.
    """
    config = request.get("container_config") or {}
    auth = config.get("docker_auth") or {}
    ports = [PortMapping.model_validate(port) for port in config.get("ports") or []]
    own = requester == viewer
    environment, masked_environment = _dotenv_text(config.get("environment_variables") or {})
    metadata, masked_metadata = _dotenv_text(request.get("metadata") or {})
    script = config.get("startup_script")
    texts = {
        ids.MACHINE_ID: request.get("machine_id"),
        ids.MACHINE_PRICE_ID: request.get("machine_price_id"),
        ids.IMAGE: config.get("image"),
        ids.PORTS: ", ".join(format_ports(ports)),
        ids.ENVIRONMENT_VARIABLES: environment,
        ids.SSH_PUB_KEYS: "\n".join(request.get("ssh_pub_keys") or []),
        ids.STARTUP_SCRIPT: script if own else None,
        ids.DOCKER_SERVER: auth.get("server") if auth.get("server") != DOCKER_HUB_SERVER else "",
        ids.DOCKER_LOGIN: auth.get("login"),
        ids.METADATA: metadata,
    }
    return Prefill(
        fields={block: str(text) for block, text in texts.items() if text},
        masked=(*masked_environment, *masked_metadata),
        script_withheld_from=requester if script and not own else None,
    )


def _dotenv_text(values: Mapping[str, str]) -> tuple[str, list[str]]:
    """`KEY=value` lines that the form's .env parser reads back to the same values, and the
    names left out because their stored value had a secret masked out of it."""
    lines = []
    masked = []
    for name, value in values.items():
        if is_masked(value):
            masked.append(name)
        elif _BARE_VALUE.fullmatch(value):
            lines.append(f"{name}={value}")
        else:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            lines.append(f'{name}="{escaped}"')
    return "\n".join(lines), masked


class _Errors:
    """The problems found so far, by block id, in the order found."""

    def __init__(self) -> None:
        self._by_block: dict[str, list[str]] = {}

    def __bool__(self) -> bool:
        return bool(self._by_block)

    def add(self, block_id: str, problem: str) -> None:
        self._by_block.setdefault(block_id, []).append(problem)

    def replace(self, block_id: str, problem: str) -> None:
        self._by_block[block_id] = [problem]

    def take(self, block_id: str, parsed: _Parsed[T]) -> T:
        value, problems = parsed
        for problem in problems:
            self.add(block_id, problem)
        return value

    def field_errors(self) -> FieldErrors:
        return {block_id: _summary(problems) for block_id, problems in self._by_block.items()}


def _summary(problems: list[str]) -> str:
    shown = " ".join(problems[:_MAX_PROBLEMS_SHOWN])
    hidden = len(problems) - _MAX_PROBLEMS_SHOWN
    return f"{shown} (+{hidden} more)" if hidden > 0 else shown


def _field_texts(values: object) -> dict[str, str]:
    """Each input's text; anything missing or malformed reads as empty, since Slack omits blanks."""
    texts = dict.fromkeys(ids.INPUT_BLOCKS, "")
    if not isinstance(values, Mapping):
        return texts
    for block_id in ids.INPUT_BLOCKS:
        block = values.get(block_id)
        element = block.get(block_id) if isinstance(block, Mapping) else None
        value = element.get("value") if isinstance(element, Mapping) else None
        if isinstance(value, str):
            texts[block_id] = value
    return texts


def _is_sendable(text: str) -> bool:
    """False for text with lone surrogates, which JSON from Slack can carry but UTF-8 cannot."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _snippet(text: str) -> str:
    """The first line of `text`, short enough to quote in a message."""
    first_line = _NEWLINE.split(text.strip(), maxsplit=1)[0]
    if len(first_line) <= _SNIPPET_LENGTH:
        return first_line
    return first_line[: _SNIPPET_LENGTH - 1] + "…"


def _token(text: str, *, missing: str, label: str) -> _Parsed[str]:
    value = text.strip()
    if not value:
        return value, [missing]
    if _WHITESPACE.search(value):
        return value, [f"{label} has no spaces: paste just the ID."]
    return value, []


def _external_id(text: str) -> _Parsed[str]:
    value = text.strip()
    if not value:
        missing = (
            "Keep the prefilled ID or enter your own: "
            "deploybot uses it to never start the same submission twice."
        )
        return value, [missing]
    if _WHITESPACE.search(value):
        return value, ["The deployment ID has no spaces: keep the prefilled one or enter your own."]
    if len(value) > MAX_EXTERNAL_ID:
        return value, [
            f"The deployment ID is {len(value)} characters long: use at most {MAX_EXTERNAL_ID}."
        ]
    if not is_plain_id(value):
        odd = next(char for char in value if not is_plain_id(char))
        allowed = "use only letters, digits, `.`, `_`, `:` and `-`, or keep the prefilled one."
        return value, [f"The deployment ID has `{odd}` in it: {allowed}"]
    if value in {".", ".."}:
        # No URL path can address these, so the deployment could never be looked up again.
        return value, ["The deployment ID cannot be `.` or `..`: keep the prefilled one."]
    return value, []


def _image(text: str) -> _Parsed[str]:
    value = text.strip()
    example = "e.g. `nginx:latest` or `ghcr.io/org/app:1.2`"
    if not value:
        return value, [f"Enter an image, {example}."]
    if _WHITESPACE.search(value):
        return value, [f"An image reference has no spaces: {example}."]
    match = _IMAGE_REFERENCE.fullmatch(value) if len(value) <= _MAX_IMAGE_REFERENCE else None
    if match is None:
        if len(value) <= _MAX_IMAGE_REFERENCE and _IMAGE_REFERENCE_ANY_CASE.fullmatch(value):
            lowercase = (
                f"`{_snippet(value)}`: the repository name must be lowercase "
                "(the registry host and the tag may use capitals)."
            )
            return value, [lowercase]
        return value, [f"`{_snippet(value)}` is not a valid image reference: {example}."]
    name_length = len(match["name"])
    if name_length > MAX_IMAGE_NAME:
        return value, [
            f"The image name is {name_length} characters long: use at most {MAX_IMAGE_NAME}."
        ]
    return value, []


def _ports(text: str) -> _Parsed[tuple[PortMapping, ...]]:
    items = [item for item in _PORT_SEPARATORS.split(text) if item]
    problems: list[str] = []
    if len(items) > MAX_PORTS:
        problems.append(f"{len(items)} ports listed: use at most {MAX_PORTS}.")
    ports: list[PortMapping] = []
    seen: set[int] = set()
    repeated: set[int] = set()
    for item in items:
        match = _PORT_ITEM.fullmatch(item)
        if match is None:
            problems.append(
                f"`{_snippet(item)}` is not a port: write PORT or PORT/PROTOCOL, "
                "e.g. `80` or `443/https`."
            )
            continue
        digits = match["port"].lstrip("0")
        # Bounded before int(): Python refuses to convert thousands of digits.
        number = int(digits) if 0 < len(digits) <= len(str(_HIGHEST_PORT)) else None
        if number is None or number > _HIGHEST_PORT:
            problems.append(
                f"Port {_snippet(match['port'])} is out of range: use 1–{_HIGHEST_PORT}."
            )
            continue
        protocol = PortProtocol.TCP
        if match["protocol"] is not None:
            found = _PROTOCOLS.get(match["protocol"].lower())
            if found is None:
                problems.append(f"`{_snippet(item)}`: the protocol must be tcp or https.")
                continue
            protocol = found
        if number in seen:
            if number not in repeated:
                problems.append(f"Port {number} is listed twice: list each port once.")
            repeated.add(number)
            continue
        seen.add(number)
        ports.append(PortMapping(host_port=number, protocol=protocol))
    return tuple(ports), problems


def _line_number(original_string: str, first_line: int) -> int:
    """The line a binding's text starts on: dotenv's line is where its leading blank lines begin."""
    leading = original_string[: len(original_string) - len(original_string.lstrip())]
    return first_line + len(_NEWLINE.findall(leading))


def _dotenv(text: str) -> _Parsed[dict[str, str]]:
    values: dict[str, str] = {}
    first_lines: dict[str, int] = {}
    problems: list[str] = []
    for binding in parse_stream(io.StringIO(text)):
        line = _line_number(binding.original.string, binding.original.line)
        quoted = _snippet(binding.original.string)
        if binding.error or (
            binding.key is not None and binding.value is None and "=" in binding.original.string
        ):
            problems.append(
                f"Line {line} (`{quoted}`) can’t be read: write KEY=VALUE, "
                "quoting values with spaces and closing every quote."
            )
        elif binding.key is None:
            continue  # a comment or blank lines
        elif binding.value is None:
            problems.append(f"Line {line} (`{quoted}`) has no `=`: write one KEY=VALUE per line.")
        elif not _ENV_NAME.fullmatch(binding.key):
            problems.append(
                f"Line {line}: `{_snippet(binding.key)}` is not a valid name: "
                "use letters, digits and _, not starting with a digit."
            )
        elif binding.key in values:
            problems.append(
                f"Line {line}: `{_snippet(binding.key)}` is already set "
                f"on line {first_lines[binding.key]}: keep one."
            )
        else:
            values[binding.key] = binding.value
            first_lines[binding.key] = line
    return values, problems


def _ssh_keys(text: str) -> _Parsed[tuple[str, ...]]:
    if "PRIVATE KEY-----" in text:
        # Never echo any of it back: it is a secret pasted by mistake.
        private = (
            "This is a private key: paste the public key (the `.pub` file) "
            "and keep the private one secret."
        )
        return (), [private]
    keys: list[str] = []
    problems: list[str] = []
    for number, line in enumerate(_NEWLINE.split(text), start=1):
        if not line.strip():
            continue
        key, problem = _ssh_key(line)
        if problem is not None:
            problems.append(f"Line {number}: {problem}")
        else:
            keys.append(key)
    return tuple(keys), problems


def _ssh_key(line: str) -> tuple[str, str | None]:
    """One key normalised to `type body[ comment]`, or what is wrong with it."""
    key_type, *rest = line.strip().split(maxsplit=2)
    accepted = "use ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521 or an sk- security key."
    if key_type not in SSH_KEY_TYPES:
        if key_type.startswith("AAAA"):
            return "", (
                "the key type is missing: paste the whole line, e.g. `ssh-ed25519 AAAA… you@host`."
            )
        return "", f"`{_snippet(key_type)}` is not a supported key type: {accepted}"
    if not rest:
        return (
            "",
            f"`{key_type}` has no key data after it: paste the whole line from the `.pub` file.",
        )
    body, *comment = rest
    encoded_type = _encoded_key_type(body)
    if encoded_type is None:
        return "", "the key data is not valid: paste the whole line from the `.pub` file."
    if encoded_type != key_type:
        shown = f"`{encoded_type}`" if encoded_type in SSH_KEY_TYPES else "another type"
        return "", f"the key data is {shown}, not `{key_type}`: paste the line unchanged."
    return " ".join([key_type, body, *comment]), None


def _encoded_key_type(body: str) -> str | None:
    """The key type named inside a well-formed base64 body, else None."""
    # Every supported key blob is a run of SSH strings (uint32 length, then bytes); one that does
    # not split exactly into them was truncated or mangled in the paste.
    try:
        data = base64.b64decode(body, validate=True)
    except ValueError:  # binascii.Error, and non-ASCII text
        return None
    fields: list[bytes] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < _SSH_LENGTH.size:
            return None
        (length,) = _SSH_LENGTH.unpack_from(data, offset)
        offset += _SSH_LENGTH.size
        fields.append(data[offset : offset + length])
        offset += length
    if offset != len(data) or len(fields) < _MIN_KEY_FIELDS:
        return None
    return fields[0].decode("ascii", errors="replace")


def _startup_script(text: str) -> _Parsed[str | None]:
    if not text.strip():
        return None, []
    if len(text) > MAX_STARTUP_SCRIPT:
        return text, [
            f"The script is {len(text)} characters long: use at most {MAX_STARTUP_SCRIPT}."
        ]
    return text, []


def _registry_login(
    server_text: str, login_text: str, password: str, errors: _Errors
) -> tuple[str, str, str] | None:
    """Server, login and password for `docker_auth`, or None when the fields are empty or wrong."""
    server = server_text.strip()
    login = login_text.strip()
    # The password is sent exactly as typed; only an all-blank one counts as empty.
    has_password = bool(password.strip())
    problems: list[tuple[str, str]] = []
    if _WHITESPACE.search(server):
        problems.append((ids.DOCKER_SERVER, "The registry server has no spaces: e.g. `ghcr.io`."))
    if _WHITESPACE.search(login):
        problems.append((ids.DOCKER_LOGIN, "The registry login has no spaces."))
    if login and not has_password:
        problems.append(
            (ids.DOCKER_PASSWORD, "Enter the registry password too, or clear the login.")
        )
    if has_password and not login:
        problems.append((ids.DOCKER_LOGIN, "Enter the registry login too, or clear the password."))
    if server and not login and not has_password:
        problems.append(
            (ids.DOCKER_LOGIN, "Enter the registry login and password too, or clear the server.")
        )
    for block_id, problem in problems:
        errors.add(block_id, problem)
    if problems or not login:
        return None
    return server or DOCKER_HUB_SERVER, login, password


def _block_for_location(location: tuple[int | str, ...]) -> str:
    """The modal field a pydantic error location points at, innermost name first."""
    for part in reversed(location):
        if isinstance(part, str) and part in _LOCATION_BLOCKS:
            return _LOCATION_BLOCKS[part]
    return ids.INPUT_BLOCKS[0]


def _command_option(key: str, value: str, prefill: dict[str, str], command: str) -> str | None:
    """Record one `key=value` word; the problem with it, if any."""
    name = key.lower().replace("-", "_")
    if name in _SECRET_OPTIONS:
        return "Type the registry password in the modal, not in the command."
    block_id = _OPTIONS.get(name)
    if block_id is None:
        return (
            f"Unknown option `{_snippet(key)}`. "
            f"Use {_SHOWN_OPTIONS}, e.g. `{command} nginx ports=80`."
        )
    if block_id in prefill:
        return f"`{_snippet(key)}` is given twice: give each option once."
    if value:
        prefill[block_id] = value
    return None


def _command_image(
    word: str, *, position: int, prefill: dict[str, str], command: str
) -> str | None:
    """Record the bare word as the image; the problem with it, if any."""
    looks_like_image = not _IMAGE_CHARACTERS.isdisjoint(word)
    if word.startswith("-"):
        return f"Unknown option `{_snippet(word)}`. Options are written key=value, e.g. `ports=80`."
    if position == 0 and not looks_like_image:
        close = difflib.get_close_matches(word.lower(), [*SUBCOMMANDS, "help"], n=1, cutoff=0.75)
        if close:
            return (
                f"Unknown subcommand `{_snippet(word)}`. Did you mean `{command} {close[0]}`? "
                f"Try `{command} help`. "
                f"To deploy an image by that name, write `image={_snippet(word)}`."
            )
    if ids.IMAGE in prefill:
        return f"Give one image only. Try `{command} help`."
    prefill[ids.IMAGE] = word
    return None
