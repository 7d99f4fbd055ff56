# The two commands of the quick start: `make run` and `make test`; `make test-fast` while working.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint format bench screenshot clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -qq --upgrade pip
	$(BIN)/pip install -qq -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot

test: $(STAMP)
	@[ -n "$$DEPLOYBOT_TEST_POSTGRES_URL" ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  || command -v initdb >/dev/null || echo "make test: PostgreSQL not found, so the tests' \
	PostgreSQL runs will fail. Install it (sudo apt-get install postgresql) or set \
	DEPLOYBOT_TEST_POSTGRES_URL to a server's admin URL (see README)." >&2
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy bot blocks tests benchmarks
	$(BIN)/pytest

# The pure tests only, in seconds: no process, server or browser (those are marked e2e).
test-fast: $(STAMP)
	$(BIN)/pytest -m "not e2e"

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

# The README's picture of the playground, taken by its browser test mid-deployment.
screenshot: $(STAMP)
	$(BIN)/pytest -q tests/test_playground_browser.py -k newcomer \
		--playground-screenshot docs/playground.png

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
