# The two commands of the README: `make run` and `make test`. Everything they need is set
# up on the way (a virtual environment with a Python 3.12+, the database, a browser for tests).
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

# The first Python 3.12 or newer found: on PATH, else one installed by pyenv.
PYTHON ?= $(shell for p in python3.13 python3.12 python3 $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3); do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then echo $$p; break; fi; done)

.PHONY: help run test install lint types browser migrate clean

help:
	@echo "make run   set up and serve the console with demo data on http://$(HOST):$(PORT)"
	@echo "make test  set up and run lint, types, checks and the whole test suite"

$(BIN)/.installed: pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "Console needs Python 3.12 or newer; none was found on PATH." >&2; exit 1; fi
	@if [ ! -x $(BIN)/python ] || ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
		rm -rf $(VENV); echo "Creating $(VENV) with $$($(PYTHON) --version)"; $(PYTHON) -m venv $(VENV); fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

# Both commands run in development mode: plain HTTP on this machine and a development key.
# Without it the settings are production's, which need a SECRET_KEY and HTTPS.
run test types migrate: export DEBUG = true

# Links in the demo's e-mails and messages point at the address served (unless set).
run: export SITE_URL ?= http://$(HOST):$(PORT)
run: migrate
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "Console is at http://$(HOST):$(PORT)  (stop with Ctrl-C)"
	$(BIN)/uvicorn console.asgi:application --host $(HOST) --port $(PORT) --reload \
		--reload-dir accounts --reload-dir billing --reload-dir console --reload-dir workspaces

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Types (mypy with django-stubs) and the import contracts between apps and modules.
types: install
	$(BIN)/mypy
	$(BIN)/lint-imports

# Browser tests drive Debian's Chromium; install it when we can, else say how.
browser:
	@if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Chromium for the browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "The browser tests need Chromium. Install it with: sudo apt-get install chromium" >&2; exit 1; \
		fi; \
	fi

# Tests run in TEST_WORKERS processes (pytest-xdist), each test file whole in one of them
# (some tests check what the others of their file did), the slowest files first, in the
# order tests/conftest.py gives them rather than xdist's by number of tests. Many wait on
# servers, browsers, sockets and injected faults, so more processes than cores help. The
# browser tests run on their own, after the rest: Playwright keeps an event loop running
# in its process while they last.
TEST_WORKERS ?= 4
E2E_WORKERS ?= 2
test: lint types browser
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest -m "not e2e" -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest -m e2e -n $(E2E_WORKERS) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) staticfiles test-results
