"""The SQS driver (boto3 via chalicelib.aws), and `make worker`: a local long-poller that
feeds received messages to the very handler Lambda's event source mapping would call."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import aws, config, logs
from chalicelib.errors import BackendUnavailable
from chalicelib.queue import BudgetContext

MAX_DELAY_S = 900  # SQS DelaySeconds limit
MAX_VISIBILITY_S = 43_200  # SQS VisibilityTimeout limit


@contextlib.contextmanager
def _queue_errors() -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        detail = aws.error_code(exc) or type(exc).__name__
        raise BackendUnavailable("queue", detail) from exc


class SqsQueue:
    name = "sqs"

    def __init__(self, url: str) -> None:
        self.url = url

    @staticmethod
    def _sqs() -> Any:
        return aws.client("sqs")

    def send(self, body: str, delay_s: int = 0) -> None:
        delay = min(MAX_DELAY_S, max(0, int(delay_s)))
        with _queue_errors():
            self._sqs().send_message(QueueUrl=self.url, MessageBody=body, DelaySeconds=delay)

    def change_visibility(self, receipt: str, timeout_s: int) -> None:
        timeout = min(MAX_VISIBILITY_S, max(0, int(timeout_s)))
        with _queue_errors():
            self._sqs().change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=receipt, VisibilityTimeout=timeout
            )

    def stats(self) -> dict[str, Any]:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        with _queue_errors():
            attrs = self._sqs().get_queue_attributes(QueueUrl=self.url, AttributeNames=names)
        values = attrs.get("Attributes", {})
        return {
            "driver": self.name,
            "depth": int(values.get(names[0], 0)),
            "in_flight": int(values.get(names[1], 0)),
        }

    def close(self) -> None:
        pass

    # --- the local stand-in for the Lambda event source (make worker, tests) ---------------

    def receive(self, wait_s: int = 20, max_messages: int = 1) -> list[dict[str, Any]]:
        """Messages as the records of a Lambda SQS event."""
        with _queue_errors():
            reply = self._sqs().receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=max_messages,
                WaitTimeSeconds=wait_s,
                AttributeNames=["All"],
            )
        return [lambda_record(m, self.url) for m in reply.get("Messages", [])]

    def delete(self, receipt: str) -> None:
        with _queue_errors():
            self._sqs().delete_message(QueueUrl=self.url, ReceiptHandle=receipt)


def lambda_record(message: dict[str, Any], queue_url: str) -> dict[str, Any]:
    """One SQS message in the shape Lambda gives it to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_url,
        "awsRegion": config.get("AWS_REGION") or config.get("AWS_DEFAULT_REGION"),
    }


Handler = Callable[[dict[str, Any], Any], Any]


def poll_once(queue: SqsQueue, handler: Handler, budget_ms: int, wait_s: int = 20) -> int:
    """Receive one message and run the handler as Lambda would: success deletes it, an
    exception leaves it to come back after its visibility timeout (then the DLQ)."""
    records = queue.receive(wait_s=wait_s)
    for record in records:
        try:
            handler({"Records": [record]}, BudgetContext(budget_ms))
        except Exception as exc:  # noqa: BLE001 - exactly what Lambda does with a failure
            logs.warning("task message failed; SQS will redeliver it", error=repr(exc)[:300])
            continue
        queue.delete(record["receiptHandle"])
    return len(records)


def main() -> None:
    """`make worker`: long-poll QUEUE_URL forever, feeding the `task_worker` function."""
    from app import app  # the same handler (and middleware) Lambda runs

    url = config.get("QUEUE_URL")
    if not url:
        raise SystemExit("make worker needs QUEUE_URL (without it, `make run` runs tasks inline)")
    handler: Handler = app.handler_map["task_worker"]
    budget_ms = config.get_int("WORKER_BUDGET_SECONDS") * 1000
    queue = SqsQueue(url)
    logs.info("worker polling", queue_url=url, budget_s=budget_ms // 1000)
    while True:
        try:
            poll_once(queue, handler, budget_ms)
        except BackendUnavailable as exc:
            logs.warning("queue unreachable; retrying", error=exc.detail)
            import time

            time.sleep(5)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
