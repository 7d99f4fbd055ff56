"""Tests for bot.form: the modal submission and the command text, read into requests or messages."""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from blocks import ids
from bot import form
from bot.command_text import OpenModal, ShowHelp, Subcommand, Unusable, parse_command_text
from bot.deployment import (
    DOCKER_HUB_SERVER,
    MAX_PORTS,
    PortMapping,
    PortProtocol,
    StartDeploymentRequest,
    format_ports,
)
from bot.form import parse_submission, prefill_from
from bot.testing.seed import EXTERNAL_ID, MACHINE_ID, MACHINE_PRICE_ID, start_body

ED25519 = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHic85cDYC84PohmQJ24vAPKuQsIdOn1lXH21VCu2HFI dev@laptop"
)
RSA = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDFqA5KxxmpjhNqWvfjV10+7j1FagDBHREkWWYoSPfVEA9kJyvzgbhK"
    "yYtO4M8t2pjb9NMqlnUhRfpYRaoIu5pBlydcoXi/6KDX/NTXjzVAxI6ykP7FRs+RweznpebGhCLjnXICM2r3lgP019UN"
    "K5sUzO8/b5rndfajPYqlz8FuMw== dev@laptop"
)
ECDSA_384 = (
    "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBPNvkLPfQjthjKq6HZ24"
    "xrXZSLo22Aal0za4yTfG/CVYrhKV4/kSX/EMYuw1eQwnJNJhAEJiVQO7pVMB0Puomt26ZThqCVfGauChqju9tzzttWk+"
    "YkOlJLNxpmLzsYR1Mw== dev@laptop"
)
REQUIRED = {
    ids.MACHINE_ID: MACHINE_ID,
    ids.MACHINE_PRICE_ID: MACHINE_PRICE_ID,
    ids.IMAGE: "nginx:latest",
    ids.EXTERNAL_DEPLOYMENT_ID: EXTERNAL_ID,
}
FAST = settings(max_examples=200, deadline=None)


def state(**texts: str | None) -> dict[str, dict[str, dict[str, Any]]]:
    """Slack's `view.state.values` for these inputs; every other input was left empty."""
    return {
        block_id: {block_id: {"type": "plain_text_input", "value": text}}
        for block_id, text in texts.items()
    }


def submit(**texts: str | None) -> StartDeploymentRequest | dict[str, str]:
    """Submit the required fields, filled in validly, plus these."""
    return parse_submission(state(**{**REQUIRED, **texts}))


def accepted(**texts: str | None) -> StartDeploymentRequest:
    """The request built from a submission that must be valid."""
    result = submit(**texts)
    assert isinstance(result, StartDeploymentRequest), result
    return result


def rejected(**texts: str | None) -> dict[str, str]:
    """The field errors of a submission that must be refused."""
    result = submit(**texts)
    assert isinstance(result, dict), result
    return result


def ssh_blob(*strings: bytes) -> str:
    """A base64 key body made of SSH strings (uint32 length, then the bytes)."""
    return base64.b64encode(b"".join(struct.pack(">I", len(s)) + s for s in strings)).decode()


def public_key_body(key_type: str) -> str:
    """The base64 body of a freshly generated public key of `key_type`."""
    openssh = serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    if key_type == "ssh-ed25519":
        ed_key = ed25519.Ed25519PrivateKey.generate().public_key()
        return ed_key.public_bytes(*openssh).decode().split()[1]
    if key_type == "ssh-rsa":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return private.public_key().public_bytes(*openssh).decode().split()[1]
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    point = serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    if key_type.startswith("ecdsa-sha2-"):
        curve = {"nistp256": ec.SECP256R1(), "nistp384": ec.SECP384R1(), "nistp521": ec.SECP521R1()}
        name = key_type.removeprefix("ecdsa-sha2-")
        public = ec.generate_private_key(curve[name]).public_key().public_bytes(*point)
        return ssh_blob(key_type.encode(), name.encode(), public)
    if key_type == "sk-ssh-ed25519@openssh.com":
        public = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(*raw)
        return ssh_blob(key_type.encode(), public, b"ssh:")
    public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(*point)
    return ssh_blob(key_type.encode(), b"nistp256", public, b"ssh:")


# The whole request


@pytest.mark.parametrize("dots", [".", ".."])
def test_an_external_id_of_only_dots_is_refused(dots: str) -> None:
    """`.` and `..` cannot be looked up by URL, so they are refused as idempotency keys."""
    assert set(rejected(external_deployment_id=dots)) == {ids.EXTERNAL_DEPLOYMENT_ID}


def test_every_field_reaches_the_vendor_payload() -> None:
    """A fully filled modal becomes exactly the seed's request body."""
    request = accepted(
        **{
            ids.MACHINE_ID: f"  {MACHINE_ID} ",
            ids.PORTS: "80, 443/https",
            ids.ENVIRONMENT_VARIABLES: "ENV_VAR1=value1\nENV_VAR2=value2",
            ids.SSH_PUB_KEYS: ED25519,
            ids.STARTUP_SCRIPT: "echo 'Hello, World!' > /var/www/html/index.html",
            ids.DOCKER_SERVER: "docker.private.io",
            ids.DOCKER_LOGIN: "username",
            ids.DOCKER_PASSWORD: "password123",
            ids.METADATA: "additional_key=additional_value",
        }
    )
    assert request.to_payload() == start_body(ssh_pub_keys=[ED25519])


def test_optional_fields_left_empty_are_omitted() -> None:
    """Blank optional inputs send no keys at all: no null, no empty list or object."""
    request = accepted(
        **{
            ids.PORTS: " \n ",
            ids.ENVIRONMENT_VARIABLES: "",
            ids.SSH_PUB_KEYS: "\n\n",
            ids.STARTUP_SCRIPT: "   \n",
            ids.DOCKER_SERVER: "",
            ids.DOCKER_LOGIN: None,
            ids.METADATA: "# nothing yet\n",
        }
    )
    assert request.to_payload() == {
        "machine_id": MACHINE_ID,
        "machine_price_id": MACHINE_PRICE_ID,
        "external_deployment_id": EXTERNAL_ID,
        "container_config": {"image": "nginx:latest"},
    }


def test_an_empty_submission_names_every_required_field() -> None:
    """With nothing entered, each required field gets its own message and no other field does."""
    assert parse_submission({}) == {
        ids.MACHINE_ID: "Enter the machine ID.",
        ids.MACHINE_PRICE_ID: "Enter the machine price ID.",
        ids.IMAGE: "Enter an image, e.g. `nginx:latest` or `ghcr.io/org/app:1.2`.",
        ids.EXTERNAL_DEPLOYMENT_ID: (
            "Keep the prefilled ID or enter your own: "
            "deploybot uses it to never start the same submission twice."
        ),
    }


def test_every_problem_is_reported_at_once() -> None:
    """One submission with a problem in every field gets a message under each of them."""
    errors = parse_submission(
        state(
            **{
                ids.MACHINE_ID: "machine one",
                ids.MACHINE_PRICE_ID: "",
                ids.IMAGE: "Not An Image",
                ids.EXTERNAL_DEPLOYMENT_ID: " ",
                ids.PORTS: "70000",
                ids.ENVIRONMENT_VARIABLES: "FOO",
                ids.METADATA: "1X=2",
                ids.SSH_PUB_KEYS: "ssh-dss AAAA",
                ids.STARTUP_SCRIPT: "x" * 3001,
                ids.DOCKER_SERVER: "ghcr io",
                ids.DOCKER_LOGIN: "my bot",
            }
        )
    )
    assert isinstance(errors, dict)
    assert set(errors) == set(ids.INPUT_BLOCKS)


@pytest.mark.parametrize(
    "values",
    [
        {},
        {ids.MACHINE_ID: None},
        {ids.MACHINE_ID: {}},
        {ids.MACHINE_ID: {ids.MACHINE_ID: None}},
        {ids.MACHINE_ID: {ids.MACHINE_ID: {"type": "plain_text_input"}}},
        {ids.MACHINE_ID: {ids.MACHINE_ID: {"value": 42}}},
        {ids.MACHINE_ID: {"another_action": {"value": "m-1"}}},
        {ids.MACHINE_ID: ["m-1"]},
    ],
)
def test_missing_or_malformed_values_read_as_empty(values: Any) -> None:
    """Whatever shape a block arrives in, a missing value is an empty field, not a crash."""
    errors = parse_submission(values)
    assert isinstance(errors, dict)
    assert errors[ids.MACHINE_ID] == "Enter the machine ID."


def test_a_value_that_is_not_a_mapping_reads_as_an_empty_form() -> None:
    """Even `values` that is not a mapping at all gives field errors, not an exception."""
    errors = parse_submission(None)  # type: ignore[arg-type]  # Slack's input is untyped
    assert isinstance(errors, dict)
    assert ids.MACHINE_ID in errors


def test_broken_unicode_is_refused_on_its_field() -> None:
    """A lone surrogate, which JSON can carry but UTF-8 cannot, is refused instead of sent."""
    errors = rejected(**{ids.STARTUP_SCRIPT: "echo \ud800"})
    assert errors == {
        ids.STARTUP_SCRIPT: "This has characters that can’t be sent (broken Unicode): retype it."
    }


def test_a_model_refusal_still_becomes_a_field_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the model refuse what the form let through, the error lands on the right field."""
    monkeypatch.setattr(form, "MAX_PORTS", 1000)
    errors = rejected(**{ids.PORTS: " ".join(str(port) for port in range(1, MAX_PORTS + 2))})
    assert list(errors) == [ids.PORTS]
    assert errors[ids.PORTS].startswith("This value can’t be sent:")


# IDs


@pytest.mark.parametrize(
    ("block_id", "message"),
    [
        (ids.MACHINE_ID, "The machine ID has no spaces: paste just the ID."),
        (ids.MACHINE_PRICE_ID, "The machine price ID has no spaces: paste just the ID."),
        (
            ids.EXTERNAL_DEPLOYMENT_ID,
            "The deployment ID has no spaces: keep the prefilled one or enter your own.",
        ),
    ],
)
def test_ids_refuse_inner_whitespace(block_id: str, message: str) -> None:
    """An ID with a space or tab inside is refused on its own field."""
    assert rejected(**{block_id: "abc\tdef"}) == {block_id: message}


def test_ids_are_trimmed() -> None:
    """Surrounding whitespace, as pasting adds, is not part of the IDs."""
    request = accepted(
        **{ids.MACHINE_PRICE_ID: "\n price-1 \n", ids.EXTERNAL_DEPLOYMENT_ID: " run-7 "}
    )
    assert request.machine_price_id == "price-1"
    assert request.external_deployment_id == "run-7"


def test_the_external_id_is_at_most_128_characters() -> None:
    """128 characters are accepted as the idempotency key; 129 are not."""
    assert accepted(**{ids.EXTERNAL_DEPLOYMENT_ID: "x" * 128}).external_deployment_id == "x" * 128
    assert rejected(**{ids.EXTERNAL_DEPLOYMENT_ID: "x" * 129}) == {
        ids.EXTERNAL_DEPLOYMENT_ID: "The deployment ID is 129 characters long: use at most 128."
    }


@pytest.mark.parametrize("external_id", ["release-2026.12.02", "ci:run_42", "A1", "."])
def test_external_ids_of_letters_digits_and_dot_underscore_colon_dash_pass_the_charset(
    external_id: str,
) -> None:
    """Letters, digits, `.`, `_`, `:` and `-` make an external ID (`.` alone is refused for
    another reason: no URL can address it)."""
    errors = submit(**{ids.EXTERNAL_DEPLOYMENT_ID: external_id})
    assert not isinstance(errors, dict) or "only letters, digits" not in str(errors)


@pytest.mark.parametrize(
    ("external_id", "odd"),
    [
        ("<!channel>", "<"),
        ("a/b", "/"),
        ("run#1", "#"),
        ("id?x=1", "?"),
        ("naïve", "ï"),
        ("a%2Fb", "%"),
        ("x&y", "&"),
    ],
)
def test_external_ids_with_other_characters_are_refused_naming_the_first(
    external_id: str, odd: str
) -> None:
    """Markup, URL syntax and non-ASCII letters are refused in the external ID, naming the first
    character that is not allowed."""
    assert rejected(**{ids.EXTERNAL_DEPLOYMENT_ID: external_id}) == {
        ids.EXTERNAL_DEPLOYMENT_ID: f"The deployment ID has `{odd}` in it: use only letters, "
        "digits, `.`, `_`, `:` and `-`, or keep the prefilled one."
    }


# Image


@pytest.mark.parametrize(
    "image",
    [
        "nginx",
        "nginx:latest",
        "nginx:Latest-1.27_rc.2",
        "library/nginx",
        "docker.io/library/nginx:1.27",
        "ghcr.io/org/team/app:v1",
        "localhost:5000/app",
        "Registry.Example.COM:443/app",
        "[::1]:5000/app:dev",
        "my-org/my__app.v2",
        "app@sha256:" + "a" * 64,
        "ghcr.io/org/app:1.2@sha256:" + "0123456789abcdef" * 4,
        "a" * 255,
    ],
)
def test_valid_image_references_are_sent_as_typed(image: str) -> None:
    """Every shape of the Docker reference grammar is accepted, trimmed but otherwise unchanged."""
    assert accepted(**{ids.IMAGE: f" {image} "}).container_config.image == image


@pytest.mark.parametrize(
    "image",
    [
        "nginx:",
        ":latest",
        "nginx@sha256:abc",
        "-nginx",
        "nginx-",
        "my___app",
        "app:" + "t" * 129,
        "ghcr.io//app",
        "ünïcode",
        "https://ghcr.io/app",
    ],
)
def test_invalid_image_references_are_refused(image: str) -> None:
    """Text outside the reference grammar is refused on the image field, quoting it."""
    errors = rejected(**{ids.IMAGE: image})
    assert list(errors) == [ids.IMAGE]
    assert errors[ids.IMAGE].endswith(
        "is not a valid image reference: e.g. `nginx:latest` or `ghcr.io/org/app:1.2`."
    )


def test_image_path_capitals_get_their_own_hint() -> None:
    """Capitals in the repository path are named as the problem, since the rest is fine."""
    assert rejected(**{ids.IMAGE: "ghcr.io/Org/App:V1"}) == {
        ids.IMAGE: "`ghcr.io/Org/App:V1`: the repository name must be lowercase "
        "(the registry host and the tag may use capitals)."
    }


def test_image_with_spaces_is_refused() -> None:
    """A space inside the image (e.g. `docker run` flags pasted along) is refused."""
    assert rejected(**{ids.IMAGE: "nginx --rm"}) == {
        ids.IMAGE: "An image reference has no spaces: e.g. `nginx:latest` or `ghcr.io/org/app:1.2`."
    }


def test_image_names_are_at_most_255_characters() -> None:
    """A name over 255 characters is refused even though its tag is not counted."""
    assert rejected(**{ids.IMAGE: "a" * 256 + ":tag"}) == {
        ids.IMAGE: "The image name is 256 characters long: use at most 255."
    }


def test_a_long_quoted_value_is_truncated_in_the_message() -> None:
    """Echoed input is cut short so the message under the field stays readable."""
    message = rejected(**{ids.IMAGE: "Ä" * 500})[ids.IMAGE]
    assert message.startswith("`" + "Ä" * 39 + "…` is not a valid image reference")


# Ports


def test_ports_are_separated_by_commas_spaces_or_newlines() -> None:
    """Any mix of separators works, and a port without protocol is TCP."""
    request = accepted(**{ids.PORTS: "22,80 , 443/https\n8080\t\n\n9000/tcp,"})
    assert format_ports(request.container_config.ports) == [
        "22/tcp",
        "80/tcp",
        "443/https",
        "8080/tcp",
        "9000/tcp",
    ]


@pytest.mark.parametrize(
    ("text", "protocol"),
    [
        ("443/tcp", PortProtocol.TCP),
        ("443/TCP", PortProtocol.TCP),
        ("443/https", PortProtocol.HTTPS),
        ("443/HttpS", PortProtocol.HTTPS),
        ("443/PORT_PROTOCOL_TCP", PortProtocol.TCP),
        ("443/port_protocol_https", PortProtocol.HTTPS),
    ],
)
def test_port_protocols_accept_short_and_enum_names_in_any_case(
    text: str, protocol: PortProtocol
) -> None:
    """`tcp`/`https` and the vendor's enum names are all understood, whatever the case."""
    request = accepted(**{ids.PORTS: text})
    assert request.container_config.ports == (PortMapping(host_port=443, protocol=protocol),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("70000", "Port 70000 is out of range: use 1–65535."),
        ("0", "Port 0 is out of range: use 1–65535."),
        ("65536/https", "Port 65536 is out of range: use 1–65535."),
        ("9" * 5000, "Port " + "9" * 39 + "… is out of range: use 1–65535."),
        ("53/udp", "`53/udp`: the protocol must be tcp or https."),
        ("80/", "`80/`: the protocol must be tcp or https."),
        ("http", "`http` is not a port: write PORT or PORT/PROTOCOL, e.g. `80` or `443/https`."),
        ("-1", "`-1` is not a port: write PORT or PORT/PROTOCOL, e.g. `80` or `443/https`."),
        (
            "80:8080",
            "`80:8080` is not a port: write PORT or PORT/PROTOCOL, e.g. `80` or `443/https`.",
        ),
        ("٨٠", "`٨٠` is not a port: write PORT or PORT/PROTOCOL, e.g. `80` or `443/https`."),
    ],
)
def test_invalid_ports_are_refused(text: str, message: str) -> None:
    """Each kind of bad port says what is wrong and what is accepted."""
    assert rejected(**{ids.PORTS: text}) == {ids.PORTS: message}


def test_the_highest_and_lowest_ports_are_accepted() -> None:
    """1 and 65535 are inside the range; leading zeros do not matter."""
    request = accepted(**{ids.PORTS: "001 65535"})
    assert format_ports(request.container_config.ports) == ["1/tcp", "65535/tcp"]


def test_a_port_listed_twice_is_refused_even_with_another_protocol() -> None:
    """The vendor maps each host port once, so `80` and `80/https` clash, named once."""
    assert rejected(**{ids.PORTS: "80, 443, 80/https, 80"}) == {
        ids.PORTS: "Port 80 is listed twice: list each port once."
    }


def test_at_most_100_ports_are_accepted() -> None:
    """100 ports fit the vendor's limit; 101 do not."""
    hundred = " ".join(str(port) for port in range(1, MAX_PORTS + 1))
    assert len(accepted(**{ids.PORTS: hundred}).container_config.ports) == MAX_PORTS
    assert rejected(**{ids.PORTS: f"{hundred} 9999"}) == {
        ids.PORTS: "101 ports listed: use at most 100."
    }


def test_many_port_problems_are_summarised() -> None:
    """The first three problems are shown and the rest counted, so the message stays short."""
    assert rejected(**{ids.PORTS: "a b c d e"}) == {
        ids.PORTS: " ".join(
            f"`{item}` is not a port: write PORT or PORT/PROTOCOL, e.g. `80` or `443/https`."
            for item in "abc"
        )
        + " (+2 more)"
    }


def test_format_ports_names_protocols_as_users_write_them() -> None:
    """Ports render as `PORT/tcp` or `PORT/https`."""
    ports = [PortMapping(host_port=80), PortMapping(host_port=443, protocol=PortProtocol.HTTPS)]
    assert format_ports(ports) == ["80/tcp", "443/https"]


# Environment variables and metadata


@pytest.mark.parametrize("block_id", [ids.ENVIRONMENT_VARIABLES, ids.METADATA])
def test_dotenv_syntax_is_understood(block_id: str) -> None:
    """Quotes, `export`, comments, blank lines and empty values read as `.env` files do."""
    text = (
        "# database\n"
        "export DB_HOST=db.internal\n"
        "\n"
        "GREETING='hello world'\n"
        'JSON="{\\"a\\": 1}"  # inline comment\n'
        "EMPTY=\n"
        "_under_score9 = spaced\n"
        'PEM="line one\n'
        'line two"\n'
        "URL=https://x.test/?a=b#frag"
    )
    expected = {
        "DB_HOST": "db.internal",
        "GREETING": "hello world",
        "JSON": '{"a": 1}',
        "EMPTY": "",
        "_under_score9": "spaced",
        "PEM": "line one\nline two",
        "URL": "https://x.test/?a=b#frag",
    }
    payload = accepted(**{block_id: text}).to_payload()
    if block_id == ids.METADATA:
        assert payload["metadata"] == expected
    else:
        assert payload["container_config"]["environment_variables"] == expected


@pytest.mark.parametrize("block_id", [ids.ENVIRONMENT_VARIABLES, ids.METADATA])
def test_a_line_without_equals_names_its_line(block_id: str) -> None:
    """A bare word is refused with its line number and text."""
    assert rejected(**{block_id: "A=1\n# two\nFOO\n"}) == {
        block_id: "Line 3 (`FOO`) has no `=`: write one KEY=VALUE per line."
    }


def test_line_numbers_count_blank_lines_and_multiline_values() -> None:
    """Lines are numbered as the user sees them, past blank lines and quoted line breaks."""
    text = '\n\nA="one\ntwo\nthree"\n\n\nBROKEN\n'
    assert rejected(**{ids.ENVIRONMENT_VARIABLES: text}) == {
        ids.ENVIRONMENT_VARIABLES: "Line 8 (`BROKEN`) has no `=`: write one KEY=VALUE per line."
    }


def test_a_long_line_is_truncated_in_the_message() -> None:
    """Only the start of a long line is quoted back."""
    message = rejected(**{ids.METADATA: "X" * 300})[ids.METADATA]
    assert message == f"Line 1 (`{'X' * 39}…`) has no `=`: write one KEY=VALUE per line."


@pytest.mark.parametrize(
    "line",
    [
        'OPEN="never closed',
        "TWO WORDS=1",
        "=value",
        "A#B=1",
    ],
)
def test_unreadable_lines_name_their_line(line: str) -> None:
    """A line the `.env` parser cannot read is refused with its number and text."""
    assert rejected(**{ids.ENVIRONMENT_VARIABLES: f"OK=1\n{line}"}) == {
        ids.ENVIRONMENT_VARIABLES: f"Line 2 (`{line}`) can’t be read: write KEY=VALUE, "
        "quoting values with spaces and closing every quote."
    }


@pytest.mark.parametrize("name", ["1ST", "MY-VAR", "ÄPFEL", "a.b"])
def test_names_must_be_identifiers(name: str) -> None:
    """Names outside `[A-Za-z_][A-Za-z0-9_]*` are refused, naming the line and the name."""
    assert rejected(**{ids.METADATA: f"{name}=1"}) == {
        ids.METADATA: f"Line 1: `{name}` is not a valid name: "
        "use letters, digits and _, not starting with a digit."
    }


def test_a_name_set_twice_is_refused() -> None:
    """A duplicate name is refused, naming it and where it was first set."""
    assert rejected(**{ids.ENVIRONMENT_VARIABLES: "A=1\nB=2\nexport A=3"}) == {
        ids.ENVIRONMENT_VARIABLES: "Line 3: `A` is already set on line 1: keep one."
    }


# SSH keys


def test_ssh_keys_are_normalised_one_per_line() -> None:
    """Extra blanks are squeezed, blank lines skipped, and comments kept."""
    body = RSA.split()[1]
    text = f"\n  {ED25519}  \n\n{ECDSA_384}\nssh-rsa\t{body}\n"
    request = accepted(**{ids.SSH_PUB_KEYS: text})
    assert request.to_payload()["ssh_pub_keys"] == [ED25519, ECDSA_384, f"ssh-rsa {body}"]


@pytest.mark.parametrize(
    "key_type",
    [
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    ],
)
def test_every_supported_key_type_is_accepted(key_type: str) -> None:
    """A real public key of each accepted type passes, its comment kept."""
    key = f"{key_type} {public_key_body(key_type)} me@host with spaces"
    assert accepted(**{ids.SSH_PUB_KEYS: key}).ssh_pub_keys == (key,)


def test_key_material_that_is_no_key_is_refused() -> None:
    """A well-formed blob of the right type whose material is no key (a short ed25519 key, a
    point off the curve) is refused: cryptography reads each key as ssh would."""
    ed25519_short = f"ssh-ed25519 {ssh_blob(b'ssh-ed25519', b'key material')}"
    not_a_point = bytes([4]) + bytes(64)
    off_curve = f"ecdsa-sha2-nistp256 {ssh_blob(b'ecdsa-sha2-nistp256', b'nistp256', not_a_point)}"
    for line in (ed25519_short, off_curve):
        assert rejected(**{ids.SSH_PUB_KEYS: line}) == {
            ids.SSH_PUB_KEYS: "Line 1: the key data is not valid: paste the whole line from the "
            "`.pub` file."
        }


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (
            f"ssh-dss {ssh_blob(b'ssh-dss', b'key material')}",
            (
                "`ssh-dss` is not a supported key type: use ssh-ed25519, ssh-rsa, "
                "ecdsa-sha2-nistp256/384/521 or an sk- security key."
            ),
        ),
        (
            ED25519.split(maxsplit=1)[1],
            "the key type is missing: paste the whole line, e.g. `ssh-ed25519 AAAA… you@host`.",
        ),
        (
            "ssh-ed25519",
            "`ssh-ed25519` has no key data after it: paste the whole line from the `.pub` file.",
        ),
        (
            "ssh-ed25519 not*base64",
            "the key data is not valid: paste the whole line from the `.pub` file.",
        ),
        (
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHic85cDYC84",
            "the key data is not valid: paste the whole line from the `.pub` file.",
        ),
        (
            "ssh-ed25519 AAAA",
            "the key data is not valid: paste the whole line from the `.pub` file.",
        ),
        (
            "ssh-ed25519 AAA=",
            "the key data is not valid: paste the whole line from the `.pub` file.",
        ),
        (
            f"ssh-ed25519 {RSA.split()[1]}",
            "the key data is `ssh-rsa`, not `ssh-ed25519`: paste the line unchanged.",
        ),
        (
            f"ssh-rsa {ssh_blob(b'something-else', b'key material')}",
            "the key data is another type, not `ssh-rsa`: paste the line unchanged.",
        ),
    ],
)
def test_bad_ssh_keys_name_their_line(line: str, problem: str) -> None:
    """Each bad key is refused with the line it is on and what is wrong."""
    assert rejected(**{ids.SSH_PUB_KEYS: f"{ED25519}\n\n{line}"}) == {
        ids.SSH_PUB_KEYS: f"Line 3: {problem}"
    }


def test_a_pasted_private_key_is_refused_without_echoing_it() -> None:
    """A private key gets one message that quotes none of it."""
    text = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAA\n"
        "-----END OPENSSH PRIVATE KEY-----"
    )
    errors = rejected(**{ids.SSH_PUB_KEYS: text})
    assert errors == {
        ids.SSH_PUB_KEYS: "This is a private key: paste the public key (the `.pub` file) "
        "and keep the private one secret."
    }


# Startup script


def test_the_startup_script_is_sent_as_typed() -> None:
    """Indentation, blank lines and trailing newlines of the script are kept."""
    script = "\n  #!/bin/sh\n\n  echo hi  \n"
    assert accepted(**{ids.STARTUP_SCRIPT: script}).container_config.startup_script == script


def test_the_startup_script_is_at_most_3000_characters() -> None:
    """3000 characters are accepted, as Slack's input allows; more are refused."""
    assert accepted(**{ids.STARTUP_SCRIPT: "x" * 3000}).container_config.startup_script
    assert rejected(**{ids.STARTUP_SCRIPT: "x" * 3001}) == {
        ids.STARTUP_SCRIPT: "The script is 3001 characters long: use at most 3000."
    }


# Registry login


def test_login_without_server_uses_docker_hub() -> None:
    """A login and password with no server log in to Docker Hub; the password is kept as typed."""
    request = accepted(**{ids.DOCKER_LOGIN: " bot ", ids.DOCKER_PASSWORD: " p@ss word "})
    assert request.to_payload()["container_config"]["docker_auth"] == {
        "server": DOCKER_HUB_SERVER,
        "login": "bot",
        "password": " p@ss word ",
    }


@pytest.mark.parametrize(
    ("texts", "errors"),
    [
        (
            {ids.DOCKER_LOGIN: "bot"},
            {ids.DOCKER_PASSWORD: "Enter the registry password too, or clear the login."},
        ),
        (
            {ids.DOCKER_LOGIN: "bot", ids.DOCKER_PASSWORD: "   "},
            {ids.DOCKER_PASSWORD: "Enter the registry password too, or clear the login."},
        ),
        (
            {ids.DOCKER_PASSWORD: "hunter2", ids.DOCKER_SERVER: "ghcr.io"},
            {ids.DOCKER_LOGIN: "Enter the registry login too, or clear the password."},
        ),
        (
            {ids.DOCKER_SERVER: "ghcr.io"},
            {ids.DOCKER_LOGIN: "Enter the registry login and password too, or clear the server."},
        ),
        (
            {ids.DOCKER_SERVER: "ghcr io", ids.DOCKER_LOGIN: "my bot", ids.DOCKER_PASSWORD: "x"},
            {
                ids.DOCKER_SERVER: "The registry server has no spaces: e.g. `ghcr.io`.",
                ids.DOCKER_LOGIN: "The registry login has no spaces.",
            },
        ),
    ],
)
def test_incomplete_registry_logins_are_refused(
    texts: dict[str, str], errors: dict[str, str]
) -> None:
    """Login and password go together, and a server alone is not a login."""
    assert rejected(**texts) == errors


# Command text


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_no_text_opens_an_empty_modal(text: str) -> None:
    """`/deploy` alone opens the modal with nothing prefilled."""
    assert parse_command_text(text) == OpenModal({})


@pytest.mark.parametrize("text", ["help", "HELP", " Help ", "-h", "--help", "?", "help status"])
def test_help_words_show_help(text: str) -> None:
    """Every usual way of asking for help shows it."""
    assert parse_command_text(text) == ShowHelp()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status", Subcommand("status", ())),
        ("STOP dep-1", Subcommand("stop", ("dep-1",))),
        ("history 20", Subcommand("history", ("20",))),
        ("api-key set 'k e y'", Subcommand("api-key", ("set", "k e y"))),
        ("settings", Subcommand("settings", ())),
    ],
)
def test_subcommands_carry_their_words(text: str, expected: Subcommand) -> None:
    """A known first word is a subcommand, lower-cased, with the remaining words as arguments."""
    assert parse_command_text(text) == expected


def test_options_prefill_the_modal() -> None:
    """The image and every `key=value` option become raw prefill text keyed by block id."""
    text = (
        "ghcr.io/org/app:1.2 machine=m-1 price=p-1 ports=80,443/https "
        "id=run-7 server=ghcr.io login=bot"
    )
    assert parse_command_text(text) == OpenModal(
        {
            ids.IMAGE: "ghcr.io/org/app:1.2",
            ids.MACHINE_ID: "m-1",
            ids.MACHINE_PRICE_ID: "p-1",
            ids.PORTS: "80,443/https",
            ids.EXTERNAL_DEPLOYMENT_ID: "run-7",
            ids.DOCKER_SERVER: "ghcr.io",
            ids.DOCKER_LOGIN: "bot",
        }
    )


@pytest.mark.parametrize(
    ("key", "block_id"),
    [
        ("machine", ids.MACHINE_ID),
        ("machine_id", ids.MACHINE_ID),
        ("MACHINE-ID", ids.MACHINE_ID),
        ("price", ids.MACHINE_PRICE_ID),
        ("price_id", ids.MACHINE_PRICE_ID),
        ("machine_price_id", ids.MACHINE_PRICE_ID),
        ("ports", ids.PORTS),
        ("port", ids.PORTS),
        ("image", ids.IMAGE),
        ("id", ids.EXTERNAL_DEPLOYMENT_ID),
        ("external_id", ids.EXTERNAL_DEPLOYMENT_ID),
        ("external_deployment_id", ids.EXTERNAL_DEPLOYMENT_ID),
        ("server", ids.DOCKER_SERVER),
        ("docker_server", ids.DOCKER_SERVER),
        ("login", ids.DOCKER_LOGIN),
        ("docker_login", ids.DOCKER_LOGIN),
    ],
)
def test_option_aliases(key: str, block_id: str) -> None:
    """Each option name and alias, in any case, fills its block."""
    assert parse_command_text(f"{key}=value") == OpenModal({block_id: "value"})


def test_quoted_values_keep_their_spaces() -> None:
    """Quotes, typed or typographic as Slack clients make them, group words into one value."""
    assert parse_command_text("nginx ports='80 443'") == OpenModal(
        {ids.IMAGE: "nginx", ids.PORTS: "80 443"}, preset="nginx"
    )
    assert parse_command_text("nginx ports=“80 443”") == OpenModal(
        {ids.IMAGE: "nginx", ids.PORTS: "80 443"}, preset="nginx"
    )


def test_empty_option_values_prefill_nothing() -> None:
    """`machine=` leaves the field empty rather than prefilling an empty string."""
    assert parse_command_text("redis machine=") == OpenModal({ids.IMAGE: "redis"}, preset="redis")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nginx 'ports=80", "A quote is not closed. Try `/deploy help`."),
        (
            "nginx gpu=2",
            (
                "Unknown option `gpu`. Use machine, price, image, ports, id, server, login, "
                "stop, e.g. `/deploy nginx ports=80`."
            ),
        ),
        ("nginx redis", "Give one image only. Try `/deploy help`."),
        ("image=nginx redis", "Give one image only. Try `/deploy help`."),
        ("nginx port=80 ports=443", "`ports` is given twice: give each option once."),
        (
            "nginx --ports 80",
            "Unknown option `--ports`. Options are written key=value, e.g. `ports=80`.",
        ),
    ],
)
def test_unusable_command_text_says_why(text: str, message: str) -> None:
    """Text that cannot be used gets one sentence saying what to write instead."""
    assert parse_command_text(text) == Unusable(message)


@pytest.mark.parametrize(
    "text", ["password=hunter2", "nginx docker_password=hunter2", "nginx PASSWORD=hunter2"]
)
def test_a_password_in_the_command_is_refused_without_echoing_it(text: str) -> None:
    """Passwords belong in the modal; the message never repeats the value."""
    result = parse_command_text(text)
    assert result == Unusable("Type the registry password in the modal, not in the command.")


@pytest.mark.parametrize(
    ("word", "suggestion"),
    [
        ("stauts", "status"),
        ("hlep", "help"),
        ("histroy", "history"),
        ("apikey", "api-key"),
        ("Setting", "settings"),
    ],
)
def test_near_misses_of_subcommands_suggest_them(word: str, suggestion: str) -> None:
    """A first word close to a subcommand suggests it and says how to deploy such an image."""
    assert parse_command_text(f"{word} extra", command="/ship") == Unusable(
        f"Unknown subcommand `{word}`. Did you mean `/ship {suggestion}`? Try `/ship help`. "
        f"To deploy an image by that name, write `image={word}`."
    )


@pytest.mark.parametrize(
    "word", ["nginx", "status:1", "stauts:latest", "org/histroy", "hlep.io/app", "stop@sha256:x"]
)
def test_image_looking_words_are_images(word: str) -> None:
    """Plain names and words with `:`, `/`, `@` or `.` are images, never near-miss subcommands;
    a plain name may name a preset instead, if the workspace has one."""
    preset = word if word.isalnum() else None
    assert parse_command_text(word) == OpenModal({ids.IMAGE: word}, preset=preset)


def test_an_image_option_can_name_a_near_miss() -> None:
    """`image=stauts` deploys an image by that name, as the near-miss message advises."""
    assert parse_command_text("image=stauts") == OpenModal({ids.IMAGE: "stauts"})


# Properties


# Any Unicode, lone surrogates (JSON can carry them) and the characters the parsers care about.
ALPHABET = (
    st.characters(codec="utf-8")
    | st.characters(categories=["Cs"])
    | st.sampled_from("=/:@.,#'\"\\ \t\n\r")
)
TEXT = st.text(alphabet=ALPHABET, max_size=120) | st.sampled_from(
    ["", " ", "=", "/", "\n", "\ud800", "A=1\nA=2", "80/https", "ssh-rsa AAAA", "x" * 4000]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)


@FAST
@given(
    st.fixed_dictionaries(
        {
            **dict.fromkeys(ids.INPUT_BLOCKS, TEXT),
            # Often valid, so that the other fields' text reaches the model too.
            **{block_id: st.just(text) | TEXT for block_id, text in REQUIRED.items()},
        }
    )
)
def test_any_text_in_any_field_gives_a_request_or_field_errors(texts: dict[str, str]) -> None:
    """Whatever is typed, the result is a request or messages keyed by real block ids."""
    result = parse_submission(state(**texts))
    if isinstance(result, dict):
        assert result
        assert set(result) <= set(ids.INPUT_BLOCKS)
        assert all(result.values())
    else:
        assert isinstance(result, StartDeploymentRequest)


@FAST
@given(st.dictionaries(st.sampled_from(ids.INPUT_BLOCKS) | TEXT, JSON, max_size=6))
def test_any_shape_of_values_gives_field_errors(values: dict[str, Any]) -> None:
    """Malformed state from Slack never raises; it reads as empty fields."""
    result = parse_submission(values)
    assert isinstance(result, dict)
    assert set(result) <= set(ids.INPUT_BLOCKS)


PORT_SPELLINGS = {
    "": PortProtocol.TCP,
    "/tcp": PortProtocol.TCP,
    "/TCP": PortProtocol.TCP,
    "/port_protocol_tcp": PortProtocol.TCP,
    "/https": PortProtocol.HTTPS,
    "/Https": PortProtocol.HTTPS,
    "/PORT_PROTOCOL_HTTPS": PortProtocol.HTTPS,
}


@FAST
@given(
    st.lists(
        st.tuples(st.integers(min_value=1, max_value=65535), st.sampled_from(list(PORT_SPELLINGS))),
        max_size=MAX_PORTS,
        unique_by=lambda item: item[0],
    ),
    st.sampled_from([",", " ", "\n", ", ", " ,\n"]),
)
def test_distinct_valid_ports_round_trip(ports: list[tuple[int, str]], separator: str) -> None:
    """Distinct valid ports, typed any way, read back in order, and so does their formatting."""
    typed = separator.join(f"{port}{spelling}" for port, spelling in ports)
    expected = tuple(
        PortMapping(host_port=port, protocol=PORT_SPELLINGS[spelling]) for port, spelling in ports
    )
    assert accepted(**{ids.PORTS: typed}).container_config.ports == expected
    formatted = ", ".join(format_ports(expected))
    assert accepted(**{ids.PORTS: formatted}).container_config.ports == expected


@FAST
@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]*", fullmatch=True),
        st.text(alphabet=st.characters(codec="utf-8")),
        max_size=10,
    )
)
def test_double_quoted_values_round_trip(variables: dict[str, str]) -> None:
    """Any names and values, written as escaped double-quoted `.env` lines, read back unchanged."""

    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    text = "\n".join(f"{name}={quoted(value)}" for name, value in variables.items())
    request = accepted(**{ids.ENVIRONMENT_VARIABLES: text})
    assert request.container_config.environment_variables == variables


@FAST
@given(st.text())
def test_any_command_text_gives_a_command(text: str) -> None:
    """Whatever follows the slash command, the result is one of the four commands."""
    result = parse_command_text(text)
    assert isinstance(result, OpenModal | ShowHelp | Subcommand | Unusable)
    if isinstance(result, OpenModal):
        assert set(result.prefill) <= set(ids.INPUT_BLOCKS)


def test_prefill_from_a_stored_request_round_trips_without_secrets() -> None:
    """A stored request prefills the modal so that submitting it again gives the same request,
    less the secrets the user must type again."""
    original = accepted(
        ports="80, 443/https",
        environment_variables='A=1\nQUOTED="two words"\nMULTI="line1\\nline2"\nDB_PASSWORD=s3cret',
        ssh_pub_keys=ED25519,
        startup_script="echo hi",
        docker_login="me",
        docker_password="pw",
        metadata="team=infra",
    )
    prefilled = prefill_from(original.redacted(), requester="U1", viewer="U1")
    prefill = prefilled.fields
    assert prefilled.masked == ("DB_PASSWORD",)
    assert prefilled.script_withheld_from is None
    assert ids.DOCKER_PASSWORD not in prefill
    assert ids.EXTERNAL_DEPLOYMENT_ID not in prefill
    assert "DB_PASSWORD" not in prefill[ids.ENVIRONMENT_VARIABLES]
    assert ids.DOCKER_SERVER not in prefill  # Docker Hub is the default again
    again = accepted(**prefill, docker_password="pw")
    expected_env = dict(original.container_config.environment_variables)
    del expected_env["DB_PASSWORD"]
    assert again.container_config.environment_variables == expected_env
    assert again.container_config.ports == original.container_config.ports
    assert again.ssh_pub_keys == original.ssh_pub_keys
    assert again.metadata == original.metadata
    assert again.container_config.docker_auth == original.container_config.docker_auth
    assert again.container_config.startup_script == "echo hi"


@pytest.mark.parametrize(
    "name",
    [
        "DB_PASSWORD",
        "PGPASS",
        "DB_PASS",
        "MYSQL_PWD",
        "SENTRY_DSN",
        "BASIC_AUTH",
        "AUTHORIZATION",
        "SSH_PRIVATE_KEY_PATH",
        "TLS_CERT",
        "SESSION_SALT",
        "COOKIE_SIGNING",
        "github_token",
        "Api_Key",
        "AWS_SECRET_ACCESS",
        "GOOGLE_CREDENTIALS",
    ],
)
def test_values_of_secret_names_are_masked_when_stored(name: str) -> None:
    """Names holding PASS, PWD, DSN, AUTH, PRIVATE, CERT, SESSION, COOKIE (as well as PASSWORD,
    SECRET, TOKEN, KEY, CREDENTIAL), in any case, are masked in what deploybot stores; Hiveon
    still receives the value as typed."""
    request = accepted(environment_variables=f"{name}=hunter2-value", metadata=f"{name}=meta")
    stored = request.redacted()
    assert stored["container_config"]["environment_variables"] == {name: "••••"}
    assert stored["metadata"] == {name: "••••"}
    sent = request.to_payload()
    assert sent["container_config"]["environment_variables"] == {name: "hunter2-value"}
    assert sent["metadata"] == {name: "meta"}


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("postgres://app:pw@db/app", "postgres://app:••••@db/app"),
        (
            "postgresql+psycopg://app:p%40ss:w0rd@db:5432/app?ssl=1",
            "postgresql+psycopg://app:••••@db:5432/app?ssl=1",
        ),
        ("redis://:only-password@cache:6379/0", "redis://:••••@cache:6379/0"),
        (
            "primary=mysql://u:one@a,replica=mysql://v:two@b",
            "primary=mysql://u:••••@a,replica=mysql://v:••••@b",
        ),
        ("https://example.com/path?user=a:b@c", "https://example.com/path?user=a:b@c"),
        ("https://user@example.com/", "https://user@example.com/"),
        ("plain text: no url", "plain text: no url"),
    ],
)
def test_the_password_of_a_url_with_credentials_is_masked_in_any_value(
    value: str, stored: str
) -> None:
    """A URL with credentials has its password masked in any env or metadata value, whatever the
    name; URLs without a password and other text are kept as typed."""
    request = accepted(environment_variables=f'UPSTREAM="{value}"', metadata=f'SOURCE="{value}"')
    assert request.redacted()["container_config"]["environment_variables"] == {"UPSTREAM": stored}
    assert request.redacted()["metadata"] == {"SOURCE": stored}
    assert request.to_payload()["container_config"]["environment_variables"] == {"UPSTREAM": value}


def test_values_with_a_masked_url_password_are_not_prefilled() -> None:
    """A value stored with its URL password masked is left out of the prefill (it would send
    `••••` to Hiveon) and named as one to type again; the rest of the variables are kept."""
    request = accepted(environment_variables="DATABASE_URL=postgres://app:pw@db/app\nMODE=prod")
    prefilled = prefill_from(request.redacted(), requester="U1", viewer="U1")
    assert prefilled.fields[ids.ENVIRONMENT_VARIABLES] == "MODE=prod"
    assert prefilled.masked == ("DATABASE_URL",)


def test_someone_elses_startup_script_is_not_prefilled() -> None:
    """Redeploying someone else's deployment leaves their startup script empty and says whose it
    was; the requester gets it back."""
    request = accepted(startup_script="export TOKEN=abc; ./run.sh", environment_variables="A=1")
    theirs = prefill_from(request.redacted(), requester="UALICE", viewer="UBOB")
    assert ids.STARTUP_SCRIPT not in theirs.fields
    assert theirs.script_withheld_from == "UALICE"
    assert theirs.fields[ids.ENVIRONMENT_VARIABLES] == "A=1"
    own = prefill_from(request.redacted(), requester="UALICE", viewer="UALICE")
    assert own.fields[ids.STARTUP_SCRIPT] == "export TOKEN=abc; ./run.sh"
    assert own.script_withheld_from is None
