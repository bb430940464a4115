# The task worker: `make worker QUEUE_URL=...` long-polls SQS and feeds each message to the
# `task_worker` function, as Lambda's event source would (docs/tasks.md). Without QUEUE_URL,
# `make run` runs tasks in the API process (the in-process queue) and needs no worker.
.PHONY: worker

worker: deps
	@test -n "$$QUEUE_URL" || { echo "make worker needs QUEUE_URL (an SQS queue URL);" \
	  "without it, make run already runs tasks in-process"; exit 2; }
	$(PY) -m chalicelib.queue.sqs
