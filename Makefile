# The two commands of the quick start: `make run` and `make test`; `make test-fast` while working.
#
# Python packages are installed from uv.lock by uv, itself pinned here and kept in a small venv
# of its own (.uv/). What pip cannot install (Debian's venv support, PostgreSQL, Chromium),
# .ci/system-packages installs when missing. `make run` installs the runtime packages only;
# `make test` adds the dev group. Neither removes what the other installed, so running one
# after the other installs nothing more.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .uv
UV := $(TOOLS)/bin/uv
UV_STAMP := $(TOOLS)/.uv-$(UV_VERSION)
VENV := .venv
BIN := $(VENV)/bin
# The packages are compiled to bytecode as they are installed, and the bot's own modules before
# it starts (COMPILE, below): a start then reads bytecode even where PYTHONDONTWRITEBYTECODE
# keeps Python from writing it, which otherwise compiles every module at every start.
SYNC := $(UV) sync --locked --python $(PYTHON) --quiet --compile-bytecode
# uv uses $(PYTHON), never an interpreter of its own download, and the project's venv is .venv
# whatever a developer's environment says.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
export PYTHON

.PHONY: run test test-fast system-packages format lock bench screenshot clean bytecode

$(UV_STAMP):
	bash .ci/system-packages venv
	rm -rf $(TOOLS)
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	touch $@

# The venv is synced again when the lock, the project or this file (how it syncs) changes.
# Runtime packages only; --inexact leaves the dev group alone if `make test` installed it.
$(VENV)/.runtime: $(UV_STAMP) pyproject.toml uv.lock Makefile
	$(SYNC) --no-dev --inexact
	touch $@

# Runtime and dev packages, exactly as locked (anything else is removed).
$(VENV)/.dev: $(UV_STAMP) pyproject.toml uv.lock Makefile
	$(SYNC)
	touch $@ $(VENV)/.runtime

# The bot's own modules compiled: only those changed since their last compilation. Run, test
# and bench do it in their recipes, after their venv is synced (a prerequisite could run
# beside that sync under make -j).
COMPILE := $(BIN)/python -m compileall -q bot blocks

bytecode: $(VENV)/.runtime
	$(COMPILE)

run: $(VENV)/.runtime
	$(COMPILE)
	$(BIN)/deploybot

# The tests run on SQLite and on PostgreSQL: on the server DEPLOYBOT_TEST_POSTGRES_URL names, or
# on throwaway ones started from PostgreSQL's programs.
system-packages:
	bash .ci/system-packages $(if $(DEPLOYBOT_TEST_POSTGRES_URL),chromium,postgresql chromium)

test: system-packages $(VENV)/.dev
	$(COMPILE)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy bot blocks tests benchmarks
	$(BIN)/hadolint Dockerfile
	$(BIN)/pytest

# The pure tests only, in seconds: no process, server or browser (those are marked e2e).
test-fast: $(VENV)/.dev
	$(BIN)/pytest -m "not e2e"

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every pin in uv.lock moved to the newest release that pyproject.toml's ranges allow.
lock: $(UV_STAMP)
	$(UV) lock --upgrade

# The scale-out phase runs on PostgreSQL: DEPLOYBOT_TEST_POSTGRES_URL's server, or a throwaway one.
bench: $(VENV)/.dev
	$(COMPILE)
	$(if $(DEPLOYBOT_TEST_POSTGRES_URL),,bash .ci/system-packages postgresql)
	$(BIN)/python -m benchmarks.run

# The README's picture of the playground, taken by its browser test mid-deployment.
screenshot: system-packages $(VENV)/.dev
	$(BIN)/pytest -q tests/test_playground_browser.py -k newcomer \
		--playground-screenshot docs/playground.png

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache .hypothesis
