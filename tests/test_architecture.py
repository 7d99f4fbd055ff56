"""The import rules of the house: blocks/ pure, the vendor client free of Slack, one env reader."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _top(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def test_blocks_are_pure() -> None:
    """blocks/ imports only the standard library and itself."""
    forbidden = {"bot", "slack_bolt", "slack_sdk", "httpx", "dotenv", "os", "aiohttp", "pydantic"}
    for path in (ROOT / "blocks").glob("*.py"):
        assert not _top(_imports(path)) & forbidden, path.name


def test_vendor_client_knows_nothing_of_slack() -> None:
    """The vendor client and the sandbox import no Slack SDK and no blocks."""
    for name in ("vendor.py", "sandbox.py", "deployment.py"):
        imported = _top(_imports(ROOT / "bot" / name))
        assert not imported & {"slack_bolt", "slack_sdk", "blocks"}, name


def test_only_the_entry_point_reads_the_environment() -> None:
    """Only bot/__main__.py imports os or dotenv's loaders (its text parser is fine elsewhere);
    bot/testing/processes.py hands the processes it starts an environment, never reads one."""
    starter = ROOT / "bot" / "testing" / "processes.py"
    for path in (ROOT / "bot").rglob("*.py"):
        if path.name == "__main__.py" or path == starter:
            continue
        assert not _imports(path) & {"dotenv", "dotenv.main", "os"}, path.name


def test_only_listeners_and_the_app_import_bolt() -> None:
    """slack_bolt stays in the listeners, the app factory (and its OAuth wiring), the server and
    the entry point."""
    allowed = {"app.py", "oauth.py", "server.py", "__main__.py"}
    for path in (ROOT / "bot").rglob("*.py"):
        if path.parent.name == "listeners" or path.name in allowed:
            continue
        assert "slack_bolt" not in _top(_imports(path)), path.name


def test_the_bot_does_not_know_the_playground() -> None:
    """Only the entry point imports bot.playground: local mode is configuration to the bot."""
    for path in (ROOT / "bot").rglob("*.py"):
        if path.name == "__main__.py" or path.parent.name == "playground":
            continue
        assert not any(name.startswith("bot.playground") for name in _imports(path)), path.name


def test_leaf_modules_import_nothing_of_the_bot() -> None:
    """The shared types and constants (ports, Slack's failures, the look-ups) sit below the
    modules that share them, so dependencies point down."""
    for name in ("deployment.py", "slack_errors.py", "lookups.py"):
        imported = _top(_imports(ROOT / "bot" / name))
        assert not imported & {"bot", "blocks"}, name


def test_listeners_hand_requests_to_services() -> None:
    """No listener imports the storage, the vendor client, the follower or the messenger: each
    hands its request to a service (bot.service, bot.follow_up, bot.administration)."""
    forbidden = {
        "bot.store",
        "bot.workspaces",
        "bot.vendor",
        "bot.follow",
        "bot.messenger",
        "bot.access",
    }
    for path in (ROOT / "bot" / "listeners").glob("*.py"):
        assert not _imports(path) & forbidden, path.name


def test_the_bot_does_not_know_its_stand_ins() -> None:
    """Only the playground and the stand-ins themselves import bot.testing: the bot never runs
    against a fake unless it is configured to reach one."""
    for path in (ROOT / "bot").rglob("*.py"):
        if path.parent.name in {"playground", "testing"}:
            continue
        assert not any(name.startswith("bot.testing") for name in _imports(path)), path.name


def test_benchmarks_do_not_import_the_tests() -> None:
    """What benchmarks share with the tests lives in bot.testing, not in tests/."""
    for path in (ROOT / "benchmarks").rglob("*.py"):
        assert "tests" not in _top(_imports(path)), path.name
