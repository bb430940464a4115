# textfiles: `make run` serves the API locally, `make test` runs every test. Both set up what they need.
SHELL := /bin/bash
# The Lambda runtime of every function (python3.13: docs/deploy.md, "Runtime"). One interpreter
# for all of it: .venv is made with this Python, so `chalice package`/`chalice deploy` name this
# runtime, the zip's bytecode is compiled by it and the tests run on it. tools/find_python.sh
# finds it on PATH or in pyenv; PYTHON=/path/to/python3.13 names one.
LAMBDA_PYTHON := 3.13
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell sh tools/find_python.sh $(LAMBDA_PYTHON))
endif
PYTHON_VERSION := $(if $(PYTHON),$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null))
NO_PYTHON := Python $(LAMBDA_PYTHON) (the Lambda runtime python$(LAMBDA_PYTHON)) not found: install it
NO_PYTHON += (pyenv install $(LAMBDA_PYTHON), or your system's python$(LAMBDA_PYTHON) package)
NO_PYTHON += or name it: make PYTHON=/path/to/python$(LAMBDA_PYTHON)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DATA_DIR ?= $(CURDIR)/.data
TENANT ?= dev
export DATA_DIR PORT

.PHONY: run key schedule test check format clean deps run-deps services cli runtime-python

# .venv made afresh when the interpreter changes (its stamp names the version).
$(VENV)/.python-$(PYTHON_VERSION):
	@test -n "$(PYTHON_VERSION)" || { echo "$(NO_PYTHON)"; exit 2; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	touch $@

# What serving needs (make run): the runtime and Chalice, nothing else.
$(VENV)/.run-installed: requirements.txt requirements-run.txt $(VENV)/.python-$(PYTHON_VERSION)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-run.txt
	touch $@

# Everything else (make test, make check, the deploy tools): on top of it.
$(VENV)/.installed: requirements-dev.txt $(VENV)/.run-installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run-deps: $(VENV)/.run-installed
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

# What ships and what tests it run on the Lambda runtime's Python only, never on another
# version: checked before .venv is (re)made with it.
runtime-python:
	@test -n "$(PYTHON_VERSION)" || { echo "$(NO_PYTHON)"; exit 2; }
	@test "$(PYTHON_VERSION)" = $(LAMBDA_PYTHON) || { echo "PYTHON=$(PYTHON) is Python $(PYTHON_VERSION):" \
	  "make $(or $(MAKECMDGOALS),test) runs on Python $(LAMBDA_PYTHON) only (the Lambda runtime python$(LAMBDA_PYTHON));" \
	  "drop PYTHON= or name a python$(LAMBDA_PYTHON)"; exit 2; }

# The command-line client (cli/, its own package): `textfiles` in .venv/bin, editable.
$(VENV)/.cli-installed: cli/pyproject.toml | $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -e ./cli
	touch $@

cli: $(VENV)/.cli-installed

run: run-deps
	@echo "make run: Python $$($(PY) -c 'import sys; print(sys.version.split()[0], sys.base_prefix)');" \
	  "Lambda runs python$(LAMBDA_PYTHON)$(if $(filter $(LAMBDA_PYTHON),$(PYTHON_VERSION)),,: make test and make package use that)"
	@exec $(PY) -m tools.local_server --host 127.0.0.1 --port $(PORT)

# STAGE given (command line or environment): the deployed stage's admin function
# (mk/operator.mk); without it, the local database.
key: deps
	@$(if $(filter command line environment override,$(origin STAGE)),\
	  $(PY) -m tools.stage_admin --stage $(STAGE),$(PY) -m chalicelib.edge.admin) key $(TENANT)

NAME ?= daily_purge
schedule: deps
	$(PY) -m tools.local_triggers run-schedule $(NAME)

test: runtime-python deps services cli
	$(PY) -m pytest -q

check: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --python-version 3.10 cli/textfiles_client  # the client's own floor (cli/pyproject.toml)

format: deps
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .data build .mypy_cache .ruff_cache .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# Targets of the task worker and the deployment live beside this file.
-include mk/*.mk
