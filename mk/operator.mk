# `make admin STAGE=prod ARGS="revoke KEY"`: an admin command (key, revoke, limits, migrate,
# health-key) run by the stage's admin function through Lambda Invoke, with the caller's
# AWS credentials (lambda:InvokeFunction on textfiles-STAGE-admin). Without STAGE on the
# command line or in the environment, the same command runs against the local database.
.PHONY: admin

admin: deps
	@test -n "$(ARGS)" || { echo 'make admin needs ARGS, e.g. ARGS="revoke KEY" or ARGS=migrate'; exit 2; }
	@$(if $(filter command line environment override,$(origin STAGE)),\
	  $(PY) -m tools.stage_admin --stage $(STAGE),$(PY) -m chalicelib.edge.admin) $(ARGS)
