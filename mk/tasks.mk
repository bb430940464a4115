# The task worker: `make worker QUEUE_URL=...` long-polls SQS and runs each message with the
# task worker, as Lambda's event source and the `task_worker` function would (docs/tasks.md).
# Without QUEUE_URL, `make run` runs tasks in the API process (the in-process queue).
.PHONY: worker

worker: deps
	@test -n "$$QUEUE_URL" || { echo "make worker needs QUEUE_URL (an SQS queue URL);" \
	  "without it, make run already runs tasks in-process"; exit 2; }
	$(PY) -m tools.local_triggers worker
