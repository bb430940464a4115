# Deployment: `make package STAGE=prod`, `make deploy STAGE=prod`, `make healthcheck`.
# docs/deploy.md explains each step, the variables and the credentials they need.
STAGE ?= dev
APP := textfiles
BUILD := build/$(STAGE)
INFRA_STACK := $(APP)-$(STAGE)-infra
INFRA_OUTPUTS ?= $(BUILD)/infra-outputs.json
CHECKOV_VENV := .venv-checkov
AWS ?= aws
# Parameters of the infra stack (make deploy only).
ALERT_URL ?=
DOMAIN_NAME ?=
HOSTED_ZONE_ID ?=
ALARM_EMAIL ?=

.PHONY: checkov-venv package infra-deploy infra-outputs deploy healthcheck clean-deploy

# checkov pins an old boto3: its own virtualenv, ignored by git (the .gitignore inside it).
$(CHECKOV_VENV)/.installed: infra/requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	echo '*' > $(CHECKOV_VENV)/.gitignore
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

checkov-venv: $(CHECKOV_VENV)/.installed

# `make test` also needs checkov (tests/test_deploy.py scans the packaged templates).
test: checkov-venv

# The deployable artifacts: build/STAGE/app/{sam.json,deployment.zip} (the Chalice stack,
# merged with build/STAGE/merge.json; the zip precompiled for Python 3.11, without tzdata,
# which no code of ours needs, and with libraries as bytecode only: docs/bench.md), build/STAGE/infra.yaml, and build/STAGE/project
# (the rendered Chalice project that `make deploy` runs `chalice deploy` in).
# Offline: make package STAGE=prod INFRA_OUTPUTS=infra/example-outputs.json
package: deps $(INFRA_OUTPUTS)
	$(PY) infra/stage.py render --stage $(STAGE) --outputs $(INFRA_OUTPUTS) --out $(BUILD)
	rm -rf $(BUILD)/app
	cd $(BUILD)/project && AWS_DEFAULT_REGION=$$($(CURDIR)/$(PY) $(CURDIR)/infra/stage.py output \
	  --outputs $(abspath $(INFRA_OUTPUTS)) Region) $(CURDIR)/$(VENV)/bin/chalice package --stage $(STAGE) \
	  --merge-template ../merge.json ../app
	$(PY) tools/precompile_zip.py $(BUILD)/app/deployment.zip --exclude tzdata/ --exclude tzdata- \
	  --sourceless-deps
	cp infra/infra.yaml $(BUILD)/infra.yaml
	$(VENV)/bin/cfn-lint $(BUILD)/infra.yaml $(BUILD)/app/sam.json

# Create or update the stage's infra stack (needs AWS credentials, see docs/deploy.md).
infra-deploy:
	@test -n "$(ALERT_URL)" || { echo "ALERT_URL is required (https://...)"; exit 2; }
	$(AWS) cloudformation deploy --stack-name $(INFRA_STACK) --template-file infra/infra.yaml \
	  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset \
	  --parameter-overrides Stage=$(STAGE) AlertUrl=$(ALERT_URL) DomainName=$(DOMAIN_NAME) \
	  HostedZoneId=$(HOSTED_ZONE_ID) AlarmEmail=$(ALARM_EMAIL)

infra-outputs $(BUILD)/infra-outputs.json:
	mkdir -p $(BUILD)
	$(AWS) cloudformation describe-stacks --stack-name $(INFRA_STACK) \
	  --query 'Stacks[0].Outputs' --output json > $(BUILD)/infra-outputs.json

# infra stack -> its outputs -> rendered project -> chalice deploy (its state kept in the
# stage's deploy bucket) -> stage throttling, X-Ray and metrics on the API stage -> the
# SQS event source's maximum concurrency, and arm64 for every function (Chalice cannot set
# any of these).
deploy: deps infra-deploy infra-outputs package
	$(eval STATE := s3://$(shell $(PY) infra/stage.py output --outputs $(INFRA_OUTPUTS) DeployStateBucketName)/chalice/deployed/$(STAGE).json)
	mkdir -p $(BUILD)/project/.chalice/deployed
	$(AWS) s3 cp $(STATE) $(BUILD)/project/.chalice/deployed/$(STAGE).json \
	  || echo "no deployment state yet: first deploy of $(STAGE)"
	cd $(BUILD)/project && AWS_DEFAULT_REGION=$$($(CURDIR)/$(PY) $(CURDIR)/infra/stage.py output \
	  --outputs $(abspath $(INFRA_OUTPUTS)) Region) $(CURDIR)/$(VENV)/bin/chalice deploy --stage $(STAGE)
	$(AWS) s3 cp $(BUILD)/project/.chalice/deployed/$(STAGE).json $(STATE)
	$(AWS) apigateway update-stage --stage-name api \
	  --rest-api-id $$($(PY) -c 'import json,sys; r=json.load(open(sys.argv[1]))["resources"]; print(next(x["rest_api_id"] for x in r if x.get("resource_type")=="rest_api"))' $(BUILD)/project/.chalice/deployed/$(STAGE).json) \
	  --patch-operations "$$($(PY) infra/stage.py stage-patch --stage $(STAGE))"
	$(PY) infra/stage.py sqs-mappings --stage $(STAGE) --deployed $(BUILD)/project/.chalice/deployed/$(STAGE).json \
	  | while read uuid maximum; do $(AWS) lambda update-event-source-mapping --uuid "$$uuid" \
	      --scaling-config "MaximumConcurrency=$$maximum" >/dev/null; done
	# arm64 (Chalice cannot set it): each function's code again, the packaged zip, on arm64.
	$(PY) infra/stage.py lambda-functions --deployed $(BUILD)/project/.chalice/deployed/$(STAGE).json \
	  | while read arn; do $(AWS) lambda update-function-code --function-name "$$arn" \
	      --architectures arm64 --zip-file fileb://$(BUILD)/app/deployment.zip >/dev/null; done

# The daily health check, once, against `make run` (another terminal), with a fresh key.
healthcheck: deps
	@export HEALTHCHECK_BASE_URL="$${HEALTHCHECK_BASE_URL:-http://127.0.0.1:$(PORT)}"; \
	if [ -z "$$HEALTHCHECK_API_KEY" ]; then \
	  HEALTHCHECK_API_KEY="$$($(PY) -c 'from chalicelib import auth; print(auth.create_key("healthcheck", "make healthcheck"))')"; \
	  export HEALTHCHECK_API_KEY; fi; \
	$(PY) -m chalicelib.healthcheck

clean-deploy:
	rm -rf $(CHECKOV_VENV)

clean: clean-deploy
