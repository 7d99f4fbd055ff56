"""Reads the deploy modal's submitted values into a start request, or each field's problem;
and fills the modal again from a stored request. No I/O.

Each field has its reader: ports and IDs here, images in `bot.images`, `.env` text in
`bot.env_files`, SSH keys in `bot.ssh_keys`; the command text is `bot.command_text`'s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from pydantic import SecretStr, ValidationError

from blocks import ids, input_errors
from bot.command_text import preset_name_problem
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
    is_plain_id,
)
from bot.durations import read_duration
from bot.env_files import env_text, read_env
from bot.images import read_image
from bot.parsing import WHITESPACE, Parsed, T, snippet
from bot.ssh_keys import read_ssh_keys

FieldErrors = dict[str, str]
"""Block id -> the message Slack shows under that modal field."""


MAX_STARTUP_SCRIPT: Final = 3000
MAX_EXTERNAL_ID: Final = MAX_PLAIN_ID
# Slack shows one message per field; a long list of problems would bury the first ones.
_MAX_PROBLEMS_SHOWN: Final = 3

_PORT_ITEM: Final = re.compile(r"(?P<port>[0-9]+)(?:/(?P<protocol>.*))?", re.ASCII | re.DOTALL)
_HIGHEST_PORT: Final = 65535
_PORT_SEPARATORS: Final = re.compile(r"[,\s]+")
_PROTOCOLS: Final = {
    **{protocol.name.lower(): protocol for protocol in PortProtocol},
    **{protocol.value.lower(): protocol for protocol in PortProtocol},
}

# Where pydantic's error locations land when a name in them is not itself a block id.
_LOCATION_BLOCKS: Final = {
    **{block_id: block_id for block_id in ids.INPUT_BLOCKS},
    "server": ids.DOCKER_SERVER,
    "login": ids.DOCKER_LOGIN,
    "password": ids.DOCKER_PASSWORD,
    "docker_auth": ids.DOCKER_LOGIN,
    "container_config": ids.IMAGE,
}


def parse_submission(
    values: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> StartDeploymentRequest | FieldErrors:
    """Turn the modal's `view.state.values` into a start request, or every field's problem."""
    text = _field_texts(values)
    errors = _Errors()
    machine_id = errors.take(
        ids.MACHINE_ID,
        _token(
            text[ids.MACHINE_ID],
            missing=input_errors.MACHINE_ID_MISSING,
            label=input_errors.MACHINE_ID_LABEL,
        ),
    )
    machine_price_id = errors.take(
        ids.MACHINE_PRICE_ID,
        _token(
            text[ids.MACHINE_PRICE_ID],
            missing=input_errors.MACHINE_PRICE_ID_MISSING,
            label=input_errors.MACHINE_PRICE_ID_LABEL,
        ),
    )
    image = errors.take(ids.IMAGE, read_image(text[ids.IMAGE]))
    external_id = errors.take(
        ids.EXTERNAL_DEPLOYMENT_ID, _external_id(text[ids.EXTERNAL_DEPLOYMENT_ID])
    )
    ports = errors.take(ids.PORTS, _ports(text[ids.PORTS]))
    environment = errors.take(ids.ENVIRONMENT_VARIABLES, read_env(text[ids.ENVIRONMENT_VARIABLES]))
    metadata = errors.take(ids.METADATA, read_env(text[ids.METADATA]))
    ssh_keys = errors.take(ids.SSH_PUB_KEYS, read_ssh_keys(text[ids.SSH_PUB_KEYS]))
    startup_script = errors.take(ids.STARTUP_SCRIPT, _startup_script(text[ids.STARTUP_SCRIPT]))
    registry_login = _registry_login(
        text[ids.DOCKER_SERVER], text[ids.DOCKER_LOGIN], text[ids.DOCKER_PASSWORD], errors
    )
    for block_id, block_text in text.items():
        if not _is_sendable(block_text):
            errors.replace(block_id, input_errors.BROKEN_UNICODE)
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
            errors.add(_block_for_location(error["loc"]), input_errors.unsendable(error["msg"]))
        return errors.field_errors()


def read_stop_after(values: object) -> Parsed[timedelta | None]:
    """The form's "Stop after" (not a field Hiveon gets): a duration, None when left empty."""
    block = values.get(ids.STOP_AFTER) if isinstance(values, Mapping) else None
    element = block.get(ids.STOP_AFTER) if isinstance(block, Mapping) else None
    text = element.get("value") if isinstance(element, Mapping) else None
    return read_duration(text if isinstance(text, str) else "")


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
    environment, masked_environment = env_text(config.get("environment_variables") or {})
    metadata, masked_metadata = env_text(request.get("metadata") or {})
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

    def take(self, block_id: str, parsed: Parsed[T]) -> T:
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


def read_preset_name(
    values: Mapping[str, Mapping[str, Mapping[str, Any]]], *, command: str = "/deploy"
) -> Parsed[str | None]:
    """The form's "Save as preset" name (None when empty), or why it cannot be one."""
    name = _field_text(values, ids.PRESET_NAME).strip()
    if not name:
        return None, []
    problem = preset_name_problem(name, command=command)
    return name, [] if problem is None else [problem]


def chosen_channel(values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str | None:
    """The channel the form's channel select names (asked outside a channel), if any."""
    element = _element(values, ids.CHANNEL)
    chosen = element.get("selected_conversation") if element is not None else None
    return chosen if isinstance(chosen, str) and chosen else None


def asks_channel(values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> bool:
    """True when the form had a channel select (opened outside a channel)."""
    return ids.CHANNEL in values


def typed_texts(values: object) -> dict[str, str]:
    """Each vendor field's text as typed in the form's state (empty when left blank)."""
    return {block_id: _field_text(values, block_id) for block_id in ids.INPUT_BLOCKS}


def _field_texts(values: object) -> dict[str, str]:
    """Each input's text; anything missing or malformed reads as empty, since Slack omits blanks."""
    return typed_texts(values)


def _field_text(values: object, block_id: str) -> str:
    element = _element(values, block_id)
    value = element.get("value") if element is not None else None
    return value if isinstance(value, str) else ""


def _element(values: object, block_id: str) -> Mapping[str, Any] | None:
    """The state of the input in block `block_id`: under its own name, or the one element a
    refilled form gave a new action_id (`blocks.modal.input_action_id`)."""
    block = values.get(block_id) if isinstance(values, Mapping) else None
    if not isinstance(block, Mapping):
        return None
    element = block.get(block_id)
    if element is None:
        refilled = [key for key in block if _refilled(key, block_id)]
        element = block[refilled[0]] if len(refilled) == 1 else None
    return element if isinstance(element, Mapping) else None


def _refilled(action_id: object, block_id: str) -> bool:
    """True for `<block_id>.<n>`, the action_id of an input after n refills from presets."""
    if not isinstance(action_id, str):
        return False
    name, dot, revision = action_id.rpartition(".")
    return name == block_id and bool(dot) and revision.isdigit()


def _is_sendable(text: str) -> bool:
    """False for text with lone surrogates, which JSON from Slack can carry but UTF-8 cannot."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _token(text: str, *, missing: str, label: str) -> Parsed[str]:
    value = text.strip()
    if not value:
        return value, [missing]
    if WHITESPACE.search(value):
        return value, [input_errors.id_has_spaces(label)]
    return value, []


def _external_id(text: str) -> Parsed[str]:
    value = text.strip()
    if not value:
        return value, [input_errors.EXTERNAL_ID_MISSING]
    if WHITESPACE.search(value):
        return value, [input_errors.EXTERNAL_ID_SPACES]
    if len(value) > MAX_EXTERNAL_ID:
        return value, [
            input_errors.too_long(input_errors.EXTERNAL_ID_LABEL, len(value), MAX_EXTERNAL_ID)
        ]
    if not is_plain_id(value):
        odd = next(char for char in value if not is_plain_id(char))
        return value, [input_errors.external_id_character(odd)]
    if value in {".", ".."}:
        # No URL path can address these, so the deployment could never be looked up again.
        return value, [input_errors.EXTERNAL_ID_DOTS]
    return value, []


def _ports(text: str) -> Parsed[tuple[PortMapping, ...]]:
    items = [item for item in _PORT_SEPARATORS.split(text) if item]
    problems: list[str] = []
    if len(items) > MAX_PORTS:
        problems.append(input_errors.too_many_ports(len(items), MAX_PORTS))
    ports: list[PortMapping] = []
    seen: set[int] = set()
    repeated: set[int] = set()
    for item in items:
        match = _PORT_ITEM.fullmatch(item)
        if match is None:
            problems.append(input_errors.not_a_port(snippet(item)))
            continue
        digits = match["port"].lstrip("0")
        # Bounded before int(): Python refuses to convert thousands of digits.
        number = int(digits) if 0 < len(digits) <= len(str(_HIGHEST_PORT)) else None
        if number is None or number > _HIGHEST_PORT:
            problems.append(input_errors.port_out_of_range(snippet(match["port"]), _HIGHEST_PORT))
            continue
        protocol = PortProtocol.TCP
        if match["protocol"] is not None:
            found = _PROTOCOLS.get(match["protocol"].lower())
            if found is None:
                problems.append(input_errors.unknown_protocol(snippet(item)))
                continue
            protocol = found
        if number in seen:
            if number not in repeated:
                problems.append(input_errors.port_listed_twice(number))
            repeated.add(number)
            continue
        seen.add(number)
        ports.append(PortMapping(host_port=number, protocol=protocol))
    return tuple(ports), problems


def _startup_script(text: str) -> Parsed[str | None]:
    if not text.strip():
        return None, []
    if len(text) > MAX_STARTUP_SCRIPT:
        return text, [
            input_errors.too_long(input_errors.SCRIPT_LABEL, len(text), MAX_STARTUP_SCRIPT)
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
    if WHITESPACE.search(server):
        problems.append((ids.DOCKER_SERVER, input_errors.REGISTRY_SERVER_SPACES))
    if WHITESPACE.search(login):
        problems.append((ids.DOCKER_LOGIN, input_errors.REGISTRY_LOGIN_SPACES))
    if login and not has_password:
        problems.append((ids.DOCKER_PASSWORD, input_errors.REGISTRY_LOGIN_ALONE))
    if has_password and not login:
        problems.append((ids.DOCKER_LOGIN, input_errors.REGISTRY_LOGIN_MISSING))
    if server and not login and not has_password:
        problems.append((ids.DOCKER_LOGIN, input_errors.REGISTRY_SERVER_ALONE))
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
