# textfiles: `make run` serves the API locally, `make test` runs every test. Both set up what they need.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DATA_DIR ?= $(CURDIR)/.data
TENANT ?= dev
export DATA_DIR PORT

.PHONY: run key schedule test check format clean deps services cli

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

deps: $(VENV)/.installed

services:
	@command -v memcached >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing memcached (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq memcached >/dev/null; \
	  else echo "memcached is missing: install it (apt-get install memcached)"; fi; }
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium for the browser tests (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: install it (apt-get install chromium)"; fi; }

# The command-line client (cli/, its own package): `textfiles` in .venv/bin, editable.
$(VENV)/.cli-installed: cli/pyproject.toml | $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -e ./cli
	touch $@

cli: $(VENV)/.cli-installed

run: deps
	@exec $(PY) -m tools.local_server --host 127.0.0.1 --port $(PORT)

# STAGE given (command line or environment): the deployed stage's admin function
# (mk/operator.mk); without it, the local database.
key: deps
	@$(if $(filter command line environment override,$(origin STAGE)),\
	  $(PY) -m tools.stage_admin --stage $(STAGE),$(PY) -m chalicelib.edge.admin) key $(TENANT)

NAME ?= daily_purge
schedule: deps
	$(PY) -m tools.local_triggers run-schedule $(NAME)

test: deps services cli
	$(PY) -m pytest -q

check: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: deps
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .data build .mypy_cache .ruff_cache .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# Targets of the task worker and the deployment live beside this file.
-include mk/*.mk
