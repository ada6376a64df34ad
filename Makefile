# ratecard: two commands do all the set-up on a fresh machine.
#   make run   - create .venv if missing, install ratecard, serve the HTTP API on the default
#                SQLite store (schema upgraded; a demo account tree seeded on an empty database)
#   make test  - create .venv if missing, install ratecard with test tools, run the whole suite
#                (ruff, mypy, lint-imports: the core's layers in pyproject.toml, then pytest)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: run test lint typecheck check postgres browser java clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,spark]'
	touch $@ $(STAMP_RUN)

HOST ?= 127.0.0.1
PORT ?= 8000

run: $(STAMP_RUN)
	$(BIN)/ratecard db upgrade
	$(BIN)/ratecard serve --demo --host $(HOST) --port $(PORT)

test: $(STAMP_DEV) postgres browser java
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests

typecheck: $(STAMP_DEV)
	$(BIN)/mypy

# Start the local PostgreSQL cluster if it is not accepting connections (CI machines have one
# installed but possibly stopped). Storage tests fail, never skip, when it cannot be reached.
postgres:
	@bash scripts/ensure-postgres.sh

# The console's browser tests (tests/browser) drive Debian's chromium through Playwright (never
# `playwright install`: it downloads a browser). Installed here when missing; the tests fail,
# never skip, without it.
browser:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

# The Spark engine's tests (tests/scale) start PySpark, which needs a Java runtime (17+): this
# machine kind ships one; installed here from Debian's packages when missing.
java:
	@command -v java >/dev/null || (apt-get update && apt-get install -y openjdk-17-jre-headless)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .import_linter_cache
