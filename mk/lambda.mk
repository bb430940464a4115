# The Lambda runtime on this machine, for tests/deploy/test_lambda_runtime.py: the Runtime
# Interface Emulator (shipped inside the aws-sam-cli wheel) and a virtualenv of the runtime's
# Python (LAMBDA_PYTHON, the Makefile) holding only what Lambda's python$(LAMBDA_PYTHON) runtime
# provides (awslambdaric, boto3, botocore). Fetched once into .tools/ (ignored by git); a second
# `make test` fetches nothing; the virtualenv is made afresh when LAMBDA_PYTHON changes.
TOOLS := .tools
RIE := $(TOOLS)/aws-lambda-rie-x86_64
LAMBDA_VENV := $(TOOLS)/lambda-runtime
SAM_CLI_VERSION := 1.170.0

.PHONY: lambda-tools clean-lambda-tools

$(RIE):
	mkdir -p $(TOOLS)/download
	$(PY) -m pip download --quiet --disable-pip-version-check --no-deps \
	  aws-sam-cli==$(SAM_CLI_VERSION) -d $(TOOLS)/download
	unzip -o -j -q $(TOOLS)/download/aws_sam_cli-$(SAM_CLI_VERSION)-*.whl \
	  samcli/local/rapid/aws-lambda-rie-x86_64 -d $(TOOLS)
	chmod +x $@
	rm -rf $(TOOLS)/download

$(LAMBDA_VENV)/.python-$(LAMBDA_PYTHON): | runtime-python
	rm -rf $(LAMBDA_VENV)
	$(PYTHON) -m venv $(LAMBDA_VENV)
	touch $@

$(LAMBDA_VENV)/.installed: tests/requirements-lambda.txt $(LAMBDA_VENV)/.python-$(LAMBDA_PYTHON)
	$(LAMBDA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

lambda-tools: $(RIE) $(LAMBDA_VENV)/.installed

test: lambda-tools

clean-lambda-tools:
	rm -rf $(TOOLS)

clean: clean-lambda-tools
