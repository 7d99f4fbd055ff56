"""What a Python buildpack reads: the Procfile's processes and the Python version."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_procfile_serves_on_a_public_address_and_migrates_on_release() -> None:
    """`web` runs the console command listening on every interface (so that, before the Slack
    app exists, the setup page is reachable); `release` upgrades the schema once per release."""
    processes = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert processes == {
        "web": "DEPLOYBOT_HOST=0.0.0.0 deploybot",
        "release": "deploybot migrate",
    }


def test_the_python_version_is_one_the_project_supports() -> None:
    """`.python-version` names a Python the project's `requires-python` admits (3.11)."""
    assert (ROOT / ".python-version").read_text().strip() == "3.11"
    assert 'requires-python = ">=3.11"' in (ROOT / "pyproject.toml").read_text()
