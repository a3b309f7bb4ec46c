# Gallium: `make run` starts the app with demo data; `make test` runs lint and the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The address printed in certificates and their QR codes: the one `make run` serves on.
SITE_URL ?= http://$(HOST):$(PORT)
PYTEST_ARGS ?=
# `make test` keeps the run's results here; `manage.py validation_report --junit` reads them.
JUNIT ?= test-artifacts/junit/suite.xml

.PHONY: run test test-clocks lint worker beat install install-dev migrate demo clean bench db-roles validate bench-certificate bench-audit bench-prediction

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
	SITE_URL=$(SITE_URL) $(BIN)/python manage.py load_demo

run: demo
	@echo
	@echo "Gallium is starting at http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/api/docs/)"
	@echo "Log in with one of the demo users printed above. Stop with Ctrl-C."
	@echo
	SITE_URL=$(SITE_URL) $(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

test: lint
	$(BIN)/python -m pytest --junitxml=$(JUNIT) $(PYTEST_ARGS)

# The traceability matrix (SPEC §2.10): runs the tests that declare requirements and writes
# var/validation/traceability-matrix.html and .pdf with the gaps. VALIDATE_ARGS="--junit FILE"
# reads a run's results instead.
VALIDATE_ARGS ?=
validate: install-dev
	$(BIN)/python manage.py validation_report $(VALIDATE_ARGS)

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

# CPU time of the release certificate: render, PAdES signature, and the two together.
bench-certificate: install-dev
	$(BIN)/python -m tests.bench.certificate

# verify_audit's entries per second, full and from the last checkpoint, on 200,000 entries.
bench-audit: install-dev
	$(BIN)/python -m tests.bench.audit

# One generator column prediction: replaying the elution history against the stored state.
bench-prediction: install-dev
	$(BIN)/python -m tests.bench.prediction

# N working days of activity ending today, through the services, into DATABASE_URL's database
# (an interrupted load is resumed by the same command). See the README, "Performance".
.PHONY: bench-data loadtest serve
DAYS ?= 250
bench-data: install-dev
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python -m tests.bench.loader --days $(DAYS)

# Locust against gunicorn on PostgreSQL, loopback only: a per-role mix on the five-year database,
# then closed-loop throughput on it and on the demo database (tests/bench/loadtest/run.py).
loadtest: install-dev
	$(BIN)/python -m tests.bench.loadtest.run

# Production server: gunicorn with the settings from the environment (DEBUG off unless set;
# SECRET_KEY, AUDIT_HMAC_KEY, ALLOWED_HOSTS required then). Static files are collected and
# served by whitenoise. Migrate first (`make migrate`, as the owner role).
WEB_CONCURRENCY ?= 3
# Collected again only when a static file or the requirements changed (compressing takes a while).
staticfiles/staticfiles.json: requirements.txt $(shell find static -type f)
	DEBUG=0 $(BIN)/python manage.py collectstatic --noinput -v 0

serve: install staticfiles/staticfiles.json
	DEBUG=$${DEBUG:-0} $(BIN)/gunicorn radiopharmacy.wsgi:application --bind $(HOST):$(PORT) \
	  --workers $(WEB_CONCURRENCY) --access-logfile - \
	  --forwarded-allow-ips "$${FORWARDED_ALLOW_IPS:-127.0.0.1}"

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
