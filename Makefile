# The two commands of the README:
#   make run    set everything up, migrate the SQLite database, serve http://127.0.0.1:5000
#   make test   set everything up, lint, run the whole test suite
# Both install the exact versions of requirements.lock; `make lock` updates it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run test lint format bench lock

# Every package, direct and indirect, at the version the lock pins (hashes
# checked); the project itself then goes in without resolving anything more.
$(BIN)/flasky: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(BIN)/flasky

run: install
	$(BIN)/flasky deploy
	$(BIN)/hypercorn service.asgi:app --bind $(HOST):$(PORT) --access-logfile -

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/pytest

# Resolve the newest versions that pyproject.toml allows (runtime and dev) for
# Python 3.11 on Linux, the oldest Python supported; review, test, commit.
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --upgrade --generate-hashes \
		--python-version 3.11 --python-platform linux --custom-compile-command "make lock" \
		--quiet -o requirements.lock

bench: install
	$(BIN)/python bench/run.py
