# The OpenAPI linters (Spectral, Redocly; versions pinned in tools/lint/package-lock.json),
# for tests/edge/test_openapi_lint.py. Installed once with npm into .tools/lint (ignored by git).
LINT_TOOLS := .tools/lint/node_modules/.installed

.PHONY: lint-tools

$(LINT_TOOLS): tools/lint/package.json tools/lint/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js and npm (apt-get install npm)"; exit 2; }
	mkdir -p .tools/lint && cp tools/lint/package.json tools/lint/package-lock.json .tools/lint/
	cd .tools/lint && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint-tools: $(LINT_TOOLS)

test: lint-tools

# openapi-python-client in its own virtualenv (its dependencies stay out of .venv), for
# tests/edge/test_generated_client.py.
OPENAPI_CLIENT_VENV := .tools/openapi-client

$(OPENAPI_CLIENT_VENV)/.installed: tools/openapi-client/requirements.txt
	test -x $(OPENAPI_CLIENT_VENV)/bin/python || $(PYTHON) -m venv $(OPENAPI_CLIENT_VENV)
	$(OPENAPI_CLIENT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

openapi-client-tools: $(OPENAPI_CLIENT_VENV)/.installed

.PHONY: openapi-client-tools
test: openapi-client-tools
