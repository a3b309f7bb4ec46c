# Gallium: `make run` starts the app with demo data; `make test` runs lint and the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test test-clocks lint worker beat install install-dev migrate demo clean bench db-roles

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# With DATABASE_OWNER_URL set, `manage.py migrate` connects as that owner role.
migrate: install
	$(BIN)/python manage.py migrate --noinput

# PostgreSQL's two roles: the owner (DATABASE_OWNER_URL) owns the tables and migrates; the
# application (DATABASE_URL) may only INSERT and SELECT on the audit tables. Creates both roles and
# the database and grants the rights, as DATABASE_ADMIN_URL (default: postgres on that server).
# Safe to re-run. DB_ROLES_ARGS=--createdb lets the owner create the test database.
DB_ROLES_ARGS ?=
db-roles: install
	$(BIN)/python manage.py db_roles $(DB_ROLES_ARGS)

demo: migrate
	$(BIN)/python manage.py load_demo

run: demo
	@echo
	@echo "Gallium is starting at http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/api/docs/)"
	@echo "Log in with one of the demo users printed above. Stop with Ctrl-C."
	@echo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The suite at clocks that have broken date-dependent code before: early morning (before the day's
# first elution), a DST switch day's afternoon (23-hour day) and the other's late evening (25-hour
# day, the hour after midnight UTC). The clock starts there and ticks; integration tests are left
# out (their Celery worker process runs on the real clock).
CLOCKS ?= 2026-11-24T05:30:00+01:00 2026-03-29T14:00:00+02:00 2026-10-25T23:50:00+01:00

test-clocks: install-dev
	@set -e; for clock in $(CLOCKS); do \
	  echo "== the suite at $$clock"; \
	  $(BIN)/python -m pytest -q -m "not integration" --clock=$$clock $(PYTEST_ARGS); \
	done

worker: install
	$(BIN)/celery -A radiopharmacy worker -Q celery,plans,certificates --loglevel=INFO

beat: install
	$(BIN)/celery -A radiopharmacy beat --loglevel=INFO --schedule var/celerybeat-schedule

bench: install-dev
	$(BIN)/python -m tests.bench.planner

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
