"""How a checkout installs: `.ci/system-packages` installs only what is missing, and `make run`
and `make test` share one venv, each installing only its own part of the lock."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from bot.testing import postgres

pytestmark = pytest.mark.e2e  # each test runs a process

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".ci" / "system-packages"
APT = "env DEBIAN_FRONTEND=noninteractive apt-get"


def system_packages(
    *needs: str, root: Path | None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`.ci/system-packages --dry-run NEED…`, looking for files under `root` (None: this
    machine's own)."""
    machine_root = {} if root is None else {"DEPLOYBOT_SYSTEM_ROOT": str(root)}
    return subprocess.run(  # noqa: S603 — the project's own script
        ["/bin/bash", str(SCRIPT), "--dry-run", *needs],
        env={**os.environ, "PYTHON": sys.executable, **machine_root, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def program(directory: Path, name: str, script: str) -> Path:
    """A stand-in program: a shell script in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


def machine(tmp_path: Path, *, postgresql: bool, chromium: bool) -> Path:
    """A machine's files as the script looks for them, with or without each package."""
    root = tmp_path / "machine"
    root.mkdir()
    if postgresql:
        program(root / "usr" / "lib" / "postgresql" / "15" / "bin", "initdb", "exit 0")
    if chromium:
        program(root / "usr" / "bin", "chromium", "exit 0")
    return root


def test_make_test_left_nothing_to_install_on_this_machine() -> None:
    """Here, where `make test` ran the script before the tests, running it again finds
    everything it installs already there: a second run is a no-op."""
    needs = ["venv", "chromium"] if postgres.CONFIGURED else ["venv", "postgresql", "chromium"]
    done = system_packages(*needs, root=None)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_nothing_is_installed_when_everything_is_there(tmp_path: Path) -> None:
    """With venv support, PostgreSQL and Chromium present, the script runs nothing and says
    nothing."""
    root = machine(tmp_path, postgresql=True, chromium=True)
    done = system_packages("venv", "postgresql", "chromium", root=root)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_a_bare_machine_gets_every_missing_package_in_one_install(tmp_path: Path) -> None:
    """On a machine without them, one apt-get run installs Debian's venv support for the
    Python in use, PostgreSQL and Chromium, after refreshing the package lists."""
    root = machine(tmp_path, postgresql=False, chromium=False)
    # Debian's Python without python3.X-venv: it runs, but has no ensurepip.
    python = program(
        tmp_path / "bin", "python3", 'case "$2" in *ensurepip*) exit 1;; *) echo 3.12;; esac'
    )
    done = system_packages("venv", "postgresql", "chromium", root=root, env={"PYTHON": str(python)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"{APT} update -qq",
        f"{APT} install -y -qq python3.12-venv postgresql chromium",
    ]
    assert "installing python3.12-venv postgresql chromium" in done.stderr


def test_only_what_is_missing_is_installed(tmp_path: Path) -> None:
    """With Chromium there but no PostgreSQL, only postgresql is installed; the Python running
    the tests has its ensurepip."""
    root = machine(tmp_path, postgresql=False, chromium=True)
    done = system_packages("venv", "postgresql", "chromium", root=root)
    assert done.stdout.splitlines() == [f"{APT} update -qq", f"{APT} install -y -qq postgresql"]


def test_a_user_who_is_not_root_installs_through_sudo(tmp_path: Path) -> None:
    """Run by a user other than root, apt-get runs through sudo."""
    root = machine(tmp_path, postgresql=True, chromium=False)
    bin_dir = tmp_path / "bin"
    program(bin_dir, "id", "echo 1000")
    program(bin_dir, "sudo", "exit 1")
    program(bin_dir, "apt-get", "exit 1")
    done = system_packages("chromium", root=root, env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert done.stdout.splitlines() == [
        f"sudo {APT} update -qq",
        f"sudo {APT} install -y -qq chromium",
    ]


def test_without_apt_get_it_says_what_to_install(tmp_path: Path) -> None:
    """Where there is no apt-get (not Debian or Ubuntu), it names what is missing and fails."""
    root = machine(tmp_path, postgresql=False, chromium=True)
    bin_dir = tmp_path / "bin"
    program(bin_dir, "id", "echo 0")
    done = system_packages("postgresql", root=root, env={"PATH": str(bin_dir)})
    assert (done.returncode, done.stdout) == (1, "")
    assert "missing postgresql; this is no Debian or Ubuntu (no apt-get)" in done.stderr


def test_an_unknown_need_is_refused(tmp_path: Path) -> None:
    """A need the script does not know stops it with its usage, before anything runs."""
    done = system_packages(
        "chromium", "redis", root=machine(tmp_path, postgresql=True, chromium=True)
    )
    assert done.returncode == 2
    assert done.stderr.startswith("usage: .ci/system-packages")


# --- the Makefile: one venv, runtime packages for `make run`, the dev group added by `make test`


@pytest.fixture(name="checkout")
def _checkout(tmp_path: Path) -> Path:
    """What the Makefile installs from, copied; the bootstrap uv is this checkout's."""
    if not (ROOT / ".uv" / "bin" / "uv").exists():
        pytest.fail("the bootstrap uv (.uv/) is missing: run the tests through make test")
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("Makefile", "pyproject.toml", "uv.lock", "README.md"):
        shutil.copy2(ROOT / name, checkout / name)
    for name in ("bot", "blocks", ".ci"):
        shutil.copytree(ROOT / name, checkout / name, ignore=shutil.ignore_patterns("__pycache__"))
    (checkout / ".uv").symlink_to(ROOT / ".uv")
    return checkout


def make(checkout: Path, *arguments: str) -> str:
    """`make ARGUMENTS` in the checkout, from uv's cache only (`make test` filled it); its
    output."""
    env = {**os.environ, "UV_OFFLINE": "1", "PYTHON": sys.executable}
    done = subprocess.run(  # noqa: S603 — make, with a target of the project's Makefile
        ["make", "--no-print-directory", *arguments],  # noqa: S607 — make, wherever it is installed
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def installed(checkout: Path) -> set[str]:
    """Which of the telling programs the venv has."""
    programs = {
        "deploybot",
        "uvicorn",
        "alembic",
        "pytest",
        "ruff",
        "mypy",
        "playwright",
        "hadolint",
    }
    return {name for name in programs if (checkout / ".venv" / "bin" / name).exists()}


def test_make_run_and_make_test_share_a_venv_and_never_undo_each_other(checkout: Path) -> None:
    """`make run`'s install has the runtime packages only; `make test`'s adds the dev group;
    after both, neither installs again, and a changed lock makes `make run` update the runtime
    packages without removing the dev group."""
    runtime = {"deploybot", "uvicorn", "alembic"}
    assert "sync --locked" in make(checkout, ".venv/.runtime")
    assert installed(checkout) == runtime
    assert "sync --locked" in make(checkout, ".venv/.dev")
    assert installed(checkout) == runtime | {"pytest", "ruff", "mypy", "playwright", "hadolint"}
    assert "is up to date" in make(checkout, ".venv/.runtime")
    assert "is up to date" in make(checkout, ".venv/.dev")
    (checkout / "uv.lock").touch()
    assert "--no-dev --inexact" in make(checkout, ".venv/.runtime")
    assert "pytest" in installed(checkout)


def test_a_start_finds_every_module_compiled_where_python_writes_no_bytecode(
    checkout: Path,
) -> None:
    """The packages are compiled as they are installed and the bot's modules by `make bytecode`
    (again once changed), a step run, test and bench take before anything else, so a start
    under PYTHONDONTWRITEBYTECODE compiles nothing."""
    make(checkout, ".venv/.runtime")
    tag = sys.implementation.cache_tag
    site = next((checkout / ".venv" / "lib").glob("python3.*/site-packages"))
    for package in ("slack_bolt", "sqlalchemy", "aiohttp", "pydantic"):
        assert (site / package / "__pycache__" / f"__init__.{tag}.pyc").is_file(), package
    make(checkout, "bytecode")
    compiled = checkout / "bot" / "__pycache__" / f"service.{tag}.pyc"
    before = compiled.stat().st_mtime_ns
    assert (checkout / "blocks" / "__pycache__" / f"modal.{tag}.pyc").is_file()
    source = checkout / "bot" / "service.py"
    source.write_text(source.read_text() + "\n# changed\n")
    make(checkout, "bytecode")
    assert compiled.stat().st_mtime_ns > before
    # run, test and bench compile them the same way before they start anything.
    compile_step = ".venv/bin/python -m compileall -q bot blocks"
    for target, starts in (
        ("run", ".venv/bin/deploybot"),
        ("test", ".venv/bin/pytest"),
        ("bench", ".venv/bin/python -m benchmarks.run"),
    ):
        steps = make(checkout, "--dry-run", target).splitlines()
        assert steps.index(compile_step) < steps.index(starts), target
