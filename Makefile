# Fieldkit — two commands do everything on a fresh machine:
#   make run   set up, migrate, load the demo commune if the database is empty, print sign-in
#              links, serve on http://localhost:8000
#   make test  set up and run the whole suite (SQLite, PostgreSQL, real Chromium)
#   make test-fast  the inner loop: no browser, SQLite only
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp
# pytest-xdist workers: one per core and one more, since much of a browser or server test is
# spent waiting (README "Two commands"). TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))

.PHONY: setup run serve test test-fast lint messages bench bench-setup clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/fieldkit migrate
	$(BIN)/fieldkit demo --if-empty --links
	@echo "Fieldkit: http://localhost:$${FIELDKIT_PORT:-8000}  (Ctrl+C để dừng)"
	@# The push worker sends queued notifications beside the app; both stop on Ctrl+C.
	trap 'kill 0' EXIT; $(BIN)/fieldkit push-worker & $(BIN)/python -m pwa

# The production stack on loopback: migrations first, then gunicorn (gunicorn.conf.py) and
# the push worker; Ctrl+C stops both. README "Production" puts a TLS proxy in front.
serve: setup
	$(BIN)/fieldkit migrate
	@echo "Fieldkit (gunicorn): http://localhost:$${FIELDKIT_PORT:-8000}  (Ctrl+C để dừng)"
	trap 'kill 0' EXIT; $(BIN)/fieldkit push-worker & $(BIN)/gunicorn -c gunicorn.conf.py

test: setup lint
	scripts/setup-chromium
	scripts/setup-haproxy
	FIELDKIT_TEST_POSTGRES_URL="$$(scripts/start-postgres)" $(BIN)/pytest -n $(TEST_WORKERS) \
		--durations=15 $(PYTEST_ARGS)

# The inner loop: no browser, SQLite only, no slow fuzz (~1 minute). `make test` stays the
# whole suite, and is what CI runs.
test-fast: setup
	$(BIN)/pytest -q -n $(TEST_WORKERS) --ignore=tests/e2e -m "not postgres and not slow" \
		$(PYTEST_ARGS)

# ruff over the code; mypy over fieldkit/ (its settings: [tool.mypy] in pyproject.toml).
lint: setup
	$(BIN)/ruff check fieldkit pwa tests benchmarks
	$(BIN)/ruff format --check fieldkit pwa tests benchmarks
	$(BIN)/mypy

# Translations (README "Languages"): re-extract every marked string into messages.pot, merge
# it into each language's .po (new strings arrive untranslated), compile the .mo files. All
# three are checked in, so a fresh clone runs without this step; tests/test_i18n.py fails
# when one of them is stale.
PYBABEL_EXTRACT := -F babel.cfg -k _l -k lazy_gettext --add-location=file --sort-output \
	--no-wrap --project=Fieldkit --copyright-holder=Fieldkit
messages: setup
	$(BIN)/pybabel extract $(PYBABEL_EXTRACT) -o pwa/translations/messages.pot .
	$(BIN)/pybabel update -i pwa/translations/messages.pot -d pwa/translations --no-wrap \
		--no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d pwa/translations --statistics

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench-setup: $(BENCH_STAMP)

# Small sizes by default; `make bench FULL=1` runs the ingest and load benchmarks at full size.
bench: bench-setup
	$(BIN)/python benchmarks/bench_pages.py
	$(BIN)/python benchmarks/bench_offline.py
	$(BIN)/python -m benchmarks.bench_dashboards
	FIELDKIT_BENCH_POSTGRES_URL="$$(scripts/start-postgres)" $(BIN)/python -m benchmarks.bench_ingest $(if $(FULL),--full)
	FIELDKIT_BENCH_POSTGRES_URL="$$(scripts/start-postgres)" $(BIN)/python -m benchmarks.bench_load $(if $(FULL),--full)
	$(BIN)/python -m benchmarks.bench_ops
	$(BIN)/python -m benchmarks.bench_drain
	$(BIN)/python -m benchmarks.bench_review

clean:
	rm -rf $(VENV) instance test-artifacts .pytest_cache
