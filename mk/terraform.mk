# The Terraform path (docs/deploy.md, "Terraform"): the same production system as
# `make deploy`, one Terraform state per stage in the bootstrap's S3 bucket.
#   make bootstrap-tf                   once per account: the state bucket (local state)
#   make plan-tf STAGE=prod ...         the plan, as JSON, in build/prod/terraform/plan.json
#   make deploy-tf STAGE=prod ...       init, apply, then the migrate and health-key steps
# Inputs as `make deploy`: ALERT_URL, DOMAIN_NAME, HOSTED_ZONE_ID (prod), ALARM_EMAIL,
# MONTHLY_BUDGET_USD. TF_STATE_BUCKET defaults to textfiles-tfstate-ACCOUNT-REGION.
# TF_PLUGIN_DIR: providers from a folder instead of the registry (terraform init -plugin-dir).
TERRAFORM ?= terraform
TF_DIR = $(BUILD)/terraform
TF_PLUGIN_DIR ?=
TF_STATE_BUCKET ?=
TF_EXTRA_VARS ?=
BOOTSTRAP_TF_DIR ?= build/bootstrap-terraform
# `make package`'s zip holds the code only (no setting, no output): the example outputs
# let it build with no CloudFormation stack; the Terraform configuration sets the rest.
TF_PACKAGE_OUTPUTS ?= infra/example-outputs.json
TF_VARS = -var 'alert_url=$(ALERT_URL)' -var 'domain_name=$(DOMAIN_NAME)' \
  -var 'hosted_zone_id=$(HOSTED_ZONE_ID)' -var 'alarm_email=$(ALARM_EMAIL)' \
  -var 'monthly_budget_usd=$(MONTHLY_BUDGET_USD)' $(TF_EXTRA_VARS)
TF_INIT = $(TERRAFORM) -chdir=$(1) init -input=false $(if $(TF_PLUGIN_DIR),-plugin-dir=$(abspath $(TF_PLUGIN_DIR)))

.PHONY: bootstrap-tf tf-package tf-render tf-init plan-tf tf-apply deploy-tf destroy-tf

bootstrap-tf:
	mkdir -p $(BOOTSTRAP_TF_DIR)
	cp infra/terraform/bootstrap/*.tf $(BOOTSTRAP_TF_DIR)/
	$(call TF_INIT,$(BOOTSTRAP_TF_DIR))
	$(TERRAFORM) -chdir=$(BOOTSTRAP_TF_DIR) apply -input=false -auto-approve

# The precompiled zip (build/STAGE/app/deployment.zip) of `make package`, cfn-lint included.
tf-package: deps
	$(MAKE) --no-print-directory package STAGE=$(STAGE) BUILD=$(BUILD) INFRA_OUTPUTS=$(TF_PACKAGE_OUTPUTS)

# build/STAGE/terraform: infra/terraform/*.tf and the application generated from Chalice,
# made again when one of its sources changed (`make -B tf-render` forces it): plan-tf then
# deploy-tf apply what was planned without packaging twice.
TF_RENDER_SOURCES = app.py requirements.txt Makefile mk/deploy.mk mk/terraform.mk \
  tools/precompile_zip.py $(TF_PACKAGE_OUTPUTS) $(wildcard .chalice/*.json infra/*.json \
  infra/stage.py infra/terraform/*.tf infra/terraform/*.py) $(shell find chalicelib -type f \
  -not -path '*/__pycache__/*')
$(TF_DIR)/.rendered: $(TF_RENDER_SOURCES)
	$(MAKE) --no-print-directory tf-package STAGE=$(STAGE) BUILD=$(BUILD)
	$(PY) infra/terraform/generate.py --stage $(STAGE) --build $(BUILD)
	touch $@

tf-render: deps $(TF_DIR)/.rendered

tf-init: tf-render
	$(PY) infra/terraform/backend.py --stage $(STAGE) --dir $(TF_DIR) \
	  $(if $(TF_STATE_BUCKET),--bucket $(TF_STATE_BUCKET))
	$(call TF_INIT,$(TF_DIR)) -reconfigure -backend-config=backend.hcl

plan-tf: deploy-check tf-init
	$(TERRAFORM) -chdir=$(TF_DIR) plan -input=false -out=tfplan $(TF_VARS)
	$(TERRAFORM) -chdir=$(TF_DIR) show -json tfplan > $(TF_DIR)/plan.json
	@echo "the plan: $(TF_DIR)/plan.json"

tf-apply: deploy-check tf-init
	$(TERRAFORM) -chdir=$(TF_DIR) apply -input=false -auto-approve $(TF_VARS)

deploy-tf: deps deploy-check tf-apply deploy-migrate deploy-health-key

# Removes the stage (not the state bucket). The database must be unprotected first:
# make tf-apply STAGE=prod ... TF_EXTRA_VARS='-var deletion_protection=false'.
destroy-tf: tf-init
	@test "$(CONFIRM)" = "$(STAGE)" || { echo "make destroy-tf STAGE=$(STAGE) CONFIRM=$(STAGE)"; exit 2; }
	$(TERRAFORM) -chdir=$(TF_DIR) destroy -input=false -auto-approve $(TF_VARS)
