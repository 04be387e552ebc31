# The two commands of the README:
#   make run    set everything up, migrate the SQLite database, serve http://127.0.0.1:5000
#   make test   set everything up, lint, run the whole test suite
# Both install the exact versions of requirements.lock; `make lock` updates it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run test lint format bench bench-instructions bench-large lock translations

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

# The interface's languages (docs/i18n.md): collect every marked string of
# service/ and templates/ into messages.pot, merge it into each catalog (new
# and changed strings arrive empty: translate them, then `make test`), and
# compile each catalog to check it and count what is left. The app
# compiles the .po files itself when it starts; no .mo file is kept.
CATALOGS := service/translations
translations: install
	$(BIN)/pybabel -q extract -F babel.cfg -k lazy_gettext -k _l --add-location file \
		--sort-output --project "Flasky, async" -c TRANSLATORS: -o $(CATALOGS)/messages.pot .
	$(BIN)/pybabel -q update --ignore-obsolete --no-fuzzy-matching \
		-i $(CATALOGS)/messages.pot -d $(CATALOGS)
	for po in $(CATALOGS)/*/LC_MESSAGES/messages.po; do \
		$(BIN)/pybabel compile --statistics -i $$po -o /dev/null || exit 1; \
	done

bench: install
	$(BIN)/python bench/run.py

# Instructions per request, counted by valgrind: the figure to compare before
# and after a change on a busy machine (see docs/performance.md).
bench-instructions: install
	$(BIN)/python -m bench.instructions

# The large database (SPEC 8.6): fills DATABASE_URL once (about 5 minutes for a
# million posts on PostgreSQL), then measures the pages that must stay fast.
bench-large: install
	$(BIN)/python -m bench.large --database-url "$(DATABASE_URL)"
