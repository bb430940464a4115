# Deployment: `make package STAGE=prod`, `make deploy STAGE=prod`, `make healthcheck`.
# docs/deploy.md explains each step, the variables and the credentials they need.
STAGE ?= dev
APP := textfiles
BUILD ?= build/$(STAGE)
INFRA_STACK := $(APP)-$(STAGE)-infra
INFRA_OUTPUTS ?= $(BUILD)/infra-outputs.json
CHECKOV_VENV := .venv-checkov
AWS ?= aws
# Parameters of the infra stack (make deploy only).
ALERT_URL ?=
DOMAIN_NAME ?=
HOSTED_ZONE_ID ?=
ALARM_EMAIL ?=
MONTHLY_BUDGET_USD ?= 150
# Parameters of the bootstrap stack (make bootstrap, once per account).
GITHUB_REPOSITORY ?=
GITHUB_ENVIRONMENT ?= prod
CREATE_OIDC_PROVIDER ?= true

.PHONY: checkov-venv bootstrap package render deploy-check infra-deploy infra-outputs infra-dns app-deploy \
  deploy-migrate deploy-health-key deploy healthcheck clean-deploy

# checkov pins an old boto3: its own virtualenv, ignored by git (the .gitignore inside it).
$(CHECKOV_VENV)/.installed: infra/requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	echo '*' > $(CHECKOV_VENV)/.gitignore
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

checkov-venv: $(CHECKOV_VENV)/.installed

# `make test` also needs checkov (tests/deploy/test_deploy.py scans the packaged templates).
test: checkov-venv

# The deployable artifacts: build/STAGE/app/{sam.json,deployment.zip} (the Chalice stack,
# merged with build/STAGE/merge.json; every function on python$(LAMBDA_PYTHON), as Chalice names the
# interpreter that runs it; the zip precompiled by that same Python, without tzdata,
# which no code of ours needs, and with libraries as bytecode only: docs/bench.md), build/STAGE/infra.yaml, and build/STAGE/project
# (the rendered Chalice project that `make deploy` runs `chalice deploy` in).
# Offline: make package STAGE=prod INFRA_OUTPUTS=infra/example-outputs.json
package: runtime-python deps $(INFRA_OUTPUTS) render
	rm -rf $(BUILD)/app
	cd $(BUILD)/project && AWS_DEFAULT_REGION=$$($(CURDIR)/$(PY) $(CURDIR)/infra/stage.py output \
	  --outputs $(abspath $(INFRA_OUTPUTS)) Region) $(CURDIR)/$(VENV)/bin/chalice package --stage $(STAGE) \
	  --merge-template ../merge.json ../app
	$(PY) tools/precompile_zip.py $(BUILD)/app/deployment.zip --exclude tzdata/ --exclude tzdata- \
	  --sourceless-deps --expect-tag cpython-$(subst .,,$(LAMBDA_PYTHON))
	cp infra/infra.yaml $(BUILD)/infra.yaml
	$(VENV)/bin/cfn-lint $(BUILD)/infra.yaml $(BUILD)/app/sam.json

# A prod deploy needs its custom domain: stop before anything is created.
deploy-check:
	@if [ "$(STAGE)" = prod ] && [ -z "$(DOMAIN_NAME)" -o -z "$(HOSTED_ZONE_ID)" ]; then \
	  echo "make deploy STAGE=prod needs DOMAIN_NAME (the API's custom domain, e.g. api.example.com)"; \
	  echo "and HOSTED_ZONE_ID (its Route 53 hosted zone): see docs/deploy.md, 'From an empty account'"; \
	  exit 2; fi

# Create or update the stage's infra stack (needs AWS credentials, see docs/deploy.md).
# Parameters not given here (the API's DNS target, set by infra-dns) keep their values.
infra-deploy: deploy-check
	@test -n "$(ALERT_URL)" || { echo "ALERT_URL is required (https://...)"; exit 2; }
	$(AWS) cloudformation deploy --stack-name $(INFRA_STACK) --template-file infra/infra.yaml \
	  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset \
	  --parameter-overrides Stage=$(STAGE) AlertUrl=$(ALERT_URL) DomainName=$(DOMAIN_NAME) \
	  HostedZoneId=$(HOSTED_ZONE_ID) AlarmEmail=$(ALARM_EMAIL) MonthlyBudgetUsd=$(MONTHLY_BUDGET_USD)

# Once per account, by an administrator: GitHub's OIDC provider and the deploy role.
bootstrap:
	@test -n "$(GITHUB_REPOSITORY)" || { echo "GITHUB_REPOSITORY=owner/name is required"; exit 2; }
	$(AWS) cloudformation deploy --stack-name $(APP)-bootstrap --template-file infra/bootstrap.yaml \
	  --capabilities CAPABILITY_NAMED_IAM --no-fail-on-empty-changeset \
	  --parameter-overrides GitHubRepository=$(GITHUB_REPOSITORY) \
	  GitHubEnvironment=$(GITHUB_ENVIRONMENT) CreateOidcProvider=$(CREATE_OIDC_PROVIDER) \
	  HostedZoneId=$(HOSTED_ZONE_ID)
	$(AWS) cloudformation describe-stacks --stack-name $(APP)-bootstrap \
	  --query 'Stacks[0].Outputs' --output table

# Without AWS access there are no outputs to read: say how to package offline instead.
infra-outputs $(BUILD)/infra-outputs.json:
	mkdir -p $(BUILD)
	@test -n "$${AWS_REGION:-$${AWS_DEFAULT_REGION:-$$($(AWS) configure get region 2>/dev/null)}}" || { \
	  echo "No AWS region or credentials: the infra stack's outputs cannot be read."; \
	  echo "Offline, package from example outputs instead:"; \
	  echo "  make package STAGE=$(STAGE) INFRA_OUTPUTS=infra/example-outputs.json"; exit 2; }
	$(AWS) cloudformation describe-stacks --stack-name $(INFRA_STACK) \
	  --query 'Stacks[0].Outputs' --output json > $(BUILD)/infra-outputs.json.tmp || { \
	  echo "Cannot read the outputs of $(INFRA_STACK) (make infra-deploy first?)."; \
	  echo "Offline: make package STAGE=$(STAGE) INFRA_OUTPUTS=infra/example-outputs.json"; exit 2; }
	mv $(BUILD)/infra-outputs.json.tmp $(BUILD)/infra-outputs.json

# The Chalice app from the infra outputs: quota check, chalice deploy (state kept in the
# stage's deploy bucket, also after a failure), then what Chalice cannot set (throttling,
# X-Ray, metrics, the SQS source's maximum concurrency, the default endpoint off behind
# the custom domain, each function's 7-day log group, the health check's URL).
STEPS = $(PY) infra/deploy_steps.py --stage $(STAGE) --project $(BUILD)/project --outputs $(INFRA_OUTPUTS)
# (chalice deploy builds its own zip from the rendered project: `package` is the lint gate.)
render: deps $(INFRA_OUTPUTS)
	$(PY) infra/stage.py render --stage $(STAGE) --outputs $(INFRA_OUTPUTS) --out $(BUILD)

app-deploy: runtime-python deps $(INFRA_OUTPUTS) render
	$(STEPS) preflight
	$(STEPS) chalice-deploy
	$(STEPS) finish
	# arm64 (Chalice cannot set it): what chalice deploy made, its code again on arm64.
	$(PY) infra/stage.py arm64 --stage $(STAGE) --project $(BUILD)/project --outputs $(INFRA_OUTPUTS)

# The custom domain's Route 53 alias lives in the infra stack: give it the API's target.
infra-dns:
	@test -z "$(DOMAIN_NAME)" || $(AWS) cloudformation deploy --stack-name $(INFRA_STACK) \
	  --template-file infra/infra.yaml --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
	  --no-fail-on-empty-changeset --parameter-overrides \
	  $$($(PY) infra/deploy_steps.py dns-target --stage $(STAGE) --project $(BUILD)/project)

# The health check's own API key (deploy hook: the operator command provisions it).
HEALTH_KEY ?= provision
# Through the stage's admin function (tools/stage_admin.py): the database is private.
deploy-migrate:
	$(PY) -m tools.stage_admin --stage $(STAGE) migrate

deploy-health-key:
	@if [ "$(HEALTH_KEY)" = skip ]; then echo "health-check key: skipped (HEALTH_KEY=skip)"; \
	else $(PY) -m tools.stage_admin --stage $(STAGE) health-key; fi

deploy: deps deploy-check infra-deploy infra-outputs package app-deploy infra-dns deploy-migrate deploy-health-key

# The daily health check, once, against `make run` (another terminal), with a fresh key.
healthcheck: deps
	@export HEALTHCHECK_BASE_URL="$${HEALTHCHECK_BASE_URL:-http://127.0.0.1:$(PORT)}"; \
	if [ -z "$$HEALTHCHECK_API_KEY" ]; then \
	  HEALTHCHECK_API_KEY="$$($(PY) -c 'from chalicelib import auth; print(auth.create_key("healthcheck", "make healthcheck"))')"; \
	  export HEALTHCHECK_API_KEY; fi; \
	$(PY) -m chalicelib.health.daily

clean-deploy:
	rm -rf $(CHECKOV_VENV)

clean: clean-deploy
