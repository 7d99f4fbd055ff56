"""The container recipe, read as Docker reads it (no image can be built here): a slim, pinned
Python base, installs from the lock, a user without privileges, the port, a health check, the
command; and a build context without secrets or local state."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parent.parent
Instruction = tuple[str, str]  # its keyword and its value: ("COPY", "bot ./bot")


@pytest.fixture(name="dockerfile", scope="module")
def _dockerfile() -> DockerfileParser:
    """The repository's Dockerfile, parsed (build arguments at their defaults)."""
    return DockerfileParser(path=str(ROOT / "Dockerfile"))


def stages(dockerfile: DockerfileParser) -> list[list[Instruction]]:
    """The instructions of each stage, its FROM first."""
    found: list[list[Instruction]] = []
    for instruction in dockerfile.structure:
        if instruction["instruction"] == "FROM":
            found.append([])
        if found:
            found[-1].append((instruction["instruction"], instruction["value"]))
    return found


def values(stage: list[Instruction], name: str) -> list[str]:
    """The values of a stage's instructions of one kind."""
    return [value for keyword, value in stage if keyword == name]


def test_several_stages_on_a_slim_python_pinned_to_its_patch_release(
    dockerfile: DockerfileParser,
) -> None:
    """A builder stage and a final one, each on the same slim Python 3.11 image, pinned to a
    patch release so that a rebuild gets the same interpreter."""
    assert dockerfile.is_multistage
    assert len(stages(dockerfile)) >= 2
    assert len(set(dockerfile.parent_images)) == 1
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+", dockerfile.parent_images[0])


def test_the_builder_installs_from_the_lock_without_the_dev_group(
    dockerfile: DockerfileParser,
) -> None:
    """The builder copies pyproject.toml and uv.lock and runs `uv sync --locked --no-dev` (the
    lock must match the project, and only runtime packages go in), the bot not editable."""
    builder = stages(dockerfile)[0]
    assert "pyproject.toml uv.lock ./" in values(builder, "COPY")
    syncs = [shlex.split(run) for run in values(builder, "RUN") if run.startswith("uv sync")]
    assert syncs
    for sync in syncs:
        assert {"--locked", "--no-dev"} <= set(sync)
    assert "--no-editable" in syncs[-1]


def test_uv_is_the_version_the_makefile_pins(dockerfile: DockerfileParser) -> None:
    """The image's uv is the developers' uv: one version, set in the Makefile and here."""
    pinned = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert pinned is not None
    installs = [run for run in values(stages(dockerfile)[0], "RUN") if "pip install" in run]
    assert installs == [f"pip install --no-cache-dir uv=={pinned.group(1)}"]


def test_the_final_stage_runs_deploybot_unprivileged_with_a_health_check(
    dockerfile: DockerfileParser,
) -> None:
    """The final stage takes only the builder's venv, runs as a numeric user other than root,
    exposes 3000, checks GET /healthz, and runs `deploybot`."""
    final = stages(dockerfile)[-1]
    assert [v for v in values(final, "COPY") if v.startswith("--from=")] == [
        "--from=builder /opt/deploybot /opt/deploybot"
    ]
    [user] = values(final, "USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit()
    assert int(uid) != 0
    assert gid.isdigit()
    assert values(final, "EXPOSE") == ["3000"]
    [healthcheck] = values(final, "HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert "curl" not in healthcheck  # the slim image has none
    assert json.loads(values(final, "CMD")[-1]) == ["deploybot"]
    assert dockerfile.envs["DEPLOYBOT_HOST"] == "0.0.0.0"  # noqa: S104 — reached from outside


def test_every_file_the_image_copies_is_in_the_repository(dockerfile: DockerfileParser) -> None:
    """Each COPY from the build context names a file or folder of the repository."""
    for stage in stages(dockerfile):
        for copy in values(stage, "COPY"):
            if copy.startswith("--from="):
                continue
            *sources, _destination = copy.split()
            for source in sources:
                assert (ROOT / source).exists(), source


def test_the_build_context_leaves_out_secrets_and_local_state() -> None:
    """.dockerignore keeps .env, the venvs, git, caches and SQLite files out of the image."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    entries = [line for line in lines if line and not line.startswith("#")]
    for excluded in (".env", ".venv", ".uv", ".git", "*.sqlite3", "**/__pycache__"):
        assert excluded in entries
    for needed in ("pyproject.toml", "uv.lock", "README.md", "bot", "blocks"):
        assert not any(entry.strip("!/*") == needed for entry in entries), needed
