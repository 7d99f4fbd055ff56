"""Copy as curl: the stored start request as a POSIX shell command, every secret a variable."""

import json
import shlex
from typing import Any

from bot.curl import curl_command
from bot.deployment import MASK

REQUEST = {
    "machine_id": "m-1",
    "machine_price_id": "p-1",
    "external_deployment_id": "ext-1",
    "container_config": {
        "image": "nginx:latest",
        "docker_auth": {"server": "ghcr.io", "login": "robot", "password": MASK},
        "startup_script": "echo 'hi' $(id) `id`",
        "environment_variables": {
            "MODE": "prod",
            "DB_PASSWORD": MASK,
            "DATABASE_URL": f"postgres://app:{MASK}@db/app",
            "HIVEON_API_KEY": MASK,
        },
    },
    "metadata": {"MODE": "meta", "DB_PASSWORD": MASK, "team": "payments"},
}


def words(command: str) -> list[str]:
    """The command as a shell splits it (line continuations joined)."""
    return shlex.split(command.replace("\\\n", " "))


def test_the_command_posts_the_compact_body_with_the_vendors_headers() -> None:
    """URL, headers and the compact JSON body, one `-H`/`--data-binary` per line."""
    request = {"machine_id": "m-1", "machine_price_id": "p-1", "container_config": {"image": "a"}}
    command = curl_command(request, base_url="https://api.hiveon.ai/", with_script=True)
    assert command.text == (
        "curl -X POST https://api.hiveon.ai/vendors/v1/machines/deployments/start \\\n"
        "  -H 'Accept: application/json' \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        '  -H "X-API-Key: $HIVEON_API_KEY" \\\n'
        '  --data-binary \'{"machine_id":"m-1","machine_price_id":"p-1",'
        '"container_config":{"image":"a"}}\''
    )
    assert command.variables == ("HIVEON_API_KEY",)


def body(command: str) -> dict[str, Any]:
    """The JSON body as the shell hands it to curl, its variables not yet expanded."""
    parsed: dict[str, Any] = json.loads(words(command)[-1])
    return parsed


def test_every_masked_value_is_a_variable_of_its_name_and_nothing_masked_remains() -> None:
    """The registry password, each masked environment or metadata value (a masked URL whole)
    becomes a variable; names that are taken get a prefix; no mask is left in the command."""
    command = curl_command(REQUEST, base_url="https://h", with_script=True)
    assert MASK not in command.text
    assert command.variables == (
        "HIVEON_API_KEY",
        "REGISTRY_PASSWORD",
        "DB_PASSWORD",
        "DATABASE_URL",
        "ENV_HIVEON_API_KEY",
        "METADATA_DB_PASSWORD",
    )
    sent = body(command.text)
    config = sent["container_config"]
    assert config["docker_auth"]["password"] == "$REGISTRY_PASSWORD"
    assert config["environment_variables"] == {
        "MODE": "prod",
        "DB_PASSWORD": "$DB_PASSWORD",
        "DATABASE_URL": "$DATABASE_URL",
        "HIVEON_API_KEY": "$ENV_HIVEON_API_KEY",
    }
    assert sent["metadata"] == {
        "MODE": "meta",
        "DB_PASSWORD": "$METADATA_DB_PASSWORD",
        "team": "payments",
    }
    assert sent["external_deployment_id"] == "ext-1"


def test_what_a_user_typed_stays_literal_for_the_shell() -> None:
    """Quotes, `$(…)` and backticks in a startup script are single-quoted: the shell word
    holds them as typed, and only deploybot's variables are double-quoted expansions."""
    command = curl_command(REQUEST, base_url="https://h", with_script=True)
    assert body(command.text)["container_config"]["startup_script"] == "echo 'hi' $(id) `id`"
    assert '"$(id)' not in command.text
    assert "'\"'\"'hi'\"'\"' $(id) `id`" in command.text


def test_someone_elses_startup_script_is_a_variable() -> None:
    """Without the script (for anyone but whoever started it) it is `$STARTUP_SCRIPT`."""
    command = curl_command(REQUEST, base_url="https://h", with_script=False)
    assert "echo" not in command.text
    assert body(command.text)["container_config"]["startup_script"] == "$STARTUP_SCRIPT"
    assert "STARTUP_SCRIPT" in command.variables
