# The two commands a new user needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
SANDBOX_PORT ?= 8100
# Local runs default to development settings (dev keys, runserver's static files);
# production sets DEBUG=false with its own keys (see README, "Production").
RUN_ENV := DEBUG=$${DEBUG:-true}

.PHONY: run test test-long bench lint install install-dev migrate demo clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

migrate: install
	mkdir -p var
	$(RUN_ENV) $(PY) manage.py migrate --noinput

demo: migrate
	$(RUN_ENV) $(PY) manage.py demo --sandbox-url http://127.0.0.1:$(SANDBOX_PORT)

SYNC_EVERY ?= 300
ALERTS_EVERY ?= 60

## run: install, migrate, load the demo data, then serve the portal on http://$(HOST):$(PORT)
## with the provider sandbox, the task worker ("Sync now", alert evaluations and e-mails,
## printed here unless EMAIL_URL is set), a sync every $(SYNC_EVERY) s and an evaluation of
## the alert rules every $(ALERTS_EVERY) s. Ctrl-C stops them all.
run: demo
	@echo "Portal on http://$(HOST):$(PORT)/ · provider sandbox on http://127.0.0.1:$(SANDBOX_PORT)/ · Ctrl-C stops everything"
	@trap 'kill 0' EXIT INT TERM; \
	$(RUN_ENV) $(PY) manage.py sandbox --port $(SANDBOX_PORT) & \
	$(RUN_ENV) $(PY) manage.py db_worker --no-startup-delay & \
	$(RUN_ENV) $(PY) manage.py sync --every $(SYNC_EVERY) --start-after 10 > var/sync.log 2>&1 & \
	$(RUN_ENV) $(PY) manage.py alerts evaluate --every $(ALERTS_EVERY) > var/alerts.log 2>&1 & \
	$(RUN_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

## test: the whole suite but the tests marked long_only, in parallel (DATABASE_URL chooses
## SQLite or PostgreSQL)
test: install-dev
	$(PY) -m pytest -n auto $(PYTEST_ARGS)

## test-long: the long variants of the reliability tests (50 fault seeds, a 60 s load test)
## and the tests marked long_only (the benchmark in miniature); .ci/run runs them on PostgreSQL
test-long: install-dev
	$(PY) -m pytest -n auto --long -m long $(PYTEST_ARGS)

## bench: the performance benchmark on PostgreSQL (never part of `make test`): a database of
## its own, seeded with 100,000 numbers and 1,000,000 transactions; see README "Performance".
bench: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portal} $(RUN_ENV) \
		$(PY) manage.py bench $(BENCH_ARGS)

## lint: style (ruff) and the dependency rule between layers (import-linter, pyproject.toml)
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) .ci/lint_imports.py

clean:
	rm -rf $(VENV) staticfiles db.sqlite3
