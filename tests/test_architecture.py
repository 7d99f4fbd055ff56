"""The import rules of the house, as allowlists: every module of bot/ has a layer and imports
only its own layer and those below; blocks/ only the standard library; no circles.

docs/architecture.md draws the same layers; a new module must be placed here (and there)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Each of the bot's modules and the layer it sits in, lowest first. A module imports modules of
# its own layer or of lower ones, never of a higher one.
LAYERS: dict[str, tuple[str, ...]] = {
    "leaves: settings, data and small shared parts": (
        "bot",
        "bot.boundary",
        "bot.cache",
        "bot.config",
        "bot.crypto",
        "bot.deployment",
        "bot.domain",
        "bot.log_context",
        "bot.logs",
        "bot.lookups",
        "bot.metrics",
        "bot.modal_context",
        "bot.models",
        "bot.outcome",
        "bot.parsing",
        "bot.slack_errors",
        "bot.tasks",
    ),
    "readers, clients and the edges' stand-ins": (
        "bot.cards",
        "bot.command_text",
        "bot.curl",
        "bot.durations",
        "bot.env_files",
        "bot.form",
        "bot.http_transport",
        "bot.images",
        "bot.installations",
        "bot.key_check",
        "bot.messenger",
        "bot.asker",
        "bot.migrations",
        "bot.migrations.env",
        "bot.migrations.models",
        "bot.sandbox",
        "bot.ssh_keys",
        "bot.testing",
        "bot.testing.clock",
        "bot.testing.fake_slack",
        "bot.testing.loopback",
        "bot.testing.postgres",
        "bot.testing.processes",
        "bot.testing.seed",
        "bot.testing.slack_limits",
        "bot.testing.slack_requests",
        "bot.testing.slack_standin",
        "bot.vendor",
    ),
    "storage": ("bot.access", "bot.preset_store", "bot.store", "bot.workspaces"),
    "services": (
        "bot.administration",
        "bot.approvals",
        "bot.auto_stop",
        "bot.follow",
        "bot.follow_up",
        "bot.oauth",
        "bot.presets",
        "bot.service",
    ),
    "listeners": (
        "bot.listeners",
        "bot.listeners.actions",
        "bot.listeners.admin",
        "bot.listeners.commands",
        "bot.listeners.events",
        "bot.listeners.presets",
        "bot.listeners.shortcuts",
        "bot.listeners.guardrails",
        "bot.listeners.views",
        "bot.listeners.workflows",
    ),
    "the app": ("bot.app",),
    "serving and the console": ("bot.cli", "bot.preflight", "bot.server", "bot.setup_page"),
    "entry and the playground": (
        "bot.__main__",
        "bot.playground",
        "bot.playground.actions",
        "bot.playground.local",
        "bot.playground.routes",
        "bot.playground.workspace",
        "bot.testing.clocked",
    ),
}
RANK = {module: rank for rank, modules in enumerate(LAYERS.values()) for module in modules}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(package: str) -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in sorted((ROOT / package).rglob("*.py"))
        if "versions" not in path.parts  # migration revisions import nothing of the bot
    }


@cache
def _imports(path: Path) -> frozenset[str]:
    """Every module a file imports, `from package import module` counted as the module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(found)


def _bot_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    return {name for name in _imports(path) if name in modules} - {_module_name(path)}


def _top(names: frozenset[str] | set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def _files(*packages: str) -> Iterator[Path]:
    for package in packages:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_every_module_of_the_bot_has_a_layer() -> None:
    """A module nobody placed would escape the rules: each one is in exactly one layer."""
    placed = [module for modules in LAYERS.values() for module in modules]
    assert len(placed) == len(set(placed))
    assert set(_modules("bot")) == set(placed)


def test_imports_point_down_the_layers() -> None:
    """No module imports one of a higher layer: entry → app → listeners → services → storage →
    readers and clients → leaves."""
    modules = _modules("bot")
    upward = [
        f"{importer} (layer {RANK[importer]}) imports {imported} (layer {RANK[imported]})"
        for importer, path in modules.items()
        for imported in _bot_imports(path, modules)
        if RANK[imported] > RANK[importer]
    ]
    assert upward == []


def test_there_are_no_import_circles() -> None:
    """Following imports from any module of the bot never leads back to it."""
    modules = _modules("bot")
    graph = {name: _bot_imports(path, modules) for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            circle = " → ".join((*trail[trail.index(name) :], name))
            raise AssertionError(f"import circle: {circle}")
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, (*trail, name))
        done.add(name)

    for name in sorted(graph):
        visit(name, ())


def test_blocks_import_the_standard_library_only() -> None:
    """blocks/ renders every word a user reads from plain data: the standard library and its
    own modules, nothing else (no Slack SDK, no pydantic, nothing of bot/)."""
    allowed = set(sys.stdlib_module_names) | {"blocks", "__future__"}
    for path in _files("blocks"):
        assert _top(_imports(path)) <= allowed, (path.name, _top(_imports(path)) - allowed)


def test_settings_import_nothing_of_the_bot() -> None:
    """bot/config.py is a leaf every layer may read: it imports nothing from bot/ or blocks/."""
    assert not _top(_imports(ROOT / "bot" / "config.py")) & {"bot", "blocks"}


def test_httpx_stays_in_the_vendor_client_and_its_sandbox() -> None:
    """The Hiveon client, its transport and its sandbox are the only places httpx is used (the
    stand-ins' process starters also talk to the processes they start)."""
    allowed = {"vendor.py", "http_transport.py", "sandbox.py"}
    for path in _files("bot"):
        if path.name in allowed or "testing" in path.parts:
            continue
        assert "httpx" not in _top(_imports(path)), path.name


def test_the_vendor_client_knows_nothing_of_slack() -> None:
    """The vendor client, its sandbox and the request model import no Slack SDK and no blocks:
    they could be lifted into another project."""
    for name in ("vendor.py", "http_transport.py", "sandbox.py", "deployment.py"):
        imported = _top(_imports(ROOT / "bot" / name))
        assert not imported & {"slack_bolt", "slack_sdk", "blocks"}, name


def test_only_the_entry_point_reads_the_environment() -> None:
    """Only bot/__main__.py imports os or dotenv's loaders (its text parser is fine elsewhere);
    bot/testing/processes.py hands the processes it starts an environment, never reads one;
    bot/testing/postgres.py reads only the setting naming the tests' PostgreSQL server."""
    allowed = {ROOT / "bot" / "testing" / "processes.py", ROOT / "bot" / "testing" / "postgres.py"}
    for path in _files("bot"):
        if path.name == "__main__.py" or path in allowed:
            continue
        assert not _imports(path) & {"dotenv", "dotenv.main", "os"}, path.name


def test_only_listeners_and_the_app_import_bolt() -> None:
    """slack_bolt stays in the listeners, the app factory (and its OAuth wiring), the server and
    the entry point."""
    allowed = {"app.py", "oauth.py", "server.py", "__main__.py"}
    for path in _files("bot"):
        if path.parent.name == "listeners" or path.name in allowed:
            continue
        assert "slack_bolt" not in _top(_imports(path)), path.name


def test_listeners_hand_requests_to_services() -> None:
    """No listener imports the storage, the vendor client, the follower or the messenger: each
    hands its request to a service (bot.service, bot.follow_up, bot.administration)."""
    forbidden = {
        "bot.store",
        "bot.models",
        "bot.workspaces",
        "bot.vendor",
        "bot.follow",
        "bot.messenger",
        "bot.access",
    }
    for path in _files("bot/listeners"):
        assert not _imports(path) & forbidden, path.name


def test_the_bot_knows_neither_the_playground_nor_the_stand_ins() -> None:
    """Only the entry point imports bot.playground, and only the playground and the stand-ins
    import bot.testing: the bot never runs against a fake unless configured to reach one."""
    for path in _files("bot"):
        names = _imports(path)
        if path.name != "__main__.py" and "playground" not in path.parts:
            assert not any(name.startswith("bot.playground") for name in names), path.name
        if not {"playground", "testing"} & set(path.parts):
            assert not any(name.startswith("bot.testing") for name in names), path.name


def test_benchmarks_do_not_import_the_tests() -> None:
    """What benchmarks share with the tests lives in bot.testing, not in tests/."""
    for path in _files("benchmarks"):
        assert "tests" not in _top(_imports(path)), path.name
