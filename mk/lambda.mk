# The Lambda runtime on this machine, for tests/deploy/test_lambda_runtime.py: the Runtime
# Interface Emulator (shipped inside the aws-sam-cli wheel) and a Python 3.11 virtualenv
# holding only what Lambda's python3.11 runtime provides (awslambdaric, boto3, botocore).
# Fetched once into .tools/ (ignored by git); a second `make test` fetches nothing.
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

$(LAMBDA_VENV)/.installed: tests/requirements-lambda.txt
	test -x $(LAMBDA_VENV)/bin/python || $(PYTHON) -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

lambda-tools: $(RIE) $(LAMBDA_VENV)/.installed

test: lambda-tools

clean-lambda-tools:
	rm -rf $(TOOLS)

clean: clean-lambda-tools
